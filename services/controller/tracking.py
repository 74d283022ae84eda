"""The tracking strategy (docs/CONTROL.md "Tracking strategy"): the car follows the solar surplus.

Pure like `law.py` (same signature, same types; time is `inputs.now`), and meant to run on every fresh
meter reading, not only every `cycle_time`. What it shares with the original law it takes from there:
the stale-data rule, energy accounting, plug-in automation, OFF/MAX/MANUAL and the phase-error reset.
What differs, in PV modes:

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
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from pvcontrol.models import CarStatus, ChargeMode, MeterData, PhaseMode, Priority, WallboxData
from pvcontrol.settings import ControllerSettings
from services.controller.law import (
    PHASE_ERRORS,
    PV_MODES,
    Commands,
    CycleResult,
    LawInputs,
    LawState,
    Thresholds,
    _account_energy,
    _available_for_car,
    _changed_commands,
    _control_charging,
    _converge_phases,
    _enter_mode_on_plug_in,
    _readings_fresh,
    _stop_on_stale_data,
)

DAY = 86_400.0
# PV_ALL rounds its current up from a quarter step: the grid gives at most 3/4 of a step, the export at
# most 1/4 (the original's ceil(x - 0.1) buys a little more sun with more grid energy, see bench/README.md).
PV_ALL_ROUNDING_OFFSET = 0.25
# PV_ALL on 3 phases: a deficit stops the car once its minimum has drawn this share of the grid energy
# 1 phase at its stop threshold draws in `tracking_stop_delay` (a dark cloud stops 3 phases sooner).
PV_ALL_3P_GRID_BUDGET = 0.5
# PV_ONLY with a home battery (docs/CONTROL.md "Bridging a dip from the home battery"): a dip below the
# car's minimum may be bridged from the battery for BRIDGE_MAX_TIME while it is at least BRIDGE_MIN_SOC
# full and owes less than BRIDGE_MAX_WH. Everything the car draws meanwhile, and for BRIDGE_OWED_DELAYS
# start delays after (the time a stop and restart would have left to the battery), is lent; the battery's
# charge pays it back first (the car does not step up meanwhile). A nearly full battery (NEAR_FULL_SOC)
# is owed nothing and lends the remainder of a current step instead of exporting it. The grid is never
# lent: an import still stops the car within `tracking_max_grid_time`.
BRIDGE_MAX_TIME = 300.0  # s
BRIDGE_MIN_SOC = 55.0  # %
BRIDGE_MAX_WH = 500.0
BRIDGE_OWED_DELAYS = 2.0
NEAR_FULL_SOC = 97.0  # %
# A start waits at least this long while the home battery takes the surplus and nothing is exported:
# waiting loses no sun then; fewer short runs, and the battery fills sooner.
ABSORBED_START_DELAY = 120.0  # s
# A relay switches only after the wallbox has been idle for its `idle_settle` (15 s by default): a start
# waits this long for the phases it commanded, so it does not start on the old phases meanwhile (the
# relay would then refuse the switch for the load). Past it the command counts as refused.
PHASE_SWITCH_WAIT = 60.0  # s


@dataclass(frozen=True)
class TrackingState(LawState):
    last_cycle: float | None = None  # `now` of the previous cycle: timers count real time, not cycles
    start_since: float | None = None  # since when the surplus suffices to start
    deficit_since: float | None = None  # since when charging runs below its minimum
    grid_since: float | None = None  # PV_ONLY: since when that deficit is drawn from the grid
    deficit_wh: float = 0.0  # PV_ALL, 3 phases: the grid energy the car's minimum drew in this deficit
    bridging: bool = False  # PV_ONLY: the home battery carries the car through a dip
    owed_until: float | None = None  # after a bridged dip: until when the car's draw is still lent
    lent_wh: float = 0.0  # PV_ONLY: what the car took while bridging, not yet paid back to the battery
    phase_wish: int | None = None  # phases the surplus asks for, if not those in use
    phase_wish_since: float | None = None
    phase_switches: tuple[float, ...] = ()  # times of relay switches within the last 24 h
    phases_pending: int | None = None  # phases commanded but not yet reported by the wallbox


@dataclass(frozen=True)
class _Step:
    state: TrackingState
    commands: Commands
    reason: str | None = None
    allow_charging_wish: bool | None = None


def initial_state(settings: ControllerSettings) -> TrackingState:
    return TrackingState(unplug_timer=settings.unplug_off_delay)


def as_tracking_state(state: LawState) -> TrackingState:
    """The state with the tracking timers (all idle) when it comes from the original law."""
    if isinstance(state, TrackingState):
        return state
    return TrackingState(**{name: getattr(state, name) for name in LawState.__dataclass_fields__})


def control_cycle(state: LawState, settings: ControllerSettings, inputs: LawInputs) -> CycleResult:
    tracking = as_tracking_state(state)
    if tracking.desired_mode in PV_MODES and not _readings_fresh(inputs, settings.stale_after):
        return _stale(tracking, inputs, settings)
    meter, wallbox = inputs.meter, inputs.wallbox
    if meter is None or wallbox is None:
        return CycleResult(state=tracking, commands=Commands())

    energy = _account_energy(tracking, meter, wallbox)
    tracking = _count_unplugged_time(as_tracking_state(energy.state), settings, wallbox, inputs.now)
    tracking = as_tracking_state(_enter_mode_on_plug_in(tracking, settings, wallbox))
    if tracking.desired_mode in PV_MODES and not _readings_fresh(inputs, settings.stale_after):
        return replace(_stale(tracking, inputs, settings), charged_wh=energy.charged_wh)
    tracking = replace(
        tracking,
        priority=_priority(tracking.desired_priority, tracking.desired_mode, meter, settings),
        phase_switches=tuple(t for t in tracking.phase_switches if inputs.now - t < DAY),
    )
    tracking = _settle_pending_switch(tracking, wallbox, inputs.now)

    if wallbox.error == 0 and wallbox.wb_error in PHASE_ERRORS:
        step = _Step(tracking, Commands(reset_wallbox=True), "resetting the wallbox after a phase error")
    elif tracking.desired_mode in PV_MODES:
        step = _track(tracking, settings, meter, wallbox, inputs.relay_enabled, inputs.now)
    else:
        law_step = _converge_phases(tracking, settings, meter, wallbox, inputs.relay_enabled)
        if law_step is None:
            law_step = _control_charging(tracking, settings, meter, wallbox)
        state = _idle_timers(as_tracking_state(law_step.state))
        step = _Step(state, law_step.commands, _REASONS.get(state.mode))
    step = _interlock(step, wallbox, inputs.now)
    return CycleResult(
        state=replace(step.state, last_cycle=inputs.now),
        commands=step.commands,
        charged_wh=energy.charged_wh,
        charged_pv_wh=energy.charged_pv_wh,
        charged_grid_wh=energy.charged_grid_wh,
        allow_charging_wish=step.allow_charging_wish,
        reason=step.reason,
    )


_REASONS = {
    ChargeMode.OFF: "off",
    ChargeMode.MAX: "charging at the maximum current",
    ChargeMode.MANUAL: "manual: the wallbox is left as set",
}


def _stale(state: TrackingState, inputs: LawInputs, settings: ControllerSettings) -> CycleResult:
    stop = _stop_on_stale_data(state, inputs, settings.stale_after)
    return replace(
        stop,
        state=_idle_timers(as_tracking_state(stop.state)),
        reason="stopped: waiting for fresh meter and wallbox readings",
    )


def _idle_timers(state: TrackingState) -> TrackingState:
    return replace(
        state,
        start_since=None,
        deficit_since=None,
        grid_since=None,
        deficit_wh=0.0,
        bridging=False,
        phase_wish=None,
        phase_wish_since=None,
    )


def _interlock(step: _Step, wallbox: WallboxData, now: float) -> _Step:
    """Never switch the relay under load (whoever asked): stop instead; count every switch."""
    phases = step.commands.phases
    if phases is None:
        return step
    if wallbox.phases_out > 0 or wallbox.power > 0:
        return replace(step, commands=_changed_commands(wallbox, allow_charging=False))
    switched = replace(step.state, phase_switches=(*step.state.phase_switches, now), phases_pending=phases)
    return replace(step, state=switched)


def _settle_pending_switch(state: TrackingState, wallbox: WallboxData, now: float) -> TrackingState:
    """A commanded switch is done once the wallbox reports the phases, or given up after the wait."""
    if state.phases_pending is None:
        return state
    done = wallbox.error == 0 and wallbox.phases_in == state.phases_pending
    if done or not state.phase_switches or now - state.phase_switches[-1] >= PHASE_SWITCH_WAIT:
        return replace(state, phases_pending=None)
    return state


def _count_unplugged_time(
    state: TrackingState, settings: ControllerSettings, wallbox: WallboxData, now: float
) -> TrackingState:
    """CONTROL.md's unplug timer, counting the time since the last cycle (cycles come at any rate)."""
    unplugged = state.mode in PV_MODES and wallbox.error == 0 and wallbox.car_status == CarStatus.NoVehicle
    if not unplugged:
        return replace(state, unplug_timer=settings.unplug_off_delay)
    elapsed = 0.0 if state.last_cycle is None else max(now - state.last_cycle, 0.0)
    timer = state.unplug_timer - elapsed
    desired_mode = ChargeMode.OFF if timer <= 0 else state.desired_mode
    return replace(state, unplug_timer=timer, desired_mode=desired_mode)


def _priority(
    desired: Priority, mode: ChargeMode, meter: MeterData, settings: ControllerSettings
) -> Priority:
    if desired != Priority.AUTO:
        return desired
    threshold = settings.prio_auto_soc_threshold
    if mode == ChargeMode.PV_ALL:
        threshold = settings.tracking_pv_all_prio_auto_soc_threshold
    if meter.soc_battery < threshold:
        return Priority.HOME_BATTERY
    return Priority.CAR


# --- PV modes --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Plan:
    """What the surplus asks for and what the phase rules allow now."""

    surplus: float
    target_phases: int  # the phases the surplus asks for
    start_phases: int  # the phases a start would use now
    switch_ready: bool  # a relay switch to target_phases may happen now (timers, dwell, cap)
    switch_in: float  # s until it may, when not ready
    fixed: bool = False  # the user's phase mode (or a wallbox without relay) decides, not the surplus


def _track(
    state: TrackingState,
    settings: ControllerSettings,
    meter: MeterData,
    wallbox: WallboxData,
    relay_enabled: bool,
    now: float,
) -> _Step:
    state = replace(state, mode=state.desired_mode, allow_charging_delay=0.0)
    state = _account_loan(state, meter, wallbox, now)
    surplus = _surplus(state, meter, wallbox)
    # What would go to the grid if the car drew 1 phase's maximum: only that is worth 3 phases (a home
    # battery that takes the rest needs no relay switch).
    export_1p_max = -meter.power_grid + wallbox.power - _max_power(1, settings)
    state, plan = _plan_phases(state, settings, wallbox, relay_enabled, surplus, export_1p_max, now)
    starting = surplus >= _start_power(state.desired_mode, plan.start_phases, settings)
    state = replace(state, start_since=(state.start_since or now) if starting else None)
    if wallbox.allow_charging:
        return _while_charging(state, settings, meter, wallbox, plan, now)
    return _while_idle(state, settings, meter, wallbox, plan, now)


def _surplus(state: TrackingState, meter: MeterData, wallbox: WallboxData) -> float:
    surplus = _available_for_car(meter, wallbox, state.priority)
    if state.lent_wh > 0:
        # The battery's charge pays back what it lent first: the car holds its current meanwhile.
        surplus = min(surplus, _available_for_car(meter, wallbox, Priority.HOME_BATTERY))
    return surplus


def _account_loan(state: TrackingState, meter: MeterData, wallbox: WallboxData, now: float) -> TrackingState:
    """PV_ONLY: while a dip is bridged, everything the car draws is lent (the battery would have had
    the dip's sun, too); the battery's charge pays it back."""
    if state.desired_mode != ChargeMode.PV_ONLY or state.last_cycle is None:
        return replace(state, lent_wh=0.0)
    hours = min(max(now - state.last_cycle, 0.0), 60.0) / 3600
    lent = state.lent_wh
    if state.bridging or (state.owed_until is not None and now < state.owed_until):
        lent += wallbox.power * hours
    if meter.power_battery < 0:
        lent = max(lent + meter.power_battery * hours, 0.0)
    if meter.soc_battery >= NEAR_FULL_SOC:
        lent = 0.0  # a full battery is owed nothing
    return replace(state, lent_wh=lent)


def _may_bridge(state: TrackingState, meter: MeterData, deficit_since: float, now: float) -> bool:
    """PV_ONLY: the home battery may carry the car through this dip."""
    return (
        meter.soc_battery >= BRIDGE_MIN_SOC
        and now - deficit_since < BRIDGE_MAX_TIME
        and state.lent_wh < BRIDGE_MAX_WH
    )


def _switchable(state: TrackingState, settings: ControllerSettings, relay_enabled: bool) -> bool:
    return relay_enabled and state.phase_mode == PhaseMode.AUTO and settings.enable_auto_phase_switching


def _fixed_phases(state: TrackingState, relay_enabled: bool, phases_in: int) -> int:
    if not relay_enabled:
        return phases_in
    if state.phase_mode == PhaseMode.CHARGE_3P:
        return 3
    return 1  # CHARGE_1P, or AUTO with automatic switching off (as in the original)


def _plan_phases(
    state: TrackingState,
    settings: ControllerSettings,
    wallbox: WallboxData,
    relay_enabled: bool,
    surplus: float,
    export_1p_max: float,
    now: float,
) -> tuple[TrackingState, _Plan]:
    phases_in = wallbox.phases_in or 1
    if not _switchable(state, settings, relay_enabled):
        target = _fixed_phases(state, relay_enabled, phases_in)
        state = replace(state, phase_wish=None, phase_wish_since=None)
        # The user's choice (or a fixed wallbox) needs no timers.
        return state, _Plan(surplus, target, target, target != phases_in, 0.0, fixed=True)

    up, stay = _three_phase_thresholds(state.desired_mode, settings)
    if phases_in == 1:
        # 3 phases only when energy would go to the grid otherwise: while the home battery takes what
        # one phase leaves, a switch would only cost wear.
        target = 3 if surplus >= up and export_1p_max >= settings.tracking_tolerance else 1
    else:
        target = 3 if surplus >= stay else 1
    if target == phases_in:
        state = replace(state, phase_wish=None, phase_wish_since=None)
        return state, _Plan(surplus, target, target, False, 0.0)
    since = state.phase_wish_since if state.phase_wish == target and state.phase_wish_since else now
    state = replace(state, phase_wish=target, phase_wish_since=since)
    relay_wait = 0.0  # the relay's wear limits: minimum dwell and the cap per 24 h
    if state.phase_switches:
        relay_wait = state.phase_switches[-1] + settings.tracking_phase_min_dwell - now
        if len(state.phase_switches) >= settings.tracking_phase_switches_per_day:
            relay_wait = max(relay_wait, state.phase_switches[0] + DAY - now)
    wait = relay_wait
    if wallbox.allow_charging:
        # While charging, a switch costs a stop and a start: the surplus must ask for it a while. Idle,
        # the start delay already waits.
        delay = settings.tracking_phase_up_delay if target == 3 else settings.tracking_phase_down_delay
        wait = max(wait, since + delay - now)
    start_phases = target if relay_wait <= 0 else phases_in
    return state, _Plan(surplus, target, start_phases, wait <= 0, wait)


def _three_phase_thresholds(mode: ChargeMode, settings: ControllerSettings) -> tuple[float, float]:
    """Surplus to go from 1 to 3 phases, and to stay on 3."""
    if mode == ChargeMode.PV_ONLY:
        minimum_3p = 3 * settings.min_supported_current * settings.line_voltage
        return minimum_3p + settings.tracking_tolerance, minimum_3p
    thresholds = Thresholds.of(settings)
    return thresholds.pv_all_1_to_3, thresholds.pv_all_stay_3


def _min_power(phases: int, settings: ControllerSettings) -> float:
    return settings.min_supported_current * settings.line_voltage * phases


def _max_power(phases: int, settings: ControllerSettings) -> float:
    return settings.max_supported_current * settings.line_voltage * phases


def _pv_all_minimum(phases: int, settings: ControllerSettings) -> float:
    """PV_ALL's stop threshold: on 1 phase `pv_all_off`; on more, the same grid share at most (the car's
    minimum less the grid 1 phase may take), so 3 phases never draw more from the grid than 1."""
    grid_share_1p = _pv_all_grid_share_1p(settings)
    return max(_min_power(phases, settings) - grid_share_1p, Thresholds.of(settings).pv_all_off)


def _pv_all_grid_share_1p(settings: ControllerSettings) -> float:
    """The grid power 1 phase may draw in PV_ALL: its minimum less the stop threshold."""
    return _min_power(1, settings) - Thresholds.of(settings).pv_all_off


def _pv_all_3p_budget_wh(settings: ControllerSettings) -> float:
    return PV_ALL_3P_GRID_BUDGET * settings.tracking_stop_delay * _pv_all_grid_share_1p(settings) / 3600


def _start_power(mode: ChargeMode, phases: int, settings: ControllerSettings) -> float:
    if mode == ChargeMode.PV_ONLY:
        return _min_power(phases, settings) + settings.tracking_tolerance
    return settings.pv_all_min_power


def _while_idle(
    state: TrackingState,
    settings: ControllerSettings,
    meter: MeterData,
    wallbox: WallboxData,
    plan: _Plan,
    now: float,
) -> _Step:
    state = replace(state, deficit_since=None, grid_since=None, deficit_wh=0.0, bridging=False)
    if state.phases_pending is not None:
        return _Step(state, Commands(), f"waiting for the relay to switch to {_ph(state.phases_pending)}")
    phases = plan.start_phases
    if plan.fixed and phases != (wallbox.phases_in or 1):
        return _Step(state, Commands(phases=phases), f"switching to {_ph(phases)} as set")
    needed = _start_power(state.desired_mode, phases, settings)
    if state.start_since is None:
        return _Step(
            state, Commands(), f"surplus {_kw(plan.surplus)} is below {_kw(needed)} for {_ph(phases)}"
        )
    delay = settings.tracking_start_delay
    if -meter.power_grid < settings.tracking_tolerance and meter.power_battery < 0:
        delay = max(delay, ABSORBED_START_DELAY)  # the home battery takes the surplus: waiting loses nothing
    remaining = state.start_since + delay - now
    if remaining > 0:
        state = replace(state, allow_charging_delay=remaining)
        return _Step(state, Commands(), f"starting in {remaining:.0f} s", allow_charging_wish=True)
    if phases != (wallbox.phases_in or 1):
        # Relay first (the interlock checks the wallbox is idle); the start follows in the next cycle.
        return _Step(state, Commands(phases=phases), f"switching to {_ph(phases)} before starting")
    current = _current_for(state.desired_mode, plan.surplus, phases, settings, tolerance=0.0)
    return _Step(
        state,
        _changed_commands(wallbox, max_current=current, allow_charging=True),
        f"starting at {current} A on {_ph(phases)}",
    )


def _while_charging(
    state: TrackingState,
    settings: ControllerSettings,
    meter: MeterData,
    wallbox: WallboxData,
    plan: _Plan,
    now: float,
) -> _Step:
    phases = wallbox.phases_out or wallbox.phases_in or 1
    pv_only = state.desired_mode == ChargeMode.PV_ONLY
    minimum = _min_power(phases, settings) if pv_only else _pv_all_minimum(phases, settings)
    grid_share_allowed = pv_only and meter.power_battery <= 0 and settings.tracking_min_solar_share < 1
    if grid_share_allowed:
        minimum *= settings.tracking_min_solar_share  # the grid may give the rest, never the home battery
    if plan.surplus < minimum:
        since = state.deficit_since if state.deficit_since is not None else now
        state = replace(state, deficit_since=since)
        bridging = pv_only and _may_bridge(state, meter, since, now)
        limit = settings.tracking_stop_delay
        if pv_only:
            limit = BRIDGE_MAX_TIME if bridging else settings.tracking_max_grid_time
        remaining = since + limit - now
        if not pv_only and phases > 1:
            elapsed = 0.0 if state.last_cycle is None else min(max(now - state.last_cycle, 0.0), 60.0)
            drawn = state.deficit_wh + (_min_power(phases, settings) - plan.surplus) * elapsed / 3600
            state = replace(state, deficit_wh=drawn)
            if drawn >= _pv_all_3p_budget_wh(settings):
                remaining = min(remaining, 0.0)
        if pv_only and meter.power_grid > 0:
            grid_since = state.grid_since if state.grid_since is not None else now
            state = replace(state, grid_since=grid_since)
            remaining = min(remaining, grid_since + settings.tracking_max_grid_time - now)
        else:
            state = replace(state, grid_since=None)
        state = replace(state, bridging=bridging and remaining > 0)
        if remaining <= 0:
            return _Step(
                state,
                _changed_commands(wallbox, allow_charging=False),
                f"stopped: surplus {_kw(plan.surplus)} is below {_kw(minimum)} for {_ph(phases)}",
            )
    else:
        if state.bridging:  # stopping would have cost a start delay, too: the battery is owed that
            state = replace(state, owed_until=now + settings.tracking_start_delay * BRIDGE_OWED_DELAYS)
        state = replace(state, deficit_since=None, grid_since=None, deficit_wh=0.0, bridging=False)
        remaining = 0.0

    if plan.target_phases != phases and plan.switch_ready:
        return _Step(
            state,
            _changed_commands(wallbox, allow_charging=False),
            f"stopping to switch to {_ph(plan.target_phases)}",
        )
    surplus = plan.surplus
    if pv_only and meter.soc_battery >= NEAR_FULL_SOC and state.lent_wh <= 0:
        # A full battery cannot take the remainder of a step: it lends it instead of exporting it.
        surplus += settings.line_voltage * phases - 1.0
    current = _current_for(
        state.desired_mode,
        surplus,
        phases,
        settings,
        settings.tracking_tolerance,
        wallbox.max_current,
    )
    commands = _changed_commands(wallbox, max_current=current)
    if remaining > 0:
        state = replace(state, allow_charging_delay=remaining)
        reason = f"stopping in {remaining:.0f} s: surplus {_kw(plan.surplus)} is below {_kw(minimum)}"
        if state.bridging:
            reason = f"the home battery bridges the dip; {reason}"
        return _Step(state, commands, reason, allow_charging_wish=False)
    reason = f"charging {current} A on {_ph(phases)}, surplus {_kw(plan.surplus)}"
    if grid_share_allowed and plan.surplus < _min_power(phases, settings):
        share = max(plan.surplus, 0.0) / (current * settings.line_voltage * phases)
        reason += f" ({share:.0%} solar, at least {settings.tracking_min_solar_share:.0%} set)"
    if plan.target_phases != phases:
        reason += f"; {_ph(plan.target_phases)} in {max(plan.switch_in, 1):.0f} s"
    if state.lent_wh > 0:
        reason += f"; paying back {state.lent_wh:.0f} Wh to the home battery first"
    return _Step(state, commands, reason)


def _current_for(
    mode: ChargeMode,
    surplus: float,
    phases: int,
    settings: ControllerSettings,
    tolerance: float,
    present: int | None = None,
) -> int:
    """The current for the surplus: down at once, up only when the surplus exceeds the step by
    `tolerance`, so small wiggles send nothing. PV_ONLY rounds down (no grid), PV_ALL to the nearest."""
    per_ampere = settings.line_voltage * phases
    ideal = surplus / per_ampere
    if mode == ChargeMode.PV_ONLY:
        down, up = math.floor(ideal), math.floor(ideal - tolerance / per_ampere)
    else:
        offset = PV_ALL_ROUNDING_OFFSET
        down = math.ceil(ideal - offset)
        up = math.ceil(ideal - offset - tolerance / per_ampere)
    current = down if present is None or down < present else max(up, present)
    return max(settings.min_supported_current, min(current, settings.max_supported_current))


def _kw(watts: float) -> str:
    return f"{watts / 1000:.1f} kW"


def _ph(phases: int) -> str:
    return "1 phase" if phases == 1 else f"{phases} phases"
