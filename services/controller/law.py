"""The control law of CONTROL.md as a pure function: readings, settings, state and time in; commands out.

No I/O and no clock: `now` is an argument. The service around it keeps the latest readings, calls
`control_cycle` every `cycle_time` seconds and publishes the commands.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from pvcontrol.models import (
    CarStatus,
    ChargeMode,
    ForecastData,
    MeterData,
    PhaseMode,
    Priority,
    StateDocument,
    WallboxData,
    WbError,
)
from pvcontrol.plausibility import MAX_FUTURE_SKEW
from pvcontrol.settings import ControllerSettings


@dataclass(frozen=True)
class LawInputs:
    meter: MeterData | None  # None: never received
    wallbox: WallboxData | None
    relay_enabled: bool  # a phase relay is enabled (`P/relay/state` enabled = true)
    now: float  # Unix seconds
    forecast: ForecastData | None = None  # P/forecast/state; None: no forecast (behave as without one)


@dataclass(frozen=True)
class LawState:
    desired_mode: ChargeMode = ChargeMode.OFF
    mode: ChargeMode = ChargeMode.OFF
    phase_mode: PhaseMode = PhaseMode.AUTO  # the user's choice; shown as DISABLED without a relay
    desired_priority: Priority = Priority.AUTO
    priority: Priority = Priority.AUTO
    unplug_timer: float = 300.0
    allow_charging_delay: float = 0.0
    # energy accounting references; None until the first reading
    last_charged_energy: float | None = None
    split_charged_energy: float | None = None
    last_energy_consumption: float | None = None
    last_energy_consumption_grid: float | None = None


@dataclass(frozen=True)
class Commands:
    """What to send this cycle; None/False = send nothing."""

    max_current: int | None = None  # -> P/wallbox/max_current/set
    allow_charging: bool | None = None  # -> P/wallbox/allow_charging/set
    reset_wallbox: bool = False  # -> P/wallbox/reset/set
    phases: int | None = None  # -> P/relay/phases/set


@dataclass(frozen=True)
class CycleResult:
    state: LawState
    commands: Commands
    charged_wh: float = 0.0  # total charged energy added this cycle
    charged_pv_wh: float = 0.0
    charged_grid_wh: float = 0.0
    # PV modes: a start (True) or stop (False) waiting for the allow-charging delay; None if nothing pending
    allow_charging_wish: bool | None = None
    # what the controller is doing or waiting for, one sentence for users (set by the tracking strategy)
    reason: str | None = None


PV_MODES = frozenset({ChargeMode.PV_ONLY, ChargeMode.PV_ALL})
PHASE_ERRORS = frozenset({WbError.PHASE, WbError.PHASE_RELAY_ERR})
COUNTER_RESET_DROP = 1.0  # Wh; a larger drop of charged_energy means the wallbox started a new session
METER_UPDATE_RISE = 1.0  # Wh; energy_consumption rising more than this means the meter counters updated


def initial_state(settings: ControllerSettings) -> LawState:
    """The state after a fresh start (CONTROL.md "State"), with the configured unplug delay."""
    return LawState(unplug_timer=settings.unplug_off_delay)


def control_cycle(state: LawState, settings: ControllerSettings, inputs: LawInputs) -> CycleResult:
    if state.desired_mode in PV_MODES and not _readings_fresh(inputs, settings.stale_after):
        return _stop_on_stale_data(state, inputs, settings.stale_after)
    meter, wallbox = inputs.meter, inputs.wallbox
    if meter is None or wallbox is None:
        # OFF/MAX/MANUAL before both readings ever arrived: energy accounting, mode automation, priority
        # and phases all need both, so the cycle waits for them instead of acting on half a picture.
        return CycleResult(state=state, commands=Commands())

    energy = _account_energy(state, meter, wallbox)
    state = _automate_mode(energy.state, settings, wallbox)
    if state.desired_mode in PV_MODES and not _readings_fresh(inputs, settings.stale_after):
        # Safety beyond CONTROL.md's order: a plug-in that just chose a PV mode must not start
        # charging on stale readings either; the chosen mode is kept for when fresh data arrive.
        stop = _stop_on_stale_data(state, inputs, settings.stale_after)
        return replace(stop, charged_wh=energy.charged_wh)
    state = replace(state, priority=_effective_priority(state.desired_priority, meter, settings))
    step = _converge_phases(state, settings, meter, wallbox, inputs.relay_enabled)
    if step is None:
        step = _control_charging(state, settings, meter, wallbox)
    return CycleResult(
        state=step.state,
        commands=step.commands,
        charged_wh=energy.charged_wh,
        charged_pv_wh=energy.charged_pv_wh,
        charged_grid_wh=energy.charged_grid_wh,
        allow_charging_wish=step.allow_charging_wish,
    )


@dataclass(frozen=True)
class Thresholds:
    """The derived power thresholds of CONTROL.md, in W."""

    pv_only_on: float
    pv_only_1_to_3: float
    pv_only_stay_3: float
    pv_all_on: float
    pv_all_off: float
    pv_all_1_to_3: float
    pv_all_stay_3: float

    @classmethod
    def of(cls, settings: ControllerSettings) -> Thresholds:
        voltage, hysteresis = settings.line_voltage, settings.power_hysteresis
        min_power_1p = settings.min_supported_current * voltage
        max_power_1p = settings.max_supported_current * voltage
        # PV_ONLY's off threshold (Imin·V) is not listed: the current formula stops below Imin by itself.
        return cls(
            pv_only_on=min_power_1p + hysteresis,
            pv_only_1_to_3=3 * min_power_1p + hysteresis,
            pv_only_stay_3=3 * min_power_1p,
            pv_all_on=settings.pv_all_min_power,
            pv_all_off=max(settings.pv_all_min_power - hysteresis, 100.0),
            pv_all_1_to_3=max_power_1p,
            pv_all_stay_3=max_power_1p - hysteresis,
        )


@dataclass(frozen=True)
class _Step:
    state: LawState
    commands: Commands
    allow_charging_wish: bool | None = None


@dataclass(frozen=True)
class _Energy:
    state: LawState
    charged_wh: float = 0.0
    charged_pv_wh: float = 0.0
    charged_grid_wh: float = 0.0


def _changed_commands(
    wallbox: WallboxData | None, max_current: int | None = None, allow_charging: bool | None = None
) -> Commands:
    """Commands without the settings the wallbox already has."""
    if wallbox is not None:
        if max_current == wallbox.max_current:
            max_current = None
        if allow_charging == wallbox.allow_charging:
            allow_charging = None
    return Commands(max_current=max_current, allow_charging=allow_charging)


# --- stale data ------------------------------------------------------------------------------------


def _is_fresh(reading: StateDocument | None, now: float, stale_after: float) -> bool:
    if reading is None:
        return False
    return now - reading.ts <= stale_after and reading.ts - now <= MAX_FUTURE_SKEW


def _readings_fresh(inputs: LawInputs, stale_after: float) -> bool:
    return _is_fresh(inputs.meter, inputs.now, stale_after) and _is_fresh(
        inputs.wallbox, inputs.now, stale_after
    )


def _stop_on_stale_data(state: LawState, inputs: LawInputs, stale_after: float) -> CycleResult:
    # Only a fresh wallbox reading tells reliably that charging is already off; otherwise send the stop.
    wallbox_known = _is_fresh(inputs.wallbox, inputs.now, stale_after)
    commands = _changed_commands(inputs.wallbox if wallbox_known else None, allow_charging=False)
    return CycleResult(state=replace(state, allow_charging_delay=0.0), commands=commands)


# --- energy accounting -----------------------------------------------------------------------------


def _energy_increase(previous: float, current: float) -> float:
    increase = current - previous
    if increase < -COUNTER_RESET_DROP:
        increase = current
    return max(increase, 0.0)


def _account_energy(state: LawState, meter: MeterData, wallbox: WallboxData) -> _Energy:
    charged = wallbox.charged_energy
    references = replace(
        state,
        last_charged_energy=charged,
        split_charged_energy=charged,
        last_energy_consumption=meter.energy_consumption,
        last_energy_consumption_grid=meter.energy_consumption_grid,
    )
    if (
        state.last_charged_energy is None
        or state.split_charged_energy is None
        or state.last_energy_consumption is None
        or state.last_energy_consumption_grid is None
    ):
        return _Energy(state=references)

    total = _energy_increase(state.last_charged_energy, charged)
    if not wallbox.allow_charging:
        return _Energy(state=references, charged_wh=total)
    if meter.energy_consumption - state.last_energy_consumption <= METER_UPDATE_RISE:
        # The meter's counters have not moved yet: keep collecting charged energy for the next split.
        return _Energy(
            state=replace(references, split_charged_energy=state.split_charged_energy), charged_wh=total
        )

    grid_part = max(0.0, meter.energy_consumption_grid - state.last_energy_consumption_grid)
    charged_since_split = _energy_increase(state.split_charged_energy, charged)
    from_grid = min(grid_part, charged_since_split)
    return _Energy(
        state=references,
        charged_wh=total,
        charged_pv_wh=charged_since_split - from_grid,
        charged_grid_wh=from_grid,
    )


# --- mode automation and priority ------------------------------------------------------------------


def _automate_mode(state: LawState, settings: ControllerSettings, wallbox: WallboxData) -> LawState:
    return _enter_mode_on_plug_in(_count_unplugged_time(state, settings, wallbox), settings, wallbox)


def _count_unplugged_time(state: LawState, settings: ControllerSettings, wallbox: WallboxData) -> LawState:
    unplugged = state.mode in PV_MODES and wallbox.error == 0 and wallbox.car_status == CarStatus.NoVehicle
    if not unplugged:
        return replace(state, unplug_timer=settings.unplug_off_delay)
    timer = state.unplug_timer - settings.cycle_time
    desired_mode = ChargeMode.OFF if timer <= 0 else state.desired_mode
    return replace(state, unplug_timer=timer, desired_mode=desired_mode)


def _enter_mode_on_plug_in(state: LawState, settings: ControllerSettings, wallbox: WallboxData) -> LawState:
    plug_in_mode = ChargeMode(settings.enable_charging_when_connecting_car)
    if (
        state.mode == ChargeMode.OFF
        and wallbox.wb_error == WbError.OK
        and wallbox.car_status == CarStatus.WaitingForVehicle
        and plug_in_mode != ChargeMode.OFF
    ):
        return replace(state, desired_mode=plug_in_mode)
    return state


def _effective_priority(desired: Priority, meter: MeterData, settings: ControllerSettings) -> Priority:
    if desired != Priority.AUTO:
        return desired
    if meter.soc_battery < settings.prio_auto_soc_threshold:
        return Priority.HOME_BATTERY
    return Priority.CAR


# --- phases ----------------------------------------------------------------------------------------


def _converge_phases(
    state: LawState,
    settings: ControllerSettings,
    meter: MeterData,
    wallbox: WallboxData,
    relay_enabled: bool,
) -> _Step | None:
    """The phase step; None when it does not act and the cycle goes on to charging."""
    if wallbox.error == 0 and wallbox.wb_error in PHASE_ERRORS:
        return _Step(state=state, commands=Commands(reset_wallbox=True))
    if not relay_enabled:
        return None
    available = -meter.power_grid + wallbox.power
    desired = _desired_phases(state, settings, available, wallbox.phases_in)
    if wallbox.wb_error != WbError.OK or desired == wallbox.phases_in:
        return None
    if wallbox.phases_out == 0:
        return _Step(state=state, commands=Commands(phases=desired))
    # The relay must not switch under load: stop now, switch in a later cycle once phases_out is 0.
    return _Step(
        state=replace(state, allow_charging_delay=0.0),
        commands=_changed_commands(wallbox, allow_charging=False),
    )


def _desired_phases(state: LawState, settings: ControllerSettings, available: float, phases_in: int) -> int:
    if state.phase_mode == PhaseMode.CHARGE_1P:
        return 1
    if state.phase_mode == PhaseMode.CHARGE_3P:
        return 3
    if state.desired_mode == ChargeMode.MAX:
        return 3
    if state.desired_mode not in PV_MODES:
        return phases_in
    if not settings.enable_auto_phase_switching:
        return 1
    thresholds = Thresholds.of(settings)
    if state.desired_mode == ChargeMode.PV_ONLY:
        to_three, stay_three = thresholds.pv_only_1_to_3, thresholds.pv_only_stay_3
    else:
        to_three, stay_three = thresholds.pv_all_1_to_3, thresholds.pv_all_stay_3
    # As in the original, anything but 1 phase (also 0, unknown) counts as "on 3 phases".
    threshold = to_three if phases_in == 1 else stay_three
    return 3 if available >= threshold else 1


# --- charging --------------------------------------------------------------------------------------


def _control_charging(
    state: LawState, settings: ControllerSettings, meter: MeterData, wallbox: WallboxData
) -> _Step:
    if state.desired_mode == ChargeMode.OFF:
        return _Step(
            state=replace(
                state, desired_mode=ChargeMode.MANUAL, mode=ChargeMode.OFF, allow_charging_delay=0.0
            ),
            commands=_changed_commands(wallbox, allow_charging=False),
        )
    if state.desired_mode == ChargeMode.MAX:
        return _Step(
            state=replace(
                state, desired_mode=ChargeMode.MANUAL, mode=ChargeMode.MAX, allow_charging_delay=0.0
            ),
            commands=_changed_commands(
                wallbox, max_current=settings.max_supported_current, allow_charging=True
            ),
        )
    if state.desired_mode == ChargeMode.MANUAL:
        mode = _manual_mode(wallbox, settings)
        return _Step(state=replace(state, mode=mode, allow_charging_delay=0.0), commands=Commands())
    return _control_pv_charging(state, settings, meter, wallbox)


def _manual_mode(wallbox: WallboxData, settings: ControllerSettings) -> ChargeMode:
    """The mode shown to users while the wallbox is left alone."""
    if not wallbox.allow_charging:
        return ChargeMode.OFF
    if wallbox.max_current == settings.max_supported_current:
        return ChargeMode.MAX
    return ChargeMode.MANUAL


def _control_pv_charging(
    state: LawState, settings: ControllerSettings, meter: MeterData, wallbox: WallboxData
) -> _Step:
    # A wallbox reporting no phases at all cannot charge; 1 only avoids dividing by zero.
    phases = wallbox.phases_out or wallbox.phases_in or 1
    available = _available_for_car(meter, wallbox, state.priority)
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
    return _Step(
        state=replace(state, mode=state.desired_mode, allow_charging_delay=delay),
        commands=_changed_commands(wallbox, max_current=current, allow_charging=allow_charging),
        allow_charging_wish=pending,
    )


def _available_for_car(meter: MeterData, wallbox: WallboxData, priority: Priority) -> float:
    available = -meter.power_grid + wallbox.power
    if priority == Priority.CAR:
        return available - meter.power_battery  # neither charge nor discharge the home battery
    if priority == Priority.HOME_BATTERY and meter.power_battery > 0:
        return available - meter.power_battery  # never discharge the home battery into the car
    return available


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
