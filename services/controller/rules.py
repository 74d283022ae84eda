"""Rules every strategy shares (docs/CONTROL.md): freshness, the stale stop, energy accounting, mode
automation, the SOC priority, thresholds, phase convergence and OFF / MAX / MANUAL. Pure."""

from __future__ import annotations

from dataclasses import dataclass, replace

from pvcontrol import energy
from pvcontrol.models import (
    CarStatus,
    ChargeMode,
    MeterData,
    PhaseMode,
    Priority,
    StateDocument,
    WallboxData,
    WbError,
)
from pvcontrol.plausibility import MAX_FUTURE_SKEW
from services.controller.model import Commands, CycleResult, LawInputs, LawState, Step
from services.controller.settings import ControllerSettings

PV_MODES = frozenset({ChargeMode.PV_ONLY, ChargeMode.PV_ALL})
PHASE_ERRORS = frozenset({WbError.PHASE, WbError.PHASE_RELAY_ERR})


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
class Energy:
    state: LawState
    charged_wh: float = 0.0
    charged_pv_wh: float = 0.0
    charged_grid_wh: float = 0.0


def changed_commands(
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


def is_fresh(reading: StateDocument | None, now: float, stale_after: float) -> bool:
    if reading is None:
        return False
    return now - reading.ts <= stale_after and reading.ts - now <= MAX_FUTURE_SKEW


def readings_fresh(inputs: LawInputs, stale_after: float) -> bool:
    return is_fresh(inputs.meter, inputs.now, stale_after) and is_fresh(
        inputs.wallbox, inputs.now, stale_after
    )


def stop_on_stale_data(state: LawState, inputs: LawInputs, stale_after: float) -> CycleResult:
    # Only a fresh wallbox reading tells reliably that charging is already off; otherwise send the stop.
    wallbox_known = is_fresh(inputs.wallbox, inputs.now, stale_after)
    commands = changed_commands(inputs.wallbox if wallbox_known else None, allow_charging=False)
    return CycleResult(state=replace(state, allow_charging_delay=0.0), commands=commands)


# --- energy accounting (the rules: pvcontrol/energy.py) ----------------------------------------------


def account_energy(state: LawState, meter: MeterData, wallbox: WallboxData) -> Energy:
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
        return Energy(state=references)

    total = energy.charged_increase(state.last_charged_energy, charged)
    if not wallbox.allow_charging:
        return Energy(state=references, charged_wh=total)
    if not energy.meter_counters_moved(state.last_energy_consumption, meter.energy_consumption):
        # The meter's counters have not moved yet: keep collecting charged energy for the next split.
        return Energy(
            state=replace(references, split_charged_energy=state.split_charged_energy), charged_wh=total
        )

    charged_since_split = energy.charged_increase(state.split_charged_energy, charged)
    grid_rise = meter.energy_consumption_grid - state.last_energy_consumption_grid
    pv, grid = energy.split_by_counters(charged_since_split, grid_rise)
    return Energy(state=references, charged_wh=total, charged_pv_wh=pv, charged_grid_wh=grid)


# --- mode automation and priority ------------------------------------------------------------------


def count_unplugged_time(
    state: LawState, settings: ControllerSettings, wallbox: WallboxData, elapsed: float
) -> LawState:
    """The unplug timer, counted down by `elapsed` s (the strategy says how much time a cycle is)."""
    unplugged = state.mode in PV_MODES and wallbox.error == 0 and wallbox.car_status == CarStatus.NoVehicle
    if not unplugged:
        return replace(state, unplug_timer=settings.unplug_off_delay)
    timer = state.unplug_timer - elapsed
    desired_mode = ChargeMode.OFF if timer <= 0 else state.desired_mode
    return replace(state, unplug_timer=timer, desired_mode=desired_mode)


def enter_mode_on_plug_in(state: LawState, settings: ControllerSettings, wallbox: WallboxData) -> LawState:
    plug_in_mode = ChargeMode(settings.enable_charging_when_connecting_car)
    if (
        state.mode == ChargeMode.OFF
        and wallbox.wb_error == WbError.OK
        and wallbox.car_status == CarStatus.WaitingForVehicle
        and plug_in_mode != ChargeMode.OFF
    ):
        return replace(state, desired_mode=plug_in_mode)
    return state


def priority_by_soc(desired: Priority, meter: MeterData, threshold: float) -> Priority:
    """Priority AUTO: the home battery first below `threshold` % SOC, else the car."""
    if desired != Priority.AUTO:
        return desired
    if meter.soc_battery < threshold:
        return Priority.HOME_BATTERY
    return Priority.CAR


def available_for_car(meter: MeterData, wallbox: WallboxData, priority: Priority) -> float:
    available = -meter.power_grid + wallbox.power
    if priority == Priority.CAR:
        return available - meter.power_battery  # neither charge nor discharge the home battery
    if priority == Priority.HOME_BATTERY and meter.power_battery > 0:
        return available - meter.power_battery  # never discharge the home battery into the car
    return available


# --- phases ----------------------------------------------------------------------------------------


def converge_phases(
    state: LawState,
    settings: ControllerSettings,
    meter: MeterData,
    wallbox: WallboxData,
    relay_enabled: bool,
) -> Step | None:
    """The phase step (after the phase-error reset); None when it does not act and the cycle goes on."""
    if not relay_enabled:
        return None
    available = -meter.power_grid + wallbox.power
    desired = _desired_phases(state, settings, available, wallbox.phases_in)
    if wallbox.wb_error != WbError.OK or desired == wallbox.phases_in:
        return None
    if wallbox.phases_out == 0:
        return Step(state=state, commands=Commands(phases=desired))
    # The relay must not switch under load: stop now, switch in a later cycle once phases_out is 0.
    return Step(
        state=replace(state, allow_charging_delay=0.0),
        commands=changed_commands(wallbox, allow_charging=False),
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


# --- OFF / MAX / MANUAL ----------------------------------------------------------------------------


def control_other_modes(state: LawState, settings: ControllerSettings, wallbox: WallboxData) -> Step:
    """Charging in OFF, MAX and MANUAL (any mode but a PV mode)."""
    if state.desired_mode == ChargeMode.OFF:
        return Step(
            state=replace(
                state, desired_mode=ChargeMode.MANUAL, mode=ChargeMode.OFF, allow_charging_delay=0.0
            ),
            commands=changed_commands(wallbox, allow_charging=False),
        )
    if state.desired_mode == ChargeMode.MAX:
        return Step(
            state=replace(
                state, desired_mode=ChargeMode.MANUAL, mode=ChargeMode.MAX, allow_charging_delay=0.0
            ),
            commands=changed_commands(
                wallbox, max_current=settings.max_supported_current, allow_charging=True
            ),
        )
    mode = _manual_mode(wallbox, settings)
    return Step(state=replace(state, mode=mode, allow_charging_delay=0.0), commands=Commands())


def _manual_mode(wallbox: WallboxData, settings: ControllerSettings) -> ChargeMode:
    """The mode shown to users while the wallbox is left alone."""
    if not wallbox.allow_charging:
        return ChargeMode.OFF
    if wallbox.max_current == settings.max_supported_current:
        return ChargeMode.MAX
    return ChargeMode.MANUAL
