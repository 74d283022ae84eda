"""Departure plans across a DST change (Europe/Berlin, 2027): the deadline keeps its wall-clock time on its
own day's offset, the full-power start is counted in real hours, and the controller's cycle takes the
zone from `TZ`. Frozen clocks only."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from pvcontrol.models import CarData, CarStatus, ChargeMode, MeterData, WallboxData
from services.controller import law
from services.controller.goal_control import GoalState, cycle_with_goals
from services.controller.goals import (
    Action,
    CarModel,
    Goals,
    Plan,
    SocInfo,
    _zone,
    decide,
    local_datetime,
    local_zone,
    project,
    wall_clock_instant,
)
from services.controller.law import LawInputs, LawState
from services.controller.settings import ControllerSettings

BERLIN = ZoneInfo("Europe/Berlin")
SPRING = date(2027, 3, 28)  # 02:00 CET -> 03:00 CEST at 01:00 UTC
AUTUMN = date(2027, 10, 31)  # 03:00 CEST -> 02:00 CET at 01:00 UTC
MODEL = CarModel(
    battery_wh=58_000,
    efficiency=0.9,
    full_power_w=11_040,
    soc_stale_after=3600,
    assumed_soc_at_plug_in=20,
)
# 30 -> 80 %: 32.2 kWh at 11.04 kW = 2.919 h, 3.211 h with the margin
FULL_POWER_HOURS = (80 - 30) / 100 * MODEL.battery_wh / MODEL.efficiency / MODEL.full_power_w
# 20 -> 100 %: 4.67 h, 5.14 h with the margin: a full charge starts before the change at 01:00 UTC
FULL_CHARGE_HOURS = (100 - 20) / 100 * MODEL.battery_wh / MODEL.efficiency / MODEL.full_power_w


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def berlin(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BERLIN)


@pytest.mark.parametrize(
    ("plan", "now", "deadline"),
    [
        pytest.param(
            Plan(80, time(7)), berlin(2027, 3, 27, 20), utc(2027, 3, 28, 5), id="spring-07:00-is-CEST"
        ),
        pytest.param(
            Plan(80, time(7)), berlin(2027, 10, 30, 20), utc(2027, 10, 31, 6), id="autumn-07:00-is-CET"
        ),
        pytest.param(
            Plan(80, time(7), ("mon",)),
            berlin(2027, 3, 26, 12),
            utc(2027, 3, 29, 5),
            id="fri-CET-to-mon-CEST",
        ),
        pytest.param(
            Plan(80, time(7), ("mon",)),
            berlin(2027, 10, 29, 12),
            utc(2027, 11, 1, 6),
            id="fri-CEST-to-mon-CET",
        ),
        # 02:30 never shows on the spring day: due when the clock jumps past it, at 03:00 CEST.
        pytest.param(Plan(80, time(2, 30)), berlin(2027, 3, 27, 20), utc(2027, 3, 28, 1), id="skipped-02:30"),
        # 02:30 shows twice in autumn: due the first time (CEST); once past, the next day's.
        pytest.param(
            Plan(80, time(2, 30)), berlin(2027, 10, 30, 20), utc(2027, 10, 31, 0, 30), id="twice-02:30-first"
        ),
        pytest.param(
            Plan(80, time(2, 30)),
            utc(2027, 10, 31, 0, 45).astimezone(BERLIN),
            utc(2027, 11, 1, 1, 30),
            id="twice-02:30-after-the-first-is-tomorrow",
        ),
    ],
)
def test_deadline_across_dst(plan: Plan, now: datetime, deadline: datetime) -> None:
    assert plan.next_deadline(now) == deadline


@pytest.mark.parametrize(
    ("day", "at", "instant"),
    [
        pytest.param(SPRING, time(1, 59, 59), utc(2027, 3, 28, 0, 59, 59), id="spring-just-before"),
        pytest.param(SPRING, time(2, 0), utc(2027, 3, 28, 1), id="spring-gap-start"),
        pytest.param(SPRING, time(2, 59), utc(2027, 3, 28, 1), id="spring-gap-end"),
        pytest.param(SPRING, time(3, 0), utc(2027, 3, 28, 1), id="spring-after"),
        pytest.param(AUTUMN, time(2, 0), utc(2027, 10, 31, 0), id="autumn-first-of-two"),
        pytest.param(AUTUMN, time(3, 0), utc(2027, 10, 31, 2), id="autumn-after"),
    ],
)
def test_wall_clock_instant(day: date, at: time, instant: datetime) -> None:
    assert wall_clock_instant(day, at, BERLIN) == instant


def simulate_night(plan: Plan, start: datetime) -> tuple[datetime | None, list[tuple[datetime, Action]]]:
    """No sun: charge only when the plan says full power; minute by minute from `start` to the deadline.
    Returns when the target was reached and each decision (UTC minute, action)."""
    soc, charging = 20.0, False
    deadline = plan.next_deadline(start)
    decisions = []
    now = start.astimezone(UTC)
    while now < deadline + timedelta(hours=2):
        decision = decide(
            Goals(plan=plan),
            ChargeMode.PV_ONLY,
            True,
            SocInfo(soc, "car"),
            now.astimezone(BERLIN),
            MODEL,
            charging,
        )
        assert decision.plan is not None
        assert decision.plan.achievable, f"{now}: {decision.reason}"
        decisions.append((now, decision.action))
        charging = decision.plan_charging
        if decision.action == Action.FULL_POWER:
            soc += MODEL.full_power_w / 60 * MODEL.efficiency / MODEL.battery_wh * 100
        if soc >= plan.soc:
            return now + timedelta(minutes=1), decisions
        now += timedelta(minutes=1)
    return None, decisions


@pytest.mark.parametrize(
    ("start", "deadline"),
    [
        pytest.param(berlin(2027, 3, 27, 20), utc(2027, 3, 28, 5), id="spring"),
        pytest.param(berlin(2027, 10, 30, 20), utc(2027, 10, 31, 6), id="autumn"),
    ],
)
def test_a_full_charge_by_07_00_across_dst_starts_in_real_hours_and_finishes_on_time(
    start: datetime, deadline: datetime
) -> None:
    change = utc(start.year, start.month, start.day + 1, 1)
    plan = Plan(100, time(7))
    finished, decisions = simulate_night(plan, start)
    assert finished is not None
    assert finished <= deadline  # 07:00 on the wall clock of that morning
    first_full = next(t for t, action in decisions if action == Action.FULL_POWER)
    # Not an hour early (autumn), not an hour late (spring): 5.14 h before 07:00 local, to the minute.
    expected = deadline - timedelta(hours=FULL_CHARGE_HOURS * 1.1)
    assert expected < change  # the start is planned on the old offset, the deadline is on the new
    assert expected <= first_full < expected + timedelta(minutes=1)
    assert timedelta(0) < deadline - finished < timedelta(minutes=30)


@pytest.mark.parametrize(
    ("now", "reason"),
    [
        pytest.param(
            berlin(2027, 3, 27, 20),
            "plan 80 % by 07:00: sun first, full power from 03:47 if needed",
            id="spring",
        ),
        pytest.param(
            berlin(2027, 10, 30, 20),
            "plan 80 % by 07:00: sun first, full power from 03:47 if needed",
            id="autumn",
        ),
    ],
)
def test_the_reason_shows_local_wall_clock_times(now: datetime, reason: str) -> None:
    decision = decide(Goals(plan=Plan(80, time(7))), ChargeMode.PV_ONLY, True, SocInfo(30, "car"), now, MODEL)
    assert decision.reason == reason


def test_projection_instants_are_exact_hours_across_the_change() -> None:
    projection = project(Plan(80, time(7)), 30, berlin(2027, 3, 28, 0, 30), MODEL)
    # 00:30 CET to 07:00 CEST is 5.5 real hours, not 6.5
    assert projection.deadline - berlin(2027, 3, 28, 0, 30) == timedelta(hours=5, minutes=30)
    assert projection.projected_finish is not None
    assert projection.projected_finish == projection.grid_start + timedelta(hours=FULL_POWER_HOURS)


# --- the controller's cycle: the zone comes from TZ ---------------------------------------------------


def cycle_inputs(now: float) -> LawInputs:
    meter = MeterData(ts=now, power_grid=0, soc_battery=100)
    wallbox = WallboxData(ts=now, car_status=CarStatus.WaitingForVehicle, max_current=6, phases_in=3)
    return LawInputs(meter=meter, wallbox=wallbox, relay_enabled=False, now=now)


@pytest.mark.parametrize(
    ("zone", "deadline"),
    [
        pytest.param("Europe/Berlin", utc(2027, 3, 28, 5), id="berlin"),
        pytest.param(":Europe/Berlin", utc(2027, 3, 28, 5), id="berlin-glibc-colon"),
        pytest.param("America/New_York", utc(2027, 3, 28, 11), id="new-york-already-EDT"),
    ],
)
def test_the_controller_cycle_plans_in_the_tz_zone(
    monkeypatch: pytest.MonkeyPatch, zone: str, deadline: datetime
) -> None:
    monkeypatch.setenv("TZ", zone)
    frozen = utc(2027, 3, 27, 19).timestamp()  # Saturday 20:00 in Berlin, before the change
    goals = GoalState(Goals(plan=Plan(80, time(7))))
    _, decision, _ = cycle_with_goals(
        law.control_cycle,
        LawState(desired_mode=ChargeMode.PV_ONLY, mode=ChargeMode.PV_ONLY),
        ControllerSettings(cycle_time=1),
        cycle_inputs(frozen),
        goals,
        CarData(ts=frozen, soc=30),
    )
    assert decision.plan is not None
    assert decision.plan.deadline == deadline


def test_local_zone_reads_tz_and_falls_back_to_a_fixed_offset_with_one_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("TZ", "Europe/Berlin")
    assert local_datetime(utc(2027, 3, 28, 5).timestamp()).strftime("%H:%M %Z") == "07:00 CEST"
    monkeypatch.setenv("TZ", "CET-1CEST,M3.5.0,M10.5.0/3")  # POSIX rule, not a zone name
    _zone.cache_clear()
    with caplog.at_level(logging.WARNING):
        assert local_zone().utcoffset(None) is not None
        local_zone()
    assert len([r for r in caplog.records if "not a zone name" in r.message]) == 1
    monkeypatch.delenv("TZ")
    system = local_zone()
    now = datetime.now(UTC)
    assert now.astimezone(system).utcoffset() == now.astimezone().utcoffset()
