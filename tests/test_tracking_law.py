"""Table-driven tests of the tracking strategy (docs/CONTROL.md "Tracking strategy").

Defaults: 230 V, 6..16 A, start delay 60 s, PV_ONLY grid limit 10 s, PV_ALL stop delay 90 s, tolerance
100 W, phases up after 120 s / down after 60 s, dwell 600 s, 10 switches per 24 h. Readings every 5 s.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import pytest

from pvcontrol.models import CarStatus, ChargeMode, MeterData, PhaseMode, Priority, WallboxData
from services.controller import law
from services.controller.law import Commands, CycleResult, LawInputs, LawState
from services.controller.settings import ControllerSettings
from services.controller.tracking import TrackingState, as_tracking_state, control_cycle, initial_state

NOW = 1_700_000_000.0
DEFAULTS = ControllerSettings(strategy="tracking")
NONE = Commands()
PV_ONLY, PV_ALL = ChargeMode.PV_ONLY, ChargeMode.PV_ALL


def meter(grid: float = 0.0, battery: float = 0.0, soc: float = 0.0) -> MeterData:
    return MeterData(ts=NOW, power_grid=grid, power_battery=battery, soc_battery=soc)


def idle(phases: int = 1, max_current: int = 6, power: float = 0.0) -> WallboxData:
    return WallboxData(
        ts=NOW,
        car_status=CarStatus.WaitingForVehicle,
        allow_charging=False,
        max_current=max_current,
        phases_in=phases,
        phases_out=phases if power > 0 else 0,
        power=power,
    )


def charging(amps: int, phases: int = 1) -> WallboxData:
    return WallboxData(
        ts=NOW,
        car_status=CarStatus.Charging,
        allow_charging=True,
        max_current=amps,
        phases_in=phases,
        phases_out=phases,
        power=amps * 230.0 * phases,
    )


def pv(
    mode: ChargeMode = PV_ONLY,
    priority: Priority = Priority.CAR,
    phase_mode: PhaseMode = PhaseMode.AUTO,
    **timers: object,
) -> TrackingState:
    state = replace(initial_state(DEFAULTS), desired_mode=mode, mode=mode, phase_mode=phase_mode)
    return replace(state, desired_priority=priority, **timers)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Reading:
    """One reading `at` s after the first; the wallbox is what it reports then."""

    at: float
    wallbox: WallboxData
    meter: MeterData


def run(
    state: LawState,
    readings: Sequence[Reading],
    settings: ControllerSettings = DEFAULTS,
    relay: bool = True,
) -> list[CycleResult]:
    results = []
    for r in readings:
        now = NOW + r.at
        inputs = LawInputs(
            meter=r.meter.model_copy(update={"ts": now}),
            wallbox=r.wallbox.model_copy(update={"ts": now}),
            relay_enabled=relay,
            now=now,
        )
        result = control_cycle(state, settings, inputs)
        results.append(result)
        state = result.state
    return results


def steady(wb: WallboxData, m: MeterData, seconds: float, every: float = 5.0) -> list[Reading]:
    """The same reading every `every` s from 0 to `seconds` inclusive."""
    return [Reading(i * every, wb, m) for i in range(int(seconds / every) + 1)]


# --- start, stop, current ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "readings", "before", "last"),
    [
        pytest.param(
            pv(),
            steady(idle(), meter(grid=-1400), 120),
            NONE,
            NONE,
            id="pv_only-idle-export_1400-below_1480-never_starts",
        ),
        pytest.param(
            pv(),
            steady(idle(), meter(grid=-1600), 40),
            NONE,
            NONE,
            id="pv_only-idle-export_1600_for_40s-not_yet",
        ),
        pytest.param(
            pv(),
            steady(idle(), meter(grid=-1600), 45),
            NONE,
            Commands(allow_charging=True),
            id="pv_only-idle-export_1600_for_45s-starts_at_6A",
        ),
        pytest.param(
            pv(),
            steady(idle(max_current=16), meter(grid=-2100), 45),
            NONE,
            Commands(max_current=9, allow_charging=True),
            id="pv_only-idle-export_2100_for_45s-starts_at_9A",
        ),
        pytest.param(
            pv(),
            steady(charging(6), meter(grid=-300), 0),
            NONE,
            NONE,
            id="pv_only-6A-export_300-inside_tolerance-no_command",
        ),
        pytest.param(
            pv(),
            steady(charging(6), meter(grid=-350), 0),
            NONE,
            Commands(max_current=7),
            id="pv_only-6A-export_350-7A_at_once",
        ),
        pytest.param(
            pv(),
            steady(charging(8), meter(grid=100), 0),
            NONE,
            Commands(max_current=7),
            id="pv_only-8A-import_100-7A_at_once",
        ),
        pytest.param(
            pv(),
            steady(charging(6), meter(grid=100), 5),
            NONE,
            NONE,
            id="pv_only-6A-import_100_for_5s-keeps_charging",
        ),
        pytest.param(
            pv(),
            steady(charging(6), meter(grid=100), 10),
            NONE,
            Commands(allow_charging=False),
            id="pv_only-6A-import_100_for_10s-stops",
        ),
        pytest.param(
            pv(),
            [
                Reading(0, charging(6), meter(grid=100)),
                Reading(5, charging(6), meter(grid=-10)),
                Reading(10, charging(6), meter(grid=100)),
                Reading(15, charging(6), meter(grid=100)),
            ],
            NONE,
            NONE,
            id="pv_only-6A-import_interrupted_at_5s-timer_restarts_at_10s-no_stop_at_15s",
        ),
        pytest.param(
            pv(),
            steady(charging(6), meter(grid=0, battery=200), 10),
            NONE,
            Commands(allow_charging=False),
            id="pv_only-6A-battery_discharging_200-is_a_deficit-stops_after_10s",
        ),
        pytest.param(
            pv(PV_ALL),
            steady(idle(), meter(grid=-600), 45),
            NONE,
            Commands(allow_charging=True),
            id="pv_all-idle-export_600_for_45s-starts_at_6A",
        ),
        pytest.param(
            pv(PV_ALL),
            steady(charging(6), meter(grid=1000), 90),
            NONE,
            NONE,
            id="pv_all-6A-import_1000-surplus_380_above_300-keeps_charging",
        ),
        pytest.param(
            pv(PV_ALL),
            steady(charging(6), meter(grid=1100), 85),
            NONE,
            NONE,
            id="pv_all-6A-import_1100_for_85s-not_yet",
        ),
        pytest.param(
            pv(PV_ALL),
            steady(charging(6), meter(grid=1100), 90),
            NONE,
            Commands(allow_charging=False),
            id="pv_all-6A-import_1100_for_90s-stops",
        ),
        pytest.param(
            pv(PV_ALL),
            steady(charging(6), meter(grid=-300), 0),
            NONE,
            Commands(max_current=7),
            id="pv_all-6A-export_300-surplus_7.3A-rounds_to_7A",
        ),
        pytest.param(
            pv(PV_ALL),
            steady(charging(8), meter(grid=200), 0),
            NONE,
            Commands(max_current=7),
            id="pv_all-8A-import_200-surplus_7.1A-7A",
        ),
        pytest.param(
            pv(),
            steady(idle(), meter(battery=-1600, soc=80), 115),
            NONE,
            NONE,
            id="pv_only-idle-battery_takes_1600-no_export-115s-absorbed_start_delay_120s_not_yet",
        ),
        pytest.param(
            pv(),
            steady(idle(), meter(battery=-1600, soc=80), 120),
            NONE,
            Commands(allow_charging=True),
            id="pv_only-idle-battery_takes_1600-no_export-starts_at_6A_after_120s",
        ),
        pytest.param(
            pv(PV_ALL),
            steady(charging(8), meter(grid=150), 0),
            NONE,
            NONE,
            id="pv_all-8A-import_150-surplus_7.35A-rounds_up_from_a_quarter-stays_8A",
        ),
        pytest.param(
            pv(PV_ALL),
            steady(charging(6, phases=3), meter(grid=3000), 15),
            NONE,
            NONE,
            id="pv_all-6A_3p-import_3000-12.5Wh_of_13.5Wh_budget_at_15s-keeps_charging",
        ),
        pytest.param(
            pv(PV_ALL),
            steady(charging(6, phases=3), meter(grid=3000), 20),
            NONE,
            Commands(allow_charging=False),
            id="pv_all-6A_3p-import_3000-budget_13.5Wh_spent_at_20s-stops",
        ),
        pytest.param(
            pv(PV_ALL),
            steady(charging(6, phases=3), meter(grid=1140), 45),
            NONE,
            Commands(allow_charging=False),
            id="pv_all-6A_3p-surplus_3000_below_3060-budget_spent_at_45s-stops",
        ),
    ],
)
def test_start_stop_current(
    state: TrackingState, readings: list[Reading], before: Commands, last: Commands
) -> None:
    results = run(state, readings, relay=False)
    assert [r.commands for r in results[:-1]] == [before] * (len(results) - 1)
    assert results[-1].commands == last


@pytest.mark.parametrize(
    ("priority", "battery", "soc", "expected"),
    [
        pytest.param(Priority.CAR, -1000.0, 80.0, 12, id="car-battery_charging_1000-surplus_2980-12A"),
        pytest.param(
            Priority.HOME_BATTERY, -1000.0, 80.0, 8, id="home_battery-charging_1000-surplus_1980-8A"
        ),
        pytest.param(Priority.AUTO, -1000.0, 60.0, 12, id="auto-soc_60-car-12A"),
        pytest.param(Priority.AUTO, -1000.0, 40.0, 8, id="auto-soc_40-home_battery-8A"),
        pytest.param(Priority.CAR, 200.0, 80.0, 7, id="car-discharging_200-surplus_1780-7A"),
        pytest.param(
            Priority.HOME_BATTERY, 200.0, 80.0, 7, id="home_battery-discharging_200-surplus_1780-7A"
        ),
    ],
)
def test_priority_decides_whether_the_battery_charge_counts(
    priority: Priority, battery: float, soc: float, expected: int
) -> None:
    # 6 A on 1 phase (1380 W) with 600 W export: 1980 W plus the battery's charge, or less its discharge;
    # a step up needs the tolerance (100 W) on top.
    wb, m = charging(6), meter(grid=-600, battery=battery, soc=soc)
    (result,) = run(pv(priority=priority), [Reading(0, wb, m)], relay=False)
    assert result.commands == Commands(max_current=expected)


def test_pv_all_with_auto_priority_gives_the_home_battery_its_charge_first() -> None:
    wb, m = idle(), meter(grid=-400, battery=-2000, soc=90)
    results = run(pv(PV_ALL, priority=Priority.AUTO), steady(wb, m, 120), relay=False)
    assert all(r.commands == NONE for r in results)
    assert results[-1].state.priority == Priority.HOME_BATTERY


# --- phases ------------------------------------------------------------------------------------


def test_pv_only_goes_to_3_phases_after_120s_stopping_first_then_switching_idle() -> None:
    # 16 A on 1 phase (3680 W) and 700 W export: 4380 W >= 3 * 1380 + 100.
    charging_1p = run(pv(), steady(charging(16), meter(grid=-700), 120))
    assert [r.commands for r in charging_1p[:-1]] == [NONE] * 24
    assert charging_1p[-1].commands == Commands(allow_charging=False)
    state = charging_1p[-1].state
    (switch,) = run(state, [Reading(125, idle(max_current=16), meter(grid=-4380))])
    assert switch.commands == Commands(phases=3)
    (start,) = run(switch.state, [Reading(130, idle(phases=3, max_current=16), meter(grid=-4380))])
    assert start.commands == Commands(max_current=6, allow_charging=True)  # floor(4380 / 690) = 6


@pytest.mark.parametrize(
    ("relay_after", "expected_start"),
    [
        pytest.param(
            15.0, Commands(max_current=6, allow_charging=True), id="relay_switched_after_15s-starts_on_3"
        ),
        pytest.param(None, Commands(allow_charging=True), id="relay_refused-60s-starts_on_1_at_16A_as_set"),
    ],
)
def test_a_start_waits_for_the_relay_to_switch_the_phases_it_commanded(
    relay_after: float | None, expected_start: Commands
) -> None:
    # Idle on 1 phase, 4380 W surplus for 60 s: the relay is told to switch to 3 phases. A relay waits
    # for the wallbox to settle idle (15 s by default) before it switches: meanwhile no start on 1 phase,
    # which would make the relay refuse the switch for the load.
    surplus = meter(grid=-4380)
    (switch,) = run(pv(start_since=NOW), [Reading(60, idle(max_current=16), surplus)])
    assert switch.commands == Commands(phases=3)
    still_1p = [Reading(60 + t, idle(max_current=16), surplus) for t in range(5, 60, 5)]
    if relay_after is not None:
        still_1p = [r for r in still_1p if r.at < 60 + relay_after]
    waiting = run(switch.state, still_1p)
    assert [r.commands for r in waiting] == [NONE] * len(waiting)
    assert {r.reason for r in waiting} == {"waiting for the relay to switch to 3 phases"}
    phases_now = 3 if relay_after is not None else 1
    at = 60 + (relay_after if relay_after is not None else 60)
    (start,) = run(waiting[-1].state, [Reading(at, idle(phases=phases_now, max_current=16), surplus)])
    assert start.commands == expected_start


def test_no_3_phases_while_the_home_battery_takes_what_1_phase_leaves() -> None:
    # Priority CAR: the surplus counts the battery's 1000 W charge (4680 W), but nothing is exported.
    results = run(pv(), steady(charging(16), meter(grid=0, battery=-1000, soc=80), 600))
    assert all(r.commands == NONE for r in results)


@pytest.mark.parametrize(
    ("export", "battery", "expected"),
    [
        pytest.param(
            1500.0,
            -3000.0,
            Commands(max_current=16, allow_charging=True),
            id="idle-export_1500-battery_charging_3000-surplus_4500-1p_max_3680_takes_it-starts_on_1_phase",
        ),
        pytest.param(
            3800.0,
            -3000.0,
            Commands(phases=3),
            id="idle-export_3800-battery_charging_3000-120W_left_at_1p_max-switches_to_3_phases",
        ),
        pytest.param(4500.0, 0.0, Commands(phases=3), id="idle-export_4500-no_battery-switches_to_3_phases"),
    ],
)
def test_3_phases_only_for_what_1_phase_at_its_maximum_would_export(
    export: float, battery: float, expected: Commands
) -> None:
    state = pv(start_since=NOW - 60)
    (result,) = run(state, [Reading(0, idle(), meter(grid=-export, battery=battery, soc=80))])
    assert result.commands == expected


def test_3_phases_down_to_1_stops_within_the_grid_limit_and_restarts_on_1_phase() -> None:
    # 6 A on 3 phases (4140 W) with 1140 W import: 3000 W surplus, enough for 13 A on 1 phase.
    m = meter(grid=1140)
    charging_3p = run(pv(), steady(charging(6, phases=3), m, 10))
    assert [r.commands for r in charging_3p] == [NONE, NONE, Commands(allow_charging=False)]
    state = charging_3p[-1].state
    idle_3p = idle(phases=3)
    # The 3000 W surplus has lasted since 0 s: the relay switches when the start delay is over.
    waiting = run(state, [Reading(t, idle_3p, meter(grid=-3000)) for t in (15, 40, 45)])
    assert [r.commands for r in waiting] == [NONE, NONE, Commands(phases=1)]
    (start,) = run(waiting[-1].state, [Reading(50, idle(), meter(grid=-3000))])
    assert start.commands == Commands(max_current=13, allow_charging=True)


START_1P = Commands(max_current=16, allow_charging=True)


@pytest.mark.parametrize(
    ("switched_ago", "switches", "expected"),
    [
        pytest.param(300.0, 1, START_1P, id="switched_300s_ago-dwell_600-starts_on_1_phase"),
        pytest.param(600.0, 1, Commands(phases=3), id="switched_600s_ago-switches"),
        pytest.param(3600.0, 10, START_1P, id="10_switches_in_24h-cap_reached-starts_on_1_phase"),
        pytest.param(3600.0, 9, Commands(phases=3), id="9_switches_in_24h-switches"),
    ],
)
def test_relay_dwell_time_and_daily_cap(switched_ago: float, switches: int, expected: Commands) -> None:
    # 5000 W of surplus for a minute, idle on 1 phase: 3 phases if the relay may switch.
    times = tuple(NOW - switched_ago - 60.0 * (switches - 1 - i) for i in range(switches))
    state = pv(phase_switches=times, start_since=NOW - 60)
    (result,) = run(state, [Reading(0, idle(), meter(grid=-5000))])
    assert result.commands == expected


@pytest.mark.parametrize(
    ("phase_mode", "wb", "expected"),
    [
        pytest.param(
            PhaseMode.CHARGE_3P, idle(phases=1), Commands(phases=3), id="charge_3p-idle_on_1-switches"
        ),
        pytest.param(
            PhaseMode.CHARGE_3P,
            charging(6),
            Commands(allow_charging=False),
            id="charge_3p-charging_on_1-stops_first",
        ),
        pytest.param(
            PhaseMode.CHARGE_1P, idle(phases=3), Commands(phases=1), id="charge_1p-idle_on_3-switches"
        ),
        pytest.param(
            PhaseMode.AUTO,
            idle(phases=3, power=500),
            NONE,
            id="auto-not_allowed_but_still_drawing_500W-interlock-no_switch",
        ),
    ],
)
def test_fixed_phase_modes_and_the_interlock(
    phase_mode: PhaseMode, wb: WallboxData, expected: Commands
) -> None:
    state = pv(phase_mode=phase_mode, start_since=NOW - 60)
    (result,) = run(state, [Reading(0, wb, meter(grid=-2000 + wb.power))])
    assert result.commands == expected


def test_auto_phase_switching_disabled_keeps_1_phase() -> None:
    settings = DEFAULTS.model_copy(update={"enable_auto_phase_switching": False})
    results = run(pv(), steady(charging(16), meter(grid=-3000), 600), settings=settings)
    assert all(r.commands == NONE for r in results)


# --- shared with the original law ----------------------------------------------------------------


@pytest.mark.parametrize("desired", [ChargeMode.OFF, ChargeMode.MAX, ChargeMode.MANUAL])
@pytest.mark.parametrize("wb", [idle(), charging(10), idle(phases=3)], ids=["idle", "10A", "idle_3p"])
def test_off_max_manual_as_the_original(desired: ChargeMode, wb: WallboxData) -> None:
    state = replace(law.initial_state(DEFAULTS), desired_mode=desired)
    inputs = LawInputs(meter=meter(grid=-500), wallbox=wb, relay_enabled=True, now=NOW)
    ours = control_cycle(state, DEFAULTS, inputs)
    original = law.control_cycle(state, DEFAULTS, inputs)
    assert ours.commands == original.commands
    assert (ours.state.mode, ours.state.desired_mode) == (original.state.mode, original.state.desired_mode)


@pytest.mark.parametrize(
    ("meter_age", "wb", "expected"),
    [
        pytest.param(91.0, charging(8), Commands(allow_charging=False), id="meter_91s_old-charging-stops"),
        pytest.param(91.0, idle(), NONE, id="meter_91s_old-idle-nothing"),
        pytest.param(-6.0, charging(8), Commands(allow_charging=False), id="meter_6s_ahead-stops"),
    ],
)
def test_stale_readings_stop_pv_charging(meter_age: float, wb: WallboxData, expected: Commands) -> None:
    m = meter(grid=-5000).model_copy(update={"ts": NOW - meter_age})
    result = control_cycle(pv(), DEFAULTS, LawInputs(meter=m, wallbox=wb, relay_enabled=True, now=NOW))
    assert result.commands == expected
    assert result.reason == "stopped: waiting for fresh meter and wallbox readings"


def test_missing_meter_in_pv_mode_stops() -> None:
    inputs = LawInputs(meter=None, wallbox=charging(8), relay_enabled=False, now=NOW)
    assert control_cycle(pv(), DEFAULTS, inputs).commands == Commands(allow_charging=False)


def test_unplug_timer_counts_seconds_not_cycles() -> None:
    unplugged = idle().model_copy(update={"car_status": CarStatus.NoVehicle})
    results = run(pv(), steady(unplugged, meter(), 300))
    assert [r.state.mode for r in results[-2:]] == [PV_ONLY, ChargeMode.OFF]


@pytest.mark.parametrize(
    ("state", "readings", "reason"),
    [
        pytest.param(
            pv(),
            [Reading(0, idle(), meter(grid=-1100))],
            "surplus 1.1 kW is below 1.5 kW for 1 phase",
            id="below_start",
        ),
        pytest.param(pv(), steady(idle(), meter(grid=-1600), 25), "starting in 20 s", id="starting_in_20s"),
        pytest.param(
            pv(),
            steady(charging(16), meter(grid=-700), 75),
            "charging 16 A on 1 phase, surplus 4.4 kW; 3 phases in 45 s",
            id="3_phases_in_45s",
        ),
        pytest.param(
            pv(),
            [Reading(0, charging(6), meter(grid=100))],
            "stopping in 10 s: surplus 1.3 kW is below 1.4 kW",
            id="stopping_in_10s",
        ),
        pytest.param(
            pv(),
            steady(charging(6), meter(battery=800, soc=80), 60),
            "the home battery bridges the dip; stopping in 240 s: surplus 0.6 kW is below 1.4 kW",
            id="bridging-stopping_in_240s",
        ),
        pytest.param(
            pv(),
            [
                *steady(charging(6), meter(battery=800, soc=80), 60),
                Reading(65, charging(6), meter(battery=-2000, soc=80)),
            ],
            "charging 6 A on 1 phase, surplus 1.4 kW; paying back 22 Wh to the home battery first",
            id="bridged_60s_at_6A-23Wh_lent-2000W_back_for_5s-paying_back_22Wh",
        ),
    ],
)
def test_reason(state: TrackingState, readings: list[Reading], reason: str) -> None:
    assert run(state, readings)[-1].reason == reason


def test_a_state_of_the_original_law_gets_idle_timers() -> None:
    original = replace(law.initial_state(DEFAULTS), desired_mode=PV_ONLY)
    state = as_tracking_state(original)
    assert state.desired_mode == PV_ONLY
    assert (state.start_since, state.deficit_since, state.phase_switches) == (None, None, ())
    assert as_tracking_state(state) is state


# --- PV_ONLY: a home battery bridges a dip, and is paid back first ----------------------------------


@pytest.mark.parametrize(
    ("soc", "grid", "seconds", "last"),
    [
        pytest.param(80.0, 0.0, 295, NONE, id="soc_80-battery_covers_800-295s-still_bridging"),
        pytest.param(
            80.0, 0.0, 300, Commands(allow_charging=False), id="soc_80-battery_covers_800-stops_at_300s"
        ),
        pytest.param(
            50.0, 0.0, 10, Commands(allow_charging=False), id="soc_50_below_55-no_bridge-stops_after_10s"
        ),
        pytest.param(
            80.0, 100.0, 10, Commands(allow_charging=False), id="soc_80-import_100-grid_stops_it_after_10s"
        ),
    ],
)
def test_pv_only_bridges_a_dip_from_a_full_enough_battery_never_from_the_grid(
    soc: float, grid: float, seconds: float, last: Commands
) -> None:
    # 6 A on 1 phase (1380 W); the battery gives 800 W of it: the surplus is 580 W.
    results = run(pv(), steady(charging(6), meter(grid=grid, battery=800, soc=soc), seconds), relay=False)
    assert [r.commands for r in results[:-1]] == [NONE] * (len(results) - 1)
    assert results[-1].commands == last


def test_after_a_bridged_dip_the_battery_is_paid_back_before_the_car_steps_up() -> None:
    # 60 s bridged at 6 A (1380 W): the car drew 23 Wh, and is owed for 120 s after (46 Wh more).
    dip = steady(charging(6), meter(battery=800, soc=80), 60)
    # The sun is back: the battery charges 2000 W. Priority CAR would give the car 3380 W (14 A).
    sun = [Reading(65 + 5 * i, charging(6), meter(battery=-2000, soc=80)) for i in range(36)]
    results = run(pv(), dip + sun, relay=False)
    paying_back = [r for r in results[len(dip) :] if as_tracking_state(r.state).lent_wh > 0]
    assert len(paying_back) > 5
    assert all(r.commands == NONE for r in paying_back)
    assert results[-1].commands == Commands(max_current=14)


@pytest.mark.parametrize(
    ("soc", "expected"),
    [
        pytest.param(98.0, Commands(max_current=7), id="soc_98-export_200-battery_lends_the_step-7A"),
        pytest.param(90.0, NONE, id="soc_90-export_200-inside_tolerance-no_command"),
        pytest.param(0.0, NONE, id="no_battery-export_200-inside_tolerance-no_command"),
    ],
)
def test_a_nearly_full_battery_lends_the_remainder_of_a_step(soc: float, expected: Commands) -> None:
    (result,) = run(pv(), [Reading(0, charging(6), meter(grid=-200, soc=soc))], relay=False)
    assert result.commands == expected


# --- PV_ONLY: a minimum solar share (tracking_min_solar_share) lets the grid give the rest ----------

SHARE_80 = DEFAULTS.model_copy(update={"tracking_min_solar_share": 0.8})


@pytest.mark.parametrize(
    ("settings", "grid", "battery", "seconds", "last"),
    [
        # 6 A on 1 phase draw 1380 W; the grid gives `grid` W of it, the sun the rest.
        pytest.param(SHARE_80, 180.0, 0.0, 600, NONE, id="share_80-sun_1200_of_1380_87pct-holds_600s"),
        pytest.param(
            SHARE_80,
            380.0,
            0.0,
            10,
            Commands(allow_charging=False),
            id="share_80-sun_1000_72pct-stops_at_10s",
        ),
        pytest.param(
            SHARE_80,
            0.0,
            180.0,
            10,
            Commands(allow_charging=False),
            id="share_80-battery_gives_180-never_the_battery-stops_at_10s",
        ),
        pytest.param(
            DEFAULTS,
            180.0,
            0.0,
            10,
            Commands(allow_charging=False),
            id="share_100_default-grid_180-stops_at_10s",
        ),
    ],
)
def test_pv_only_minimum_solar_share_lets_the_grid_give_the_rest_never_the_battery(
    settings: ControllerSettings, grid: float, battery: float, seconds: float, last: Commands
) -> None:
    readings = steady(charging(6), meter(grid=grid, battery=battery, soc=40), seconds)
    results = run(pv(), readings, settings, relay=False)
    assert [r.commands for r in results[:-1]] == [NONE] * (len(results) - 1)
    assert results[-1].commands == last


def test_the_reason_says_the_solar_share_while_the_grid_gives_the_rest() -> None:
    results = run(pv(), steady(charging(6), meter(grid=180.0), 5), SHARE_80, relay=False)
    assert results[-1].reason == "charging 6 A on 1 phase, surplus 1.2 kW (87% solar, at least 80% set)"


# --- PV_ALL with a home battery: fewer starts/stops (issue 16, item 6) -------------------------------


@pytest.mark.parametrize(
    ("soc", "grid", "lent", "seconds", "last"),
    [
        pytest.param(80.0, 0.0, 0.0, 295, NONE, id="soc_80-battery_covers_1200-295s-still_bridging"),
        pytest.param(
            80.0, 0.0, 0.0, 300, Commands(allow_charging=False), id="soc_80-battery_covers_1200-stops_at_300s"
        ),
        pytest.param(
            50.0, 0.0, 0.0, 90, Commands(allow_charging=False), id="soc_50_below_55-no_bridge-stops_after_90s"
        ),
        pytest.param(
            80.0,
            0.0,
            30.0,
            90,
            Commands(allow_charging=False),
            id="soc_80-still_owed_30Wh-no_bridge-stops_after_90s",
        ),
        pytest.param(99.6, 0.0, 30.0, 295, NONE, id="soc_99.6-full_again-loan_written_off-still_bridging"),
    ],
)
def test_pv_all_bridges_a_dip_from_the_battery_only_while_nothing_is_owed(
    soc: float, grid: float, lent: float, seconds: float, last: Commands
) -> None:
    # 6 A on 1 phase (1380 W); the battery gives 1200 W of it: the surplus is 180 W, below 300 W.
    state = pv(PV_ALL, Priority.HOME_BATTERY, lent_wh=lent, last_cycle=NOW - 5)
    results = run(state, steady(charging(6), meter(grid=grid, battery=1200, soc=soc), seconds), relay=False)
    assert [r.commands for r in results[:-1]] == [NONE] * (len(results) - 1)
    assert results[-1].commands == last


@pytest.mark.parametrize(
    ("export", "last"),
    [
        pytest.param(1500, NONE, id="export_1500-below_3060-no_start_on_3_phases"),
        pytest.param(3100, Commands(allow_charging=True), id="export_3100-starts_on_3_phases"),
    ],
)
def test_pv_all_starts_on_3_phases_only_with_their_minimum(export: float, last: Commands) -> None:
    """Without a relay (or while it may not switch) a start uses the present 3 phases: it needs what keeps
    them running (3 x 6 A x 230 V less the 1080 W of grid 1 phase may take: 3060 W), not only 500 W."""
    results = run(pv(PV_ALL), steady(idle(phases=3), meter(grid=-export), 45), relay=False)
    assert [r.commands for r in results[:-1]] == [NONE] * (len(results) - 1)
    assert results[-1].commands == last
