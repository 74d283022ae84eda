"""The tracking strategy's phases: which the surplus asks for, when the relay may switch, the interlock."""

from __future__ import annotations

from dataclasses import dataclass, replace

from pvcontrol.models import ChargeMode, PhaseMode, WallboxData
from services.controller.rules import Thresholds, changed_commands
from services.controller.settings import ControllerSettings
from services.controller.tracking_state import DAY, PHASE_SWITCH_WAIT, TrackingState, TrackStep


@dataclass(frozen=True)
class PhasePlan:
    """What the surplus asks for and what the phase rules allow now."""

    surplus: float
    target_phases: int  # the phases the surplus asks for
    start_phases: int  # the phases a start would use now
    switch_ready: bool  # a relay switch to target_phases may happen now (timers, dwell, cap)
    switch_in: float  # s until it may, when not ready
    fixed: bool = False  # the user's phase mode (or a wallbox without relay) decides, not the surplus


def interlock(step: TrackStep, wallbox: WallboxData, now: float) -> TrackStep:
    """Never switch the relay under load (whoever asked): stop instead; count every switch."""
    phases = step.commands.phases
    if phases is None:
        return step
    if wallbox.phases_out > 0 or wallbox.power > 0:
        return replace(step, commands=changed_commands(wallbox, allow_charging=False))
    switched = replace(step.state, phase_switches=(*step.state.phase_switches, now), phases_pending=phases)
    return replace(step, state=switched)


def settle_pending_switch(state: TrackingState, wallbox: WallboxData, now: float) -> TrackingState:
    """A commanded switch is done once the wallbox reports the phases, or given up after the wait."""
    if state.phases_pending is None:
        return state
    done = wallbox.error == 0 and wallbox.phases_in == state.phases_pending
    if done or not state.phase_switches or now - state.phase_switches[-1] >= PHASE_SWITCH_WAIT:
        return replace(state, phases_pending=None)
    return state


def _switchable(state: TrackingState, settings: ControllerSettings, relay_enabled: bool) -> bool:
    return relay_enabled and state.phase_mode == PhaseMode.AUTO and settings.enable_auto_phase_switching


def _fixed_phases(state: TrackingState, relay_enabled: bool, phases_in: int) -> int:
    if not relay_enabled:
        return phases_in
    if state.phase_mode == PhaseMode.CHARGE_3P:
        return 3
    return 1  # CHARGE_1P, or AUTO with automatic switching off (as in the original)


def plan_phases(
    state: TrackingState,
    settings: ControllerSettings,
    wallbox: WallboxData,
    relay_enabled: bool,
    surplus: float,
    export_1p_max: float,
    now: float,
) -> tuple[TrackingState, PhasePlan]:
    phases_in = wallbox.phases_in or 1
    if not _switchable(state, settings, relay_enabled):
        target = _fixed_phases(state, relay_enabled, phases_in)
        state = replace(state, phase_wish=None, phase_wish_since=None)
        # The user's choice (or a fixed wallbox) needs no timers.
        return state, PhasePlan(surplus, target, target, target != phases_in, 0.0, fixed=True)

    up, stay = _three_phase_thresholds(state.desired_mode, settings)
    if phases_in == 1:
        # 3 phases only when energy would go to the grid otherwise: while the home battery takes what
        # one phase leaves, a switch would only cost wear.
        target = 3 if surplus >= up and export_1p_max >= settings.tracking_tolerance else 1
    else:
        target = 3 if surplus >= stay else 1
    if target == phases_in:
        state = replace(state, phase_wish=None, phase_wish_since=None)
        return state, PhasePlan(surplus, target, target, False, 0.0)
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
    return state, PhasePlan(surplus, target, start_phases, wait <= 0, wait)


def _three_phase_thresholds(mode: ChargeMode, settings: ControllerSettings) -> tuple[float, float]:
    """Surplus to go from 1 to 3 phases, and to stay on 3."""
    if mode == ChargeMode.PV_ONLY:
        minimum_3p = 3 * settings.min_supported_current * settings.line_voltage
        return minimum_3p + settings.tracking_tolerance, minimum_3p
    thresholds = Thresholds.of(settings)
    return thresholds.pv_all_1_to_3, thresholds.pv_all_stay_3
