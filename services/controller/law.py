"""The original strategy: the control law of CONTROL.md as a pure function (`controller.strategy:
original`). Readings, settings, state and time in; commands out.

No I/O and no clock: `now` is an argument. The skeleton of a cycle is `cycle.run_cycle`; this module
adds the original's priority, phase rule and PV charging. It also re-exports the law's types, so
`from services.controller.law import LawInputs, control_cycle, initial_state` keeps working.
"""

from __future__ import annotations

import math
from dataclasses import replace

from pvcontrol.models import ChargeMode
from services.controller.cycle import Readings, Strategy, run_cycle
from services.controller.model import Commands, CycleResult, LawInputs, LawState, Step
from services.controller.rules import (
    PHASE_ERRORS,
    PV_MODES,
    Thresholds,
    available_for_car,
    changed_commands,
    control_other_modes,
    converge_phases,
    priority_by_soc,
    stop_on_stale_data,
)
from services.controller.settings import ControllerSettings

__all__ = [
    "PHASE_ERRORS",
    "PV_MODES",
    "STRATEGY",
    "Commands",
    "CycleResult",
    "LawInputs",
    "LawState",
    "Thresholds",
    "control_cycle",
    "initial_state",
]


def initial_state(settings: ControllerSettings) -> LawState:
    """The state after a fresh start (CONTROL.md "State"), with the configured unplug delay."""
    return LawState(unplug_timer=settings.unplug_off_delay)


def control_cycle(state: LawState, settings: ControllerSettings, inputs: LawInputs) -> CycleResult:
    return run_cycle(STRATEGY, state, settings, inputs)


def _on_stale(state: LawState, inputs: LawInputs, settings: ControllerSettings) -> CycleResult:
    return stop_on_stale_data(state, inputs, settings.stale_after)


def _prepare(state: LawState, settings: ControllerSettings, readings: Readings) -> LawState:
    priority = priority_by_soc(state.desired_priority, readings.meter, settings.prio_auto_soc_threshold)
    return replace(state, priority=priority)


def _step(state: LawState, settings: ControllerSettings, readings: Readings) -> Step:
    meter, wallbox = readings.meter, readings.wallbox
    step = converge_phases(state, settings, meter, wallbox, readings.inputs.relay_enabled)
    if step is not None:
        return step
    if state.desired_mode not in PV_MODES:
        return control_other_modes(state, settings, wallbox)
    # A wallbox reporting no phases at all cannot charge; 1 only avoids dividing by zero.
    phases = wallbox.phases_out or wallbox.phases_in or 1
    available = available_for_car(meter, wallbox, state.priority)
    if state.desired_mode == ChargeMode.PV_ONLY:
        current = _pv_only_current(available, phases, wallbox.allow_charging, settings)
    else:
        current = _pv_all_current(available, phases, wallbox.allow_charging, settings)
    current = min(current, settings.max_supported_current)
    wish = current > 0
    if not wish:
        current = settings.min_supported_current

    delay, allow_charging = _delayed_allow_charging(
        state.allow_charging_delay, wallbox.allow_charging, wish, settings
    )
    pending = wish if allow_charging is None and wish != wallbox.allow_charging else None
    return Step(
        state=replace(state, mode=state.desired_mode, allow_charging_delay=delay),
        commands=changed_commands(wallbox, max_current=current, allow_charging=allow_charging),
        allow_charging_wish=pending,
    )


def _pv_only_current(available: float, phases: int, charging: bool, settings: ControllerSettings) -> int:
    if not charging and available < Thresholds.of(settings).pv_only_on:
        return 0
    current = math.floor(available / settings.line_voltage / phases + settings.current_rounding_offset)
    return 0 if current < settings.min_supported_current else current


def _pv_all_current(available: float, phases: int, charging: bool, settings: ControllerSettings) -> int:
    thresholds = Thresholds.of(settings)
    if (not charging and available < thresholds.pv_all_on) or available < thresholds.pv_all_off:
        return 0
    current = math.ceil(available / settings.line_voltage / phases - settings.current_rounding_offset)
    return max(current, settings.min_supported_current)


def _delayed_allow_charging(
    delay: float, allowed: bool, wish: bool, settings: ControllerSettings
) -> tuple[float, bool | None]:
    """The new delay and the allow_charging to send, if the wish has persisted long enough."""
    if allowed == wish:
        return settings.pv_allow_charging_delay, None
    delay -= settings.cycle_time
    if delay <= 0:
        return settings.pv_allow_charging_delay, wish
    return delay, None


def _same(state: LawState) -> LawState:
    return state


def _finish(state: LawState, inputs: LawInputs) -> LawState:
    return state


STRATEGY = Strategy(
    name="original",
    initial_state=initial_state,
    adopt=_same,
    on_stale=_on_stale,
    unplug_elapsed=lambda state, settings, now: settings.cycle_time,
    prepare=_prepare,
    step=_step,
    finish=_finish,
    phase_error_reason=None,
    every_reading=False,
)
