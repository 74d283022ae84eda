"""Table-driven tests of the pure control law against CONTROL.md (defaults: 230 V, 6..16 A, cycle 30 s)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import pytest

from pvcontrol.models import CarStatus, ChargeMode, MeterData, PhaseMode, Priority, WallboxData, WbError
from services.controller.law import (
    Commands,
    CycleResult,
    LawInputs,
    LawState,
    Thresholds,
    control_cycle,
    initial_state,
)
from services.controller.settings import ControllerSettings

NOW = 1_700_000_000.0
DEFAULTS = ControllerSettings()
NO_COMMANDS = Commands()

OFF, PV_ONLY, PV_ALL, MAX, MANUAL = (
    ChargeMode.OFF,
    ChargeMode.PV_ONLY,
    ChargeMode.PV_ALL,
    ChargeMode.MAX,
    ChargeMode.MANUAL,
)


# --- helpers ---------------------------------------------------------------------------------------


def meter(
    grid: float = 0.0,
    battery: float = 0.0,
    soc: float = 100.0,
    consumption: float = 0.0,
    consumption_grid: float = 0.0,
    ts: float = NOW,
) -> MeterData:
    return MeterData(
        ts=ts,
        power_grid=grid,
        power_battery=battery,
        soc_battery=soc,
        energy_consumption=consumption,
        energy_consumption_grid=consumption_grid,
    )


def wallbox(
    allow: bool = False,
    max_current: int = 16,
    phases_in: int = 1,
    phases_out: int = 0,
    power: float = 0.0,
    car: CarStatus | None = None,
    charged: float = 0.0,
    wb_error: WbError = WbError.OK,
    error: int = 0,
    ts: float = NOW,
) -> WallboxData:
    if car is None:
        car = CarStatus.Charging if allow else CarStatus.WaitingForVehicle
    return WallboxData(
        ts=ts,
        allow_charging=allow,
        max_current=max_current,
        phases_in=phases_in,
        phases_out=phases_out,
        power=power,
        car_status=car,
        charged_energy=charged,
        wb_error=wb_error,
        error=error,
    )


def charging(amps: int, phases: int = 1, charged: float = 0.0) -> WallboxData:
    """A wallbox charging at `amps` on `phases` phases (power = amps · 230 V · phases)."""
    return wallbox(
        allow=True,
        max_current=amps,
        phases_in=phases,
        phases_out=phases,
        power=amps * 230.0 * phases,
        charged=charged,
    )


def idle(phases: int = 1, max_current: int = 16) -> WallboxData:
    """A wallbox with a car plugged in that does not charge."""
    return wallbox(allow=False, max_current=max_current, phases_in=phases)


STEADY = 120.0  # allow-charging delay of a PV mode that has been running for a while


def pv_state(
    mode: ChargeMode = PV_ONLY,
    delay: float = 0.0,
    desired_mode: ChargeMode | None = None,
    desired_priority: Priority = Priority.CAR,
    phase_mode: PhaseMode = PhaseMode.AUTO,
    unplug_timer: float = 300.0,
) -> LawState:
    """`mode` running with priority CAR; delay 0 = just entered (first start/stop is immediate)."""
    return LawState(
        desired_mode=mode if desired_mode is None else desired_mode,
        mode=mode,
        phase_mode=phase_mode,
        desired_priority=desired_priority,
        priority=Priority.CAR,
        unplug_timer=unplug_timer,
        allow_charging_delay=delay,
    )


def cycle(
    state: LawState,
    wb: WallboxData | None,
    m: MeterData | None,
    settings: ControllerSettings = DEFAULTS,
    relay: bool = False,
    now: float = NOW,
) -> CycleResult:
    return control_cycle(state, settings, LawInputs(meter=m, wallbox=wb, relay_enabled=relay, now=now))


def run_cycles(
    state: LawState,
    wallboxes: Sequence[WallboxData],
    m: MeterData,
    settings: ControllerSettings = DEFAULTS,
) -> list[CycleResult]:
    """One cycle per wallbox reading, `cycle_time` apart; every reading is fresh at its cycle."""
    results = []
    for index, wb in enumerate(wallboxes):
        now = NOW + index * settings.cycle_time
        result = cycle(
            state,
            wb.model_copy(update={"ts": now}),
            m.model_copy(update={"ts": now}),
            settings=settings,
            now=now,
        )
        results.append(result)
        state = result.state
    return results


def with_references(
    state: LawState, charged: float, split: float, consumption: float, consumption_grid: float
) -> LawState:
    return replace(
        state,
        last_charged_energy=charged,
        split_charged_energy=split,
        last_energy_consumption=consumption,
        last_energy_consumption_grid=consumption_grid,
    )


# --- settings and thresholds -----------------------------------------------------------------------


def test_derived_thresholds_with_defaults() -> None:
    assert Thresholds.of(DEFAULTS) == Thresholds(
        pv_only_on=1580,
        pv_only_1_to_3=4340,
        pv_only_stay_3=4140,
        pv_all_on=500,
        pv_all_off=300,
        pv_all_1_to_3=3680,
        pv_all_stay_3=3480,
    )


def test_pv_all_off_threshold_never_below_100() -> None:
    settings = ControllerSettings(pv_all_min_power=250)
    assert Thresholds.of(settings).pv_all_off == 100


def test_initial_state_matches_control_md() -> None:
    state = initial_state(ControllerSettings(unplug_off_delay=60))
    assert (state.desired_mode, state.mode, state.phase_mode) == (OFF, OFF, PhaseMode.AUTO)
    assert (state.desired_priority, state.priority) == (Priority.AUTO, Priority.AUTO)
    assert state.unplug_timer == 60
    assert state.allow_charging_delay == 0
    assert state.last_charged_energy is None


# --- worked examples of CONTROL.md -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "wb", "m", "cycles", "earlier", "last"),
    [
        pytest.param(
            pv_state(PV_ONLY, STEADY),
            idle(max_current=16),
            meter(grid=-1500),
            4,
            Commands(max_current=6),
            Commands(max_current=6),
            id="pv_only-idle-export_1500-no_start-current_6",
        ),
        pytest.param(
            pv_state(PV_ONLY, STEADY),
            idle(max_current=6),
            meter(grid=-1600),
            4,
            Commands(max_current=7),
            Commands(max_current=7, allow_charging=True),
            id="pv_only-idle-export_1600-starts_at_7A_after_120s",
        ),
        pytest.param(
            pv_state(PV_ONLY, STEADY),
            charging(6),
            meter(grid=-300),
            1,
            NO_COMMANDS,
            Commands(max_current=7),
            id="pv_only-charging_6A-grid_-300-7A",
        ),
        pytest.param(
            pv_state(PV_ONLY, STEADY),
            charging(6),
            meter(grid=100),
            4,
            NO_COMMANDS,
            Commands(allow_charging=False),
            id="pv_only-charging_6A-grid_+100-stops_after_120s",
        ),
        pytest.param(
            pv_state(PV_ALL, STEADY),
            idle(max_current=6),
            meter(grid=-600),
            4,
            NO_COMMANDS,
            Commands(allow_charging=True),
            id="pv_all-idle-export_600-starts_at_6A_after_120s",
        ),
        pytest.param(
            pv_state(PV_ALL, STEADY),
            charging(6),
            meter(grid=1100),
            4,
            NO_COMMANDS,
            Commands(allow_charging=False),
            id="pv_all-charging_6A-grid_+1100-stops_after_120s",
        ),
    ],
)
def test_worked_examples(
    state: LawState,
    wb: WallboxData,
    m: MeterData,
    cycles: int,
    earlier: Commands,
    last: Commands,
) -> None:
    results = run_cycles(state, [wb] * cycles, m)
    assert [r.commands for r in results[:-1]] == [earlier] * (cycles - 1)
    assert results[-1].commands == last
    assert results[-1].state.mode == state.desired_mode


def test_worked_example_max() -> None:
    result = cycle(LawState(desired_mode=MAX), idle(max_current=6), meter())
    assert result.commands == Commands(max_current=16, allow_charging=True)
    assert (result.state.desired_mode, result.state.mode) == (MANUAL, MAX)


@pytest.mark.parametrize("mode", [PV_ONLY, PV_ALL])
def test_worked_example_unplugged_for_300s_turns_off(mode: ChargeMode) -> None:
    unplugged = wallbox(car=CarStatus.NoVehicle, max_current=6)
    results = run_cycles(pv_state(mode, STEADY), [unplugged] * 10, meter())
    assert [r.state.desired_mode for r in results[:9]] == [mode] * 9
    assert results[8].state.unplug_timer == 30
    # the 10th cycle sets desired_mode OFF, which the charging step of the same cycle applies
    assert (results[9].state.desired_mode, results[9].state.mode) == (MANUAL, OFF)
    assert results[9].commands == NO_COMMANDS


# --- PV_ONLY current: thresholds and formula --------------------------------------------------------


@pytest.mark.parametrize(
    ("wb", "grid", "expected"),
    [
        pytest.param(idle(), -1579, Commands(max_current=6), id="idle-1579-no_start"),
        pytest.param(idle(), -1580, Commands(max_current=6, allow_charging=True), id="idle-1580-start_6A"),
        pytest.param(idle(), -1610, Commands(max_current=7, allow_charging=True), id="idle-1610-start_7A"),
        pytest.param(charging(6), 0, NO_COMMANDS, id="charging-1380-keeps_6A"),
        # the formula keeps 6 A down to (6 - 0.1) * 230 = 1357 W, below Imin * V = 1380
        pytest.param(charging(6), 1, NO_COMMANDS, id="charging-1379-keeps_6A"),
        pytest.param(charging(6), 22, NO_COMMANDS, id="charging-1358-keeps_6A"),
        pytest.param(charging(6), 24, Commands(allow_charging=False), id="charging-1356-stops"),
        pytest.param(charging(6), -1200, Commands(max_current=11), id="charging-2580-11A"),
        # 11 A from (11 - 0.1) * 230 = 2507 W on
        pytest.param(charging(10), -205, NO_COMMANDS, id="charging-2505-10A"),
        pytest.param(charging(10), -208, Commands(max_current=11), id="charging-2508-11A"),
        pytest.param(charging(16), -1000, NO_COMMANDS, id="charging-4680-clamped_16A"),
        pytest.param(charging(6, 3), -1000, Commands(max_current=7), id="3p-charging-5140-7A"),
        pytest.param(charging(8, 3), 0, NO_COMMANDS, id="3p-charging-5520-8A"),
        pytest.param(charging(16, 3), -1000, NO_COMMANDS, id="3p-charging-12040-clamped_16A"),
        pytest.param(
            wallbox(allow=True, max_current=6, phases_in=3, phases_out=1, power=1380),
            -300,
            Commands(max_current=7),
            id="3p_in-car_uses_1p-1680-7A_by_phases_out",
        ),
        pytest.param(idle(3), -4000, Commands(max_current=6), id="3p-idle-4000-below_6A_no_start"),
        pytest.param(
            idle(3), -4200, Commands(max_current=6, allow_charging=True), id="3p-idle-4200-start_6A"
        ),
    ],
)
def test_pv_only_current(wb: WallboxData, grid: float, expected: Commands) -> None:
    result = cycle(pv_state(PV_ONLY), wb, meter(grid=grid))
    assert result.commands == expected
    assert result.state.mode == PV_ONLY


# --- PV_ALL current: thresholds and formula ---------------------------------------------------------


@pytest.mark.parametrize(
    ("wb", "grid", "expected"),
    [
        pytest.param(idle(), -499, Commands(max_current=6), id="idle-499-no_start"),
        pytest.param(idle(), -500, Commands(max_current=6, allow_charging=True), id="idle-500-start_6A"),
        pytest.param(charging(6), 1081, Commands(allow_charging=False), id="charging-299-stops"),
        pytest.param(charging(6), 1080, NO_COMMANDS, id="charging-300-keeps_6A"),
        pytest.param(charging(6), -20, NO_COMMANDS, id="charging-1400-6A"),
        pytest.param(charging(6), -25, Commands(max_current=7), id="charging-1405-rounds_up_to_7A"),
        pytest.param(charging(6), -300, Commands(max_current=8), id="charging-1680-8A"),
        pytest.param(charging(16), -500, NO_COMMANDS, id="charging-4180-clamped_16A"),
        pytest.param(charging(6, 3), 100, NO_COMMANDS, id="3p-charging-4040-6A"),
        pytest.param(charging(8, 3), -500, Commands(max_current=9), id="3p-charging-6020-9A"),
        pytest.param(charging(16, 3), -500, NO_COMMANDS, id="3p-charging-11540-clamped_16A"),
        pytest.param(
            idle(3), -600, Commands(max_current=6, allow_charging=True), id="3p-idle-600-start_raised_6A"
        ),
    ],
)
def test_pv_all_current(wb: WallboxData, grid: float, expected: Commands) -> None:
    result = cycle(pv_state(PV_ALL), wb, meter(grid=grid))
    assert result.commands == expected
    assert result.state.mode == PV_ALL


# --- priority ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("desired", "soc", "battery", "expected_priority", "expected_current"),
    [
        pytest.param(Priority.CAR, 80, -460, Priority.CAR, 12, id="car-battery_charging-takes_it"),
        pytest.param(Priority.CAR, 80, 460, Priority.CAR, 8, id="car-battery_discharging-not_used"),
        pytest.param(Priority.HOME_BATTERY, 80, -460, Priority.HOME_BATTERY, 10, id="home-battery_charging"),
        pytest.param(Priority.HOME_BATTERY, 80, 460, Priority.HOME_BATTERY, 8, id="home-battery_discharging"),
        pytest.param(Priority.AUTO, 49, -460, Priority.HOME_BATTERY, 10, id="auto-soc_49-home_battery"),
        pytest.param(Priority.AUTO, 50, -460, Priority.CAR, 12, id="auto-soc_50-car"),
    ],
)
def test_priority_decides_what_the_home_battery_contributes(
    desired: Priority, soc: float, battery: float, expected_priority: Priority, expected_current: int
) -> None:
    state = pv_state(PV_ONLY, desired_priority=desired)
    # charging 10 A = 2300 W, grid 0: 2300 W before the battery correction
    result = cycle(state, charging(10), meter(soc=soc, battery=battery))
    assert result.state.priority == expected_priority
    assert result.state.desired_priority == desired
    expected = NO_COMMANDS if expected_current == 10 else Commands(max_current=expected_current)
    assert result.commands == expected


# --- mode automation: unplug timer ------------------------------------------------------------------


def test_unplug_timer_resets_when_the_car_returns() -> None:
    unplugged = wallbox(car=CarStatus.NoVehicle, max_current=6)
    plugged = idle(max_current=6)
    results = run_cycles(pv_state(PV_ONLY, STEADY), [unplugged] * 9 + [plugged] + [unplugged] * 9, meter())
    assert results[8].state.unplug_timer == 30
    assert results[9].state.unplug_timer == 300
    assert results[-1].state.unplug_timer == 30
    assert all(r.state.desired_mode == PV_ONLY for r in results)


@pytest.mark.parametrize(
    ("state", "wb", "expected_timer", "expected_desired"),
    [
        pytest.param(pv_state(PV_ONLY), wallbox(car=CarStatus.NoVehicle), 270, PV_ONLY, id="pv_only-counts"),
        pytest.param(
            pv_state(PV_ALL, unplug_timer=30),
            wallbox(car=CarStatus.NoVehicle),
            0,
            MANUAL,
            id="pv_all-expires",
        ),
        pytest.param(
            pv_state(PV_ONLY, unplug_timer=30),
            wallbox(car=CarStatus.NoVehicle, error=1),
            300,
            PV_ONLY,
            id="communication_error-resets",
        ),
        pytest.param(
            pv_state(PV_ONLY, unplug_timer=30),
            wallbox(car=CarStatus.ChargingFinished),
            300,
            PV_ONLY,
            id="car_present-resets",
        ),
        pytest.param(
            LawState(desired_mode=MANUAL, mode=MANUAL, unplug_timer=30),
            wallbox(allow=True, max_current=10, car=CarStatus.NoVehicle),
            300,
            MANUAL,
            id="manual-not_counted",
        ),
    ],
)
def test_unplug_timer(
    state: LawState, wb: WallboxData, expected_timer: float, expected_desired: ChargeMode
) -> None:
    result = cycle(state, wb, meter())
    assert result.state.unplug_timer == expected_timer
    assert result.state.desired_mode == expected_desired


def test_unplug_timer_uses_configured_delay_and_cycle_time() -> None:
    settings = ControllerSettings(unplug_off_delay=60, cycle_time=20)
    state = replace(initial_state(settings), desired_mode=PV_ONLY, mode=PV_ONLY)
    unplugged = wallbox(car=CarStatus.NoVehicle, max_current=6)
    results = run_cycles(state, [unplugged] * 3, meter(), settings=settings)
    assert [r.state.unplug_timer for r in results[:2]] == [40, 20]
    assert results[2].state.mode == OFF


# --- mode automation: plug-in -----------------------------------------------------------------------


OFF_STATE = LawState(desired_mode=MANUAL, mode=OFF, desired_priority=Priority.CAR)


@pytest.mark.parametrize(
    ("setting", "state", "wb", "expected_mode", "expected_commands"),
    [
        pytest.param(
            "PV_ONLY",
            OFF_STATE,
            idle(),
            PV_ONLY,
            Commands(max_current=8, allow_charging=True),
            id="pv_only-starts_in_same_cycle",
        ),
        pytest.param(
            "MAX",
            OFF_STATE,
            idle(max_current=6),
            MAX,
            Commands(max_current=16, allow_charging=True),
            id="max",
        ),
        pytest.param("OFF", OFF_STATE, idle(), OFF, NO_COMMANDS, id="setting_off-nothing"),
        pytest.param(
            "PV_ONLY", OFF_STATE, wallbox(car=CarStatus.NoVehicle), OFF, NO_COMMANDS, id="no_car-nothing"
        ),
        pytest.param(
            "PV_ONLY",
            OFF_STATE,
            wallbox(car=CarStatus.WaitingForVehicle, wb_error=WbError.RCCB),
            OFF,
            NO_COMMANDS,
            id="wallbox_error-nothing",
        ),
        pytest.param(
            "PV_ONLY",
            LawState(desired_mode=MANUAL, mode=MANUAL),
            wallbox(allow=True, max_current=10, car=CarStatus.WaitingForVehicle),
            MANUAL,
            NO_COMMANDS,
            id="mode_manual-nothing",
        ),
    ],
)
def test_plug_in_enters_configured_mode(
    setting: str, state: LawState, wb: WallboxData, expected_mode: ChargeMode, expected_commands: Commands
) -> None:
    settings = ControllerSettings.model_validate({"enable_charging_when_connecting_car": setting})
    # export 2000 W: PV_ONLY charges at floor(2000 / 230 + 0.1) = 8 A
    result = cycle(state, wb, meter(grid=-2000), settings=settings)
    assert result.state.mode == expected_mode
    assert result.commands == expected_commands


# --- OFF / MAX / MANUAL ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "wb", "expected_commands", "expected_desired", "expected_mode"),
    [
        pytest.param(
            pv_state(PV_ONLY, STEADY, desired_mode=OFF),
            charging(10),
            Commands(allow_charging=False),
            MANUAL,
            OFF,
            id="off-while_charging-stops_at_once",
        ),
        pytest.param(LawState(), idle(), NO_COMMANDS, MANUAL, OFF, id="off-while_idle-nothing"),
        pytest.param(
            pv_state(PV_ONLY, STEADY, desired_mode=MAX),
            charging(10),
            Commands(max_current=16),
            MANUAL,
            MAX,
            id="max-while_charging-16A",
        ),
        pytest.param(LawState(desired_mode=MAX), charging(16), NO_COMMANDS, MANUAL, MAX, id="max-already"),
        pytest.param(
            LawState(desired_mode=MANUAL, allow_charging_delay=STEADY),
            idle(max_current=16),
            NO_COMMANDS,
            MANUAL,
            OFF,
            id="manual-not_allowed-shows_off",
        ),
        pytest.param(
            LawState(desired_mode=MANUAL, allow_charging_delay=STEADY),
            charging(16),
            NO_COMMANDS,
            MANUAL,
            MAX,
            id="manual-16A-shows_max",
        ),
        pytest.param(
            LawState(desired_mode=MANUAL, allow_charging_delay=STEADY),
            charging(10),
            NO_COMMANDS,
            MANUAL,
            MANUAL,
            id="manual-10A-shows_manual",
        ),
    ],
)
def test_off_max_manual(
    state: LawState,
    wb: WallboxData,
    expected_commands: Commands,
    expected_desired: ChargeMode,
    expected_mode: ChargeMode,
) -> None:
    result = cycle(state, wb, meter(grid=-3000))
    assert result.commands == expected_commands
    assert (result.state.desired_mode, result.state.mode) == (expected_desired, expected_mode)
    assert result.state.allow_charging_delay == 0


def test_max_then_user_lowers_current_in_app() -> None:
    results = run_cycles(
        LawState(desired_mode=MAX), [idle(max_current=6), charging(16), charging(10)], meter()
    )
    assert [r.commands for r in results] == [
        Commands(max_current=16, allow_charging=True),
        NO_COMMANDS,
        NO_COMMANDS,
    ]
    assert [r.state.mode for r in results] == [MAX, MAX, MANUAL]
    assert [r.state.desired_mode for r in results] == [MANUAL] * 3


# --- allow-charging delay ---------------------------------------------------------------------------


def test_first_start_in_pv_mode_is_immediate_then_stop_must_persist_120s() -> None:
    start = cycle(pv_state(PV_ONLY), idle(max_current=6), meter(grid=-1600))
    assert start.commands == Commands(max_current=7, allow_charging=True)
    assert start.state.allow_charging_delay == 120

    # charging 7 A = 1610 W, grid +300 W: 1310 W -> 5 A -> wish stop
    results = run_cycles(start.state, [charging(7)] * 4, meter(grid=300))
    assert [r.commands for r in results] == [Commands(max_current=6)] * 3 + [
        Commands(max_current=6, allow_charging=False)
    ]
    assert [r.state.allow_charging_delay for r in results] == [90, 60, 30, 120]
    assert [r.allow_charging_wish for r in results] == [False, False, False, None]


def test_wish_that_does_not_persist_restarts_the_delay() -> None:
    stop_wish = (charging(6), meter(grid=100))
    keep = (charging(6), meter(grid=0))
    state = pv_state(PV_ONLY, STEADY)
    commands = []
    for wb, m in [stop_wish, stop_wish, keep, stop_wish, stop_wish, stop_wish, stop_wish]:
        result = cycle(state, wb, m)
        commands.append(result.commands.allow_charging)
        state = result.state
    assert commands == [None] * 6 + [False]


def test_delay_with_fractional_cycle_time() -> None:
    settings = ControllerSettings(cycle_time=1)
    results = run_cycles(pv_state(PV_ONLY, STEADY), [charging(6)] * 120, meter(grid=100), settings=settings)
    assert all(r.commands.allow_charging is None for r in results[:119])
    assert results[119].commands.allow_charging is False


def test_manual_resets_the_delay_so_pv_starts_at_once() -> None:
    manual = cycle(LawState(desired_mode=MANUAL, allow_charging_delay=STEADY), idle(), meter())
    assert manual.state.allow_charging_delay == 0
    pv = cycle(
        replace(manual.state, desired_mode=PV_ONLY, desired_priority=Priority.CAR), idle(), meter(grid=-1600)
    )
    assert pv.commands == Commands(max_current=7, allow_charging=True)


# --- phases -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("desired_mode", "phase_mode", "wb", "grid", "expected_phases"),
    [
        pytest.param(PV_ONLY, PhaseMode.AUTO, idle(1), -4339, None, id="pv_only-1p-4339-stays_1"),
        pytest.param(PV_ONLY, PhaseMode.AUTO, idle(1), -4340, 3, id="pv_only-1p-4340-to_3"),
        pytest.param(PV_ONLY, PhaseMode.AUTO, idle(3), -4140, None, id="pv_only-3p-4140-stays_3"),
        pytest.param(PV_ONLY, PhaseMode.AUTO, idle(3), -4139, 1, id="pv_only-3p-4139-to_1"),
        pytest.param(PV_ALL, PhaseMode.AUTO, idle(1), -3679, None, id="pv_all-1p-3679-stays_1"),
        pytest.param(PV_ALL, PhaseMode.AUTO, idle(1), -3680, 3, id="pv_all-1p-3680-to_3"),
        pytest.param(PV_ALL, PhaseMode.AUTO, idle(3), -3480, None, id="pv_all-3p-3480-stays_3"),
        pytest.param(PV_ALL, PhaseMode.AUTO, idle(3), -3479, 1, id="pv_all-3p-3479-to_1"),
        pytest.param(PV_ONLY, PhaseMode.CHARGE_1P, idle(3), -8000, 1, id="charge_1p-pv_only"),
        pytest.param(PV_ONLY, PhaseMode.CHARGE_3P, idle(1), 0, 3, id="charge_3p-pv_only"),
        pytest.param(MANUAL, PhaseMode.CHARGE_3P, idle(1), 0, 3, id="charge_3p-manual"),
        pytest.param(MANUAL, PhaseMode.CHARGE_1P, idle(1), 0, None, id="charge_1p-already_1"),
        pytest.param(MAX, PhaseMode.AUTO, idle(1), 0, 3, id="auto-max-to_3"),
        pytest.param(OFF, PhaseMode.AUTO, idle(3), 0, None, id="auto-off-keeps_3"),
        pytest.param(OFF, PhaseMode.AUTO, idle(1), -8000, None, id="auto-off-keeps_1"),
        pytest.param(MANUAL, PhaseMode.AUTO, idle(1), -8000, None, id="auto-manual-keeps_1"),
    ],
)
def test_desired_phases(
    desired_mode: ChargeMode, phase_mode: PhaseMode, wb: WallboxData, grid: float, expected_phases: int | None
) -> None:
    state = pv_state(desired_mode, phase_mode=phase_mode)
    result = cycle(state, wb, meter(grid=grid), relay=True)
    assert result.commands.phases == expected_phases
    if expected_phases is not None:
        # switching the idle relay ends the cycle: nothing else is sent and the state keeps its modes
        assert result.commands == Commands(phases=expected_phases)
        assert (result.state.desired_mode, result.state.mode) == (desired_mode, desired_mode)


@pytest.mark.parametrize(
    ("desired_mode", "wb", "expected_phases"),
    [
        pytest.param(PV_ONLY, idle(1), None, id="pv_only-1p-stays_1"),
        pytest.param(PV_ONLY, idle(3), 1, id="pv_only-3p-to_1"),
        pytest.param(PV_ALL, idle(3), 1, id="pv_all-3p-to_1"),
        pytest.param(MAX, idle(1), 3, id="max-still_3"),
    ],
)
def test_auto_phase_switching_disabled_keeps_pv_modes_on_1_phase(
    desired_mode: ChargeMode, wb: WallboxData, expected_phases: int | None
) -> None:
    settings = ControllerSettings(enable_auto_phase_switching=False)
    result = cycle(pv_state(desired_mode), wb, meter(grid=-8000), settings=settings, relay=True)
    assert result.commands.phases == expected_phases


def test_phase_switch_while_charging_stops_first_without_delay() -> None:
    # charging 16 A on 1 phase (3680 W) and exporting 700 W: 4380 W >= 4340 W wants 3 phases
    result = cycle(pv_state(PV_ONLY, STEADY), charging(16), meter(grid=-700), relay=True)
    assert result.commands == Commands(allow_charging=False)
    assert result.state.allow_charging_delay == 0


def test_pv_only_switches_to_3_phases_and_back() -> None:
    state = pv_state(PV_ONLY, STEADY)
    steps = [
        # charging 16 A on 1 phase, exporting 700 W: 4380 W -> stop first
        (charging(16), meter(grid=-700), Commands(allow_charging=False)),
        # stopped: all 4380 W exported -> switch the relay
        (idle(1), meter(grid=-4380), Commands(phases=3)),
        # on 3 phases: floor(4380 / 230 / 3 + 0.1) = 6 A, started at once (the phase stop cleared the delay)
        (idle(3), meter(grid=-4380), Commands(max_current=6, allow_charging=True)),
        # 6 A on 3 phases = 4140 W, importing 2 W: 4138 W < 4140 W -> stop, then back to 1 phase
        (charging(6, 3), meter(grid=2), Commands(allow_charging=False)),
        (idle(3), meter(grid=-4138), Commands(phases=1)),
    ]
    for wb, m, expected in steps:
        result = cycle(state, wb, m, relay=True)
        assert result.commands == expected
        state = result.state


@pytest.mark.parametrize(
    ("wb", "expected"),
    [
        pytest.param(
            idle(1, max_current=6), Commands(max_current=16, allow_charging=True), id="idle-charges_on_1p"
        ),
        pytest.param(charging(16), NO_COMMANDS, id="charging-keeps_1p"),
    ],
)
def test_relay_disabled_never_switches_phases(wb: WallboxData, expected: Commands) -> None:
    result = cycle(pv_state(PV_ONLY, phase_mode=PhaseMode.CHARGE_3P), wb, meter(grid=-8000), relay=False)
    assert result.commands == expected


def test_no_phase_switch_with_wallbox_error() -> None:
    wb = wallbox(phases_in=1, max_current=6, wb_error=WbError.RCCB)
    result = cycle(pv_state(PV_ONLY), wb, meter(grid=-8000), relay=True)
    assert result.commands == Commands(max_current=16, allow_charging=True)


# --- wallbox errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize("wb_error", [WbError.PHASE, WbError.PHASE_RELAY_ERR])
@pytest.mark.parametrize(
    "state",
    [
        pytest.param(pv_state(PV_ONLY, STEADY), id="pv_only"),
        pytest.param(LawState(desired_mode=OFF), id="off"),
        pytest.param(LawState(desired_mode=MAX), id="max"),
    ],
)
@pytest.mark.parametrize("relay", [True, False], ids=["relay", "no_relay"])
def test_phase_error_resets_wallbox_and_nothing_else(state: LawState, wb_error: WbError, relay: bool) -> None:
    wb = wallbox(allow=True, max_current=10, phases_in=1, phases_out=1, power=2300, wb_error=wb_error)
    result = cycle(state, wb, meter(grid=-8000), relay=relay)
    assert result.commands == Commands(reset_wallbox=True)
    assert (result.state.desired_mode, result.state.mode) == (state.desired_mode, state.mode)
    assert result.state.allow_charging_delay == state.allow_charging_delay


def test_phase_error_with_communication_error_is_not_reset() -> None:
    wb = wallbox(allow=True, max_current=10, wb_error=WbError.PHASE, error=2)
    result = cycle(LawState(desired_mode=OFF), wb, meter())
    assert result.commands == Commands(allow_charging=False)


def test_communication_error_still_controls_pv_charging() -> None:
    wb = wallbox(allow=True, max_current=6, phases_in=1, phases_out=1, power=1380, error=3)
    result = cycle(pv_state(PV_ONLY), wb, meter(grid=-300))
    assert result.commands == Commands(max_current=7)


def test_communication_error_does_not_block_plug_in() -> None:
    # "no wallbox error" means wb_error OK; the communication error counter does not matter here
    settings = ControllerSettings(enable_charging_when_connecting_car="PV_ALL")
    wb = wallbox(car=CarStatus.WaitingForVehicle, error=1)
    result = cycle(OFF_STATE, wb, meter(grid=-600), settings=settings)
    assert result.state.mode == PV_ALL


# --- stale data -------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", [PV_ONLY, PV_ALL])
@pytest.mark.parametrize(
    ("m", "wb", "expected"),
    [
        pytest.param(None, charging(10), Commands(allow_charging=False), id="meter_missing"),
        pytest.param(meter(grid=-5000), None, Commands(allow_charging=False), id="wallbox_missing"),
        pytest.param(None, None, Commands(allow_charging=False), id="both_missing"),
        pytest.param(
            meter(grid=-5000, ts=NOW - 91), charging(10), Commands(allow_charging=False), id="meter_91s_old"
        ),
        pytest.param(
            meter(grid=-5000, ts=NOW + 6), charging(10), Commands(allow_charging=False), id="meter_6s_ahead"
        ),
        pytest.param(
            meter(grid=-5000),
            wallbox(allow=True, ts=NOW - 91),
            Commands(allow_charging=False),
            id="wallbox_91s_old",
        ),
        pytest.param(
            meter(grid=-5000),
            wallbox(allow=True, ts=NOW + 6),
            Commands(allow_charging=False),
            id="wallbox_6s_ahead",
        ),
        # a stale wallbox reading cannot tell that charging is off: the stop is sent anyway
        pytest.param(
            meter(grid=-5000),
            idle(1).model_copy(update={"ts": NOW - 91}),
            Commands(allow_charging=False),
            id="stale_idle_wallbox",
        ),
        pytest.param(
            meter(grid=-5000, ts=NOW - 91), idle(1), NO_COMMANDS, id="stale_meter-fresh_idle_wallbox"
        ),
    ],
)
def test_stale_data_stops_pv_charging(
    mode: ChargeMode, m: MeterData | None, wb: WallboxData | None, expected: Commands
) -> None:
    state = with_references(pv_state(mode, STEADY), 100, 100, 1000, 500)
    result = cycle(state, wb, m, relay=True)
    assert result.commands == expected
    assert result.state == replace(state, allow_charging_delay=0)
    assert result.charged_wh == 0


@pytest.mark.parametrize(
    ("m", "wb"),
    [
        pytest.param(meter(grid=-1600, ts=NOW - 90), idle(), id="meter_90s_old"),
        pytest.param(meter(grid=-1600, ts=NOW + 5), idle(), id="meter_5s_ahead"),
        pytest.param(meter(grid=-1600), idle().model_copy(update={"ts": NOW - 90}), id="wallbox_90s_old"),
        pytest.param(meter(grid=-1600), idle().model_copy(update={"ts": NOW + 5}), id="wallbox_5s_ahead"),
    ],
)
def test_readings_at_the_stale_limit_are_fresh(m: MeterData, wb: WallboxData) -> None:
    result = cycle(pv_state(PV_ONLY), wb, m)
    assert result.commands == Commands(max_current=7, allow_charging=True)


def test_plug_in_to_a_pv_mode_with_a_stale_meter_does_not_start_charging() -> None:
    settings = ControllerSettings.model_validate({"enable_charging_when_connecting_car": "PV_ONLY"})
    plugged_in = wallbox(car=CarStatus.WaitingForVehicle, max_current=6)
    result = cycle(LawState(desired_mode=MANUAL), plugged_in, meter(grid=-5000, ts=NOW - 91), settings)
    assert result.state.desired_mode == PV_ONLY
    assert result.commands == NO_COMMANDS  # the fresh wallbox reading shows charging is already off
    resumed = cycle(result.state, plugged_in, meter(grid=-5000, ts=NOW + 30), settings, now=NOW + 30)
    assert resumed.commands.allow_charging is True


def test_pv_resumes_at_once_when_fresh_data_returns() -> None:
    stale = cycle(pv_state(PV_ONLY, STEADY), charging(10), None)
    assert stale.commands == Commands(allow_charging=False)
    resumed = cycle(stale.state, idle(max_current=10), meter(grid=-1600), now=NOW + 30)
    assert resumed.commands == Commands(max_current=7, allow_charging=True)


@pytest.mark.parametrize(
    ("state", "wb", "m", "expected_commands", "expected_mode"),
    [
        pytest.param(
            LawState(desired_mode=MAX),
            idle(max_current=6),
            meter(ts=NOW - 1000),
            Commands(max_current=16, allow_charging=True),
            MAX,
            id="max-stale_meter",
        ),
        pytest.param(
            LawState(desired_mode=OFF),
            charging(10).model_copy(update={"ts": NOW - 1000}),
            meter(),
            Commands(allow_charging=False),
            OFF,
            id="off-stale_wallbox",
        ),
        pytest.param(
            LawState(desired_mode=MANUAL),
            charging(16).model_copy(update={"ts": NOW - 1000}),
            meter(ts=NOW - 1000),
            NO_COMMANDS,
            MAX,
            id="manual-stale_both",
        ),
        # documented choice: with a reading never received, OFF/MAX/MANUAL wait and do nothing
        pytest.param(
            LawState(desired_mode=MAX), idle(max_current=6), None, NO_COMMANDS, OFF, id="max-meter_missing"
        ),
        pytest.param(LawState(desired_mode=OFF), None, meter(), NO_COMMANDS, OFF, id="off-wallbox_missing"),
    ],
)
def test_stale_data_does_not_affect_off_max_manual(
    state: LawState,
    wb: WallboxData | None,
    m: MeterData | None,
    expected_commands: Commands,
    expected_mode: ChargeMode,
) -> None:
    result = cycle(state, wb, m)
    assert result.commands == expected_commands
    assert result.state.mode == expected_mode


# --- energy accounting ------------------------------------------------------------------------------


def test_first_cycle_only_sets_the_references() -> None:
    result = cycle(LawState(), charging(6, charged=1234), meter(consumption=5000, consumption_grid=3000))
    assert (result.charged_wh, result.charged_pv_wh, result.charged_grid_wh) == (0, 0, 0)
    assert result.state.last_charged_energy == 1234
    assert result.state.split_charged_energy == 1234
    assert result.state.last_energy_consumption == 5000
    assert result.state.last_energy_consumption_grid == 3000


@pytest.mark.parametrize(
    ("previous", "current", "expected"),
    [
        pytest.param(1000, 1250, 250, id="increase"),
        pytest.param(1000, 1000, 0, id="unchanged"),
        pytest.param(1000, 999.5, 0, id="small_drop-never_negative"),
        pytest.param(1000, 999, 0, id="drop_1Wh-not_a_reset"),
        pytest.param(1000, 998, 998, id="drop_2Wh-session_reset"),
        pytest.param(5000, 200, 200, id="session_reset-adds_new_value"),
        pytest.param(5000, 0, 0, id="session_reset_to_0"),
    ],
)
def test_total_charged_energy(previous: float, current: float, expected: float) -> None:
    state = with_references(LawState(), previous, previous, 1000, 500)
    wb = wallbox(charged=current)  # not charging: no split
    result = cycle(state, wb, meter(consumption=1000, consumption_grid=500))
    assert result.charged_wh == expected
    assert result.state.last_charged_energy == current


@pytest.mark.parametrize(
    ("split", "charged", "consumption_rise", "grid_rise", "expected_pv", "expected_grid", "expected_split"),
    [
        pytest.param(1000, 1400, 500, 100, 300, 100, 1400, id="meter_update-split"),
        pytest.param(1000, 1400, 500, 1000, 0, 400, 1400, id="grid_part_above_charged-all_grid"),
        pytest.param(1000, 1400, 500, 0, 400, 0, 1400, id="no_grid_rise-all_pv"),
        pytest.param(1000, 1400, 500, -50, 400, 0, 1400, id="grid_counter_drop-all_pv"),
        pytest.param(1000, 1400, 1, 100, 0, 0, 1000, id="rise_1Wh-no_meter_update-no_split"),
        pytest.param(1000, 1400, 0.5, 100, 0, 0, 1000, id="no_meter_update-no_split"),
        pytest.param(5000, 300, 500, 100, 200, 100, 300, id="session_reset-counts_new_value"),
        pytest.param(1000, 998, 500, 100, 898, 100, 998, id="drop_2Wh-session_reset"),
        pytest.param(1000, 999.5, 500, 100, 0, 0, 999.5, id="small_drop-nothing_negative"),
    ],
)
def test_pv_grid_split_while_charging(
    split: float,
    charged: float,
    consumption_rise: float,
    grid_rise: float,
    expected_pv: float,
    expected_grid: float,
    expected_split: float,
) -> None:
    state = with_references(pv_state(PV_ONLY, STEADY), charged, split, 10_000, 4_000)
    m = meter(grid=-1400, consumption=10_000 + consumption_rise, consumption_grid=4_000 + grid_rise)
    result = cycle(state, charging(6, charged=charged), m)
    assert (result.charged_pv_wh, result.charged_grid_wh) == (expected_pv, expected_grid)
    assert result.state.split_charged_energy == expected_split
    assert result.state.last_energy_consumption == 10_000 + consumption_rise
    assert result.state.last_energy_consumption_grid == 4_000 + grid_rise


def test_split_collects_charged_energy_until_the_meter_counters_jump() -> None:
    state = with_references(pv_state(PV_ONLY, STEADY), 1000, 1000, 10_000, 4_000)
    flat = meter(grid=-1400, consumption=10_000, consumption_grid=4_000)
    jumped = meter(grid=-1400, consumption=11_000, consumption_grid=4_150)
    results = []
    for charged, m in [(1100, flat), (1200, flat), (1300, flat), (1400, jumped)]:
        result = cycle(state, charging(6, charged=charged), m)
        results.append(result)
        state = result.state
    assert [r.charged_wh for r in results] == [100, 100, 100, 100]
    assert [(r.charged_pv_wh, r.charged_grid_wh) for r in results] == [(0, 0)] * 3 + [(250, 150)]
    assert sum(r.charged_pv_wh + r.charged_grid_wh for r in results) == sum(r.charged_wh for r in results)


def test_split_reference_follows_when_not_charging() -> None:
    state = with_references(pv_state(PV_ONLY, STEADY), 1000, 900, 10_000, 4_000)
    m = meter(grid=0, consumption=10_500, consumption_grid=4_500)
    result = cycle(state, wallbox(allow=False, max_current=6, charged=1050), m)
    assert result.charged_wh == 50
    assert (result.charged_pv_wh, result.charged_grid_wh) == (0, 0)
    assert result.state.split_charged_energy == 1050
    assert result.state.last_energy_consumption == 10_500
