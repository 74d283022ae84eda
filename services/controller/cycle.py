"""The skeleton of one control cycle, shared by every strategy (docs/CONTROL.md "One cycle").

A strategy is a `Strategy`: how it adopts a state, what it does on stale data, how it counts the unplug
time, how it resolves the priority and, after the shared steps, its own step (PV modes and the rest).
The skeleton is pure: no I/O and no clock (`inputs.now` is the time).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from pvcontrol.models import MeterData, WallboxData
from services.controller import rules
from services.controller.model import Commands, CycleResult, LawInputs, LawState, Step
from services.controller.settings import ControllerSettings


@dataclass(frozen=True)
class Readings:
    """Both readings, present and fresh, with the rest of the inputs."""

    meter: MeterData
    wallbox: WallboxData
    inputs: LawInputs


@dataclass(frozen=True)
class Strategy:
    name: str
    initial_state: Callable[[ControllerSettings], LawState]
    adopt: Callable[[LawState], LawState]  # a state from another strategy (or the service) made its own
    on_stale: Callable[[LawState, LawInputs, ControllerSettings], CycleResult]
    unplug_elapsed: Callable[[LawState, ControllerSettings, float], float]  # s to count the timer down
    prepare: Callable[[LawState, ControllerSettings, Readings], LawState]  # priority and own bookkeeping
    step: Callable[[LawState, ControllerSettings, Readings], Step]  # after the shared phase-error reset
    finish: Callable[[LawState, LawInputs], LawState]  # every cycle that got past the stale guard
    phase_error_reason: str | None
    every_reading: bool  # the service runs it on every fresh meter reading, not only every cycle_time

    def control_cycle(self, state: LawState, settings: ControllerSettings, inputs: LawInputs) -> CycleResult:
        return run_cycle(self, state, settings, inputs)


def run_cycle(
    strategy: Strategy, state: LawState, settings: ControllerSettings, inputs: LawInputs
) -> CycleResult:
    """One cycle: stale guard, energy accounting, plug-in automation, stale guard again, the strategy's
    priority, the phase-error reset, then the strategy's step."""
    state = strategy.adopt(state)
    stale_after = settings.stale_after
    if state.desired_mode in rules.PV_MODES and not rules.readings_fresh(inputs, stale_after):
        return strategy.on_stale(state, inputs, settings)
    meter, wallbox = inputs.meter, inputs.wallbox
    if meter is None or wallbox is None:
        # OFF/MAX/MANUAL before both readings ever arrived: energy accounting, mode automation, priority
        # and phases all need both, so the cycle waits for them instead of acting on half a picture.
        return CycleResult(state=state, commands=Commands())

    energy = rules.account_energy(state, meter, wallbox)
    state = energy.state
    elapsed = strategy.unplug_elapsed(state, settings, inputs.now)
    state = rules.count_unplugged_time(state, settings, wallbox, elapsed)
    state = rules.enter_mode_on_plug_in(state, settings, wallbox)
    if state.desired_mode in rules.PV_MODES and not rules.readings_fresh(inputs, stale_after):
        # Safety beyond CONTROL.md's order: a plug-in that just chose a PV mode must not start
        # charging on stale readings either; the chosen mode is kept for when fresh data arrive.
        return replace(strategy.on_stale(state, inputs, settings), charged_wh=energy.charged_wh)
    readings = Readings(meter, wallbox, inputs)
    state = strategy.prepare(state, settings, readings)
    if wallbox.error == 0 and wallbox.wb_error in rules.PHASE_ERRORS:
        step = Step(state, Commands(reset_wallbox=True), strategy.phase_error_reason)
    else:
        step = strategy.step(state, settings, readings)
    return CycleResult(
        state=strategy.finish(step.state, inputs),
        commands=step.commands,
        charged_wh=energy.charged_wh,
        charged_pv_wh=energy.charged_pv_wh,
        charged_grid_wh=energy.charged_grid_wh,
        allow_charging_wish=step.allow_charging_wish,
        reason=step.reason,
        home_battery=step.home_battery,
    )
