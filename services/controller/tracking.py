"""The tracking strategy (docs/CONTROL.md "Tracking strategy"): the car follows the solar surplus.

Pure like the original (same signature, same types; time is `inputs.now`), and meant to run on every
fresh meter reading, not only every `cycle_time`. The skeleton of a cycle (`cycle.run_cycle`) and the
shared rules (`rules.py`) are the original's. What differs, in PV modes:

- one surplus for every decision (start, stop, current, phases), the priority deciding whether the home
  battery's charging power counts; its discharge always counts as a deficit;
- the current follows the surplus at each reading, down at once, up only past a tolerance band;
- PV_ONLY stops after at most `tracking_max_grid_time` s of grid import below the car's minimum; a home
  battery that is full enough may bridge a dip (up to BRIDGE_MAX_TIME), and what the car took is paid
  back to it first; a start needs the surplus for `tracking_start_delay` s (at least
  ABSORBED_START_DELAY while a home battery takes it); PV_ALL stops after `tracking_stop_delay` s below
  its minimum (on 3 phases sooner, by a grid-energy budget);
- 1 <-> 3 phases with their own timers, a minimum dwell time and a cap per 24 h, only while idle, and 3
  only for what 1 phase at its maximum would still export.

Modules: tracking_state.py (state, constants), tracking_phases.py, tracking_charging.py.
"""

from __future__ import annotations

from dataclasses import replace

from pvcontrol.models import ChargeMode, MeterData, Priority, WallboxData
from services.controller.battery_plan import (
    home_battery_state,
    learn,
    plan_battery,
    plan_reason,
    reserved_for_battery,
)
from services.controller.cycle import Readings, Strategy, run_cycle
from services.controller.model import CycleResult, LawInputs, LawState, Step
from services.controller.rules import (
    PV_MODES,
    available_for_car,
    control_other_modes,
    converge_phases,
    priority_by_soc,
    stop_on_stale_data,
)
from services.controller.settings import ControllerSettings
from services.controller.tracking_charging import (
    PvCycle,
    account_loan,
    start_power,
    while_charging,
    while_idle,
)
from services.controller.tracking_phases import interlock, plan_phases, settle_pending_switch
from services.controller.tracking_state import (
    BRIDGE_MAX_TIME,
    BRIDGE_MIN_SOC,
    DAY,
    TrackingState,
    TrackStep,
    as_tracking_state,
    idle_timers,
    max_power,
)

__all__ = [
    "BRIDGE_MAX_TIME",
    "BRIDGE_MIN_SOC",
    "STRATEGY",
    "TrackingState",
    "as_tracking_state",
    "control_cycle",
    "initial_state",
]


def initial_state(settings: ControllerSettings) -> TrackingState:
    return TrackingState(unplug_timer=settings.unplug_off_delay)


def control_cycle(state: LawState, settings: ControllerSettings, inputs: LawInputs) -> CycleResult:
    return run_cycle(STRATEGY, state, settings, inputs)


_REASONS = {
    ChargeMode.OFF: "off",
    ChargeMode.MAX: "charging at the maximum current",
    ChargeMode.MANUAL: "manual: the wallbox is left as set",
}


def _stale(state: LawState, inputs: LawInputs, settings: ControllerSettings) -> CycleResult:
    stop = stop_on_stale_data(state, inputs, settings.stale_after)
    return replace(
        stop,
        state=idle_timers(as_tracking_state(stop.state)),
        reason="stopped: waiting for fresh meter and wallbox readings",
    )


def _unplug_elapsed(state: LawState, settings: ControllerSettings, now: float) -> float:
    """The unplug timer counts seconds since the previous cycle (cycles come at any rate)."""
    last_cycle = as_tracking_state(state).last_cycle
    return 0.0 if last_cycle is None else max(now - last_cycle, 0.0)


def _prepare(state: LawState, settings: ControllerSettings, readings: Readings) -> LawState:
    tracking = as_tracking_state(state)
    meter, inputs = readings.meter, readings.inputs
    now = inputs.now
    elapsed = None if tracking.last_cycle is None else now - tracking.last_cycle
    memory = learn(tracking.battery, meter, readings.wallbox, inputs.forecast, now, elapsed)
    shown = plan_battery(memory, meter, inputs.forecast, now, settings)  # in the state in every mode
    plan = None
    # PV_ALL keeps its AUTO (home battery first): its minimum draws on the battery in every dip, which
    # the plan does not foresee (measured: up to 1.2 kWh short at midnight with a forecast).
    if tracking.desired_priority == Priority.AUTO and tracking.desired_mode == ChargeMode.PV_ONLY:
        plan = shown
    if plan is None:
        priority = _priority(tracking.desired_priority, tracking.desired_mode, meter, settings)
        reserve, reason = None, None
    else:
        reserve = reserved_for_battery(plan, meter)
        priority = Priority.HOME_BATTERY if reserve > 0 else Priority.CAR
        reason = plan_reason(plan)
    tracking = replace(
        tracking,
        priority=priority,
        battery=memory,
        battery_reserve_w=reserve,
        battery_reason=reason,
        battery_plan=shown,
        phase_switches=tuple(t for t in tracking.phase_switches if now - t < DAY),
    )
    return settle_pending_switch(tracking, readings.wallbox, now)


def _priority(
    desired: Priority, mode: ChargeMode, meter: MeterData, settings: ControllerSettings
) -> Priority:
    threshold = settings.prio_auto_soc_threshold
    if mode == ChargeMode.PV_ALL:
        threshold = settings.tracking_pv_all_prio_auto_soc_threshold
    return priority_by_soc(desired, meter, threshold)


def _step(state: LawState, settings: ControllerSettings, readings: Readings) -> Step:
    tracking = as_tracking_state(state)
    meter, wallbox, inputs = readings.meter, readings.wallbox, readings.inputs
    if tracking.desired_mode in PV_MODES:
        step = _track(tracking, settings, meter, wallbox, inputs.relay_enabled, inputs.now)
        if tracking.battery_reason is not None:
            step = replace(step, reason=f"{tracking.battery_reason}: {step.reason}")
    else:
        shared = converge_phases(tracking, settings, meter, wallbox, inputs.relay_enabled)
        if shared is None:
            shared = control_other_modes(tracking, settings, wallbox)
        tracking = idle_timers(as_tracking_state(shared.state))
        step = TrackStep(tracking, shared.commands, _REASONS.get(tracking.mode))
    step = interlock(step, wallbox, inputs.now)
    plan = step.state.battery_plan
    shown = None if plan is None else home_battery_state(plan)
    return Step(step.state, step.commands, step.reason, step.allow_charging_wish, shown)


def _finish(state: LawState, inputs: LawInputs) -> LawState:
    return replace(as_tracking_state(state), last_cycle=inputs.now)


# --- PV modes --------------------------------------------------------------------------------------


def _track(
    state: TrackingState,
    settings: ControllerSettings,
    meter: MeterData,
    wallbox: WallboxData,
    relay_enabled: bool,
    now: float,
) -> TrackStep:
    state = replace(state, mode=state.desired_mode, allow_charging_delay=0.0)
    state = account_loan(state, meter, wallbox, now)
    surplus = _surplus(state, meter, wallbox)
    # What would go to the grid if the car drew 1 phase's maximum: only that is worth 3 phases (a home
    # battery that takes the rest needs no relay switch).
    export_1p_max = -meter.power_grid + wallbox.power - max_power(1, settings)
    state, plan = plan_phases(state, settings, wallbox, relay_enabled, surplus, export_1p_max, now)
    starting = surplus >= start_power(state.desired_mode, plan.start_phases, settings)
    state = replace(state, start_since=(state.start_since or now) if starting else None)
    cycle = PvCycle(settings, meter, wallbox, plan, now)
    if wallbox.allow_charging:
        return while_charging(state, cycle)
    return while_idle(state, cycle)


def _surplus(state: TrackingState, meter: MeterData, wallbox: WallboxData) -> float:
    if state.battery_reserve_w is None:
        surplus = available_for_car(meter, wallbox, state.priority)
    else:  # the forecast's plan: everything but what the battery needs now
        surplus = available_for_car(meter, wallbox, Priority.CAR) - state.battery_reserve_w
    if state.lent_wh > 0:
        # The battery's charge pays back what it lent first: the car holds its current meanwhile.
        surplus = min(surplus, available_for_car(meter, wallbox, Priority.HOME_BATTERY))
    return surplus


STRATEGY = Strategy(
    name="tracking",
    initial_state=initial_state,
    adopt=as_tracking_state,
    on_stale=_stale,
    unplug_elapsed=_unplug_elapsed,
    prepare=_prepare,
    step=_step,
    finish=_finish,
    phase_error_reason="resetting the wallbox after a phase error",
    every_reading=True,
)
