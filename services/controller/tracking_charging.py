"""The tracking strategy in PV modes, idle and charging: start, stop, current, bridging a dip."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from pvcontrol.models import ChargeMode, MeterData, WallboxData
from services.controller.model import Commands
from services.controller.rules import Thresholds, changed_commands
from services.controller.settings import ControllerSettings
from services.controller.tracking_phases import PhasePlan
from services.controller.tracking_state import (
    ABSORBED_START_DELAY,
    BRIDGE_MAX_TIME,
    BRIDGE_MAX_WH,
    BRIDGE_MIN_SOC,
    BRIDGE_OWED_DELAYS,
    FULL_SOC,
    NEAR_FULL_SOC,
    PV_ALL_3P_GRID_BUDGET,
    PV_ALL_ROUNDING_OFFSET,
    TrackingState,
    TrackStep,
    kw,
    min_power,
    ph,
)


def account_loan(state: TrackingState, meter: MeterData, wallbox: WallboxData, now: float) -> TrackingState:
    """While a dip is bridged, everything the car draws is lent (the battery would have had the dip's
    sun, too); the battery's charge pays it back."""
    if state.last_cycle is None:
        return replace(state, lent_wh=0.0)
    hours = min(max(now - state.last_cycle, 0.0), 60.0) / 3600
    lent = state.lent_wh
    if state.bridging or (state.owed_until is not None and now < state.owed_until):
        lent += wallbox.power * hours
    if meter.power_battery < 0:
        lent = max(lent + meter.power_battery * hours, 0.0)
    full = NEAR_FULL_SOC if state.desired_mode == ChargeMode.PV_ONLY else FULL_SOC
    if meter.soc_battery >= full:
        lent = 0.0  # a full battery is owed nothing
    return replace(state, lent_wh=lent)


def _may_bridge(state: TrackingState, meter: MeterData, deficit_since: float, now: float) -> bool:
    """The home battery may carry the car through this dip."""
    return (
        meter.soc_battery >= BRIDGE_MIN_SOC
        and now - deficit_since < BRIDGE_MAX_TIME
        and state.lent_wh < BRIDGE_MAX_WH
    )


def _pv_all_minimum(phases: int, settings: ControllerSettings) -> float:
    """PV_ALL's stop threshold: on 1 phase `pv_all_off`; on more, the same grid share at most (the car's
    minimum less the grid 1 phase may take), so 3 phases never draw more from the grid than 1."""
    grid_share_1p = _pv_all_grid_share_1p(settings)
    return max(min_power(phases, settings) - grid_share_1p, Thresholds.of(settings).pv_all_off)


def _pv_all_grid_share_1p(settings: ControllerSettings) -> float:
    """The grid power 1 phase may draw in PV_ALL: its minimum less the stop threshold."""
    return min_power(1, settings) - Thresholds.of(settings).pv_all_off


def _pv_all_3p_budget_wh(settings: ControllerSettings) -> float:
    return PV_ALL_3P_GRID_BUDGET * settings.tracking_stop_delay * _pv_all_grid_share_1p(settings) / 3600


def start_power(mode: ChargeMode, phases: int, settings: ControllerSettings) -> float:
    if mode == ChargeMode.PV_ONLY:
        return min_power(phases, settings) + settings.tracking_tolerance
    # On 3 phases at least what keeps it running: a start below its minimum stops again within seconds.
    return max(settings.pv_all_min_power, _pv_all_minimum(phases, settings))


@dataclass(frozen=True)
class PvCycle:
    """What one cycle in a PV mode decides by, besides the state it carries on."""

    settings: ControllerSettings
    meter: MeterData
    wallbox: WallboxData
    plan: PhasePlan
    now: float


def _without_deficit(state: TrackingState) -> TrackingState:
    return replace(state, deficit_since=None, grid_since=None, deficit_wh=0.0, bridging=False)


def while_idle(state: TrackingState, cycle: PvCycle) -> TrackStep:
    settings, meter, wallbox, plan, now = cycle.settings, cycle.meter, cycle.wallbox, cycle.plan, cycle.now
    state = _without_deficit(state)
    if state.phases_pending is not None:
        return TrackStep(state, Commands(), f"waiting for the relay to switch to {ph(state.phases_pending)}")
    phases = plan.start_phases
    if plan.fixed and phases != (wallbox.phases_in or 1):
        return TrackStep(state, Commands(phases=phases), f"switching to {ph(phases)} as set")
    needed = start_power(state.desired_mode, phases, settings)
    if state.start_since is None:
        return TrackStep(
            state, Commands(), f"surplus {kw(plan.surplus)} is below {kw(needed)} for {ph(phases)}"
        )
    delay = settings.tracking_start_delay
    if -meter.power_grid < settings.tracking_tolerance and meter.power_battery < 0:
        delay = max(delay, ABSORBED_START_DELAY)  # the home battery takes the surplus: waiting loses nothing
    remaining = state.start_since + delay - now
    if remaining > 0:
        state = replace(state, allow_charging_delay=remaining)
        return TrackStep(state, Commands(), f"starting in {remaining:.0f} s", allow_charging_wish=True)
    if phases != (wallbox.phases_in or 1):
        # Relay first (the interlock checks the wallbox is idle); the start follows in the next cycle.
        return TrackStep(state, Commands(phases=phases), f"switching to {ph(phases)} before starting")
    current = _current_for(state.desired_mode, plan.surplus, phases, settings, tolerance=0.0)
    return TrackStep(
        state,
        changed_commands(wallbox, max_current=current, allow_charging=True),
        f"starting at {current} A on {ph(phases)}",
    )


def while_charging(state: TrackingState, cycle: PvCycle) -> TrackStep:
    settings, meter, wallbox, plan, now = cycle.settings, cycle.meter, cycle.wallbox, cycle.plan, cycle.now
    phases = wallbox.phases_out or wallbox.phases_in or 1
    pv_only = state.desired_mode == ChargeMode.PV_ONLY
    minimum = min_power(phases, settings) if pv_only else _pv_all_minimum(phases, settings)
    grid_share_allowed = pv_only and meter.power_battery <= 0 and settings.tracking_min_solar_share < 1
    if grid_share_allowed:
        minimum *= settings.tracking_min_solar_share  # the grid may give the rest, never the home battery
    if plan.surplus < minimum:
        state, remaining = _in_deficit(state, cycle, phases, pv_only)
        if remaining <= 0:
            return TrackStep(
                state,
                changed_commands(wallbox, allow_charging=False),
                f"stopped: surplus {kw(plan.surplus)} is below {kw(minimum)} for {ph(phases)}",
            )
    else:
        if state.bridging:  # stopping would have cost a start delay, too: the battery is owed that
            state = replace(state, owed_until=now + settings.tracking_start_delay * BRIDGE_OWED_DELAYS)
        state = _without_deficit(state)
        remaining = 0.0

    if plan.target_phases != phases and plan.switch_ready:
        return TrackStep(
            state,
            changed_commands(wallbox, allow_charging=False),
            f"stopping to switch to {ph(plan.target_phases)}",
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
    commands = changed_commands(wallbox, max_current=current)
    if remaining > 0:
        state = replace(state, allow_charging_delay=remaining)
        reason = f"stopping in {remaining:.0f} s: surplus {kw(plan.surplus)} is below {kw(minimum)}"
        if state.bridging:
            reason = f"the home battery bridges the dip; {reason}"
        return TrackStep(state, commands, reason, allow_charging_wish=False)
    reason = f"charging {current} A on {ph(phases)}, surplus {kw(plan.surplus)}"
    if grid_share_allowed and plan.surplus < min_power(phases, settings):
        share = max(plan.surplus, 0.0) / (current * settings.line_voltage * phases)
        reason += f" ({share:.0%} solar, at least {settings.tracking_min_solar_share:.0%} set)"
    if plan.target_phases != phases:
        reason += f"; {ph(plan.target_phases)} in {max(plan.switch_in, 1):.0f} s"
    if state.lent_wh > 0:
        reason += f"; paying back {state.lent_wh:.0f} Wh to the home battery first"
    return TrackStep(state, commands, reason)


def _in_deficit(
    state: TrackingState, cycle: PvCycle, phases: int, pv_only: bool
) -> tuple[TrackingState, float]:
    """The state and the s charging may go on while the surplus is below the car's minimum (≤ 0: stop)."""
    settings, meter, plan, now = cycle.settings, cycle.meter, cycle.plan, cycle.now
    since = state.deficit_since if state.deficit_since is not None else now
    state = replace(state, deficit_since=since)
    # PV_ALL bridges only while nothing is owed: a loan the evening cannot repay stays one dip's
    bridging = _may_bridge(state, meter, since, now) and (pv_only or state.lent_wh <= 0 or state.bridging)
    limit = settings.tracking_stop_delay
    if pv_only:
        limit = BRIDGE_MAX_TIME if bridging else settings.tracking_max_grid_time
    elif bridging:
        limit = max(limit, BRIDGE_MAX_TIME)
    remaining = since + limit - now
    if not pv_only and phases > 1:
        elapsed = 0.0 if state.last_cycle is None else min(max(now - state.last_cycle, 0.0), 60.0)
        deficit = min_power(phases, settings) - plan.surplus
        if bridging:  # the battery's part is lent, not drawn from the grid
            deficit = min(deficit, max(meter.power_grid, 0.0))
        drawn = state.deficit_wh + deficit * elapsed / 3600
        state = replace(state, deficit_wh=drawn)
        if drawn >= _pv_all_3p_budget_wh(settings):
            remaining = min(remaining, 0.0)
    if pv_only and meter.power_grid > 0:
        grid_since = state.grid_since if state.grid_since is not None else now
        state = replace(state, grid_since=grid_since)
        remaining = min(remaining, grid_since + settings.tracking_max_grid_time - now)
    else:
        state = replace(state, grid_since=None)
    return replace(state, bridging=bridging and remaining > 0), remaining


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
