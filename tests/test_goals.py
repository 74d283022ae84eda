"""The car's goals: decisions as tables, departure plans on simulated days, strict command parsing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

import pytest

from pvcontrol.commands import CommandError
from pvcontrol.goal_commands import SocGoal, parse_soc
from pvcontrol.models import CarData, ChargeMode
from services.controller.goals import (
    Action,
    CarModel,
    Goals,
    Plan,
    SocInfo,
    current_soc,
    decide,
    parse_plan,
    project,
)

MODEL = CarModel(
    battery_wh=58_000,
    efficiency=0.9,
    full_power_w=11_040,
    soc_stale_after=3600,
    assumed_soc_at_plug_in=20,
)
# Saturday 2026-11-28 13:00 UTC: a plan for 07:00 is due on Sunday.
NOW = datetime(2026, 11, 28, 13, 0, tzinfo=UTC)
PV_ONLY, OFF, MAX, MANUAL = ChargeMode.PV_ONLY, ChargeMode.OFF, ChargeMode.MAX, ChargeMode.MANUAL


def soc(value: float) -> SocInfo:
    return SocInfo(value, "car")


@pytest.mark.parametrize(
    ("goals", "mode", "plugged", "car_soc", "action"),
    [
        pytest.param(Goals(min_soc=30), PV_ONLY, True, 25, Action.FULL_POWER, id="pv-soc25-below-min30-full"),
        pytest.param(Goals(min_soc=30), PV_ONLY, True, 30, Action.NONE, id="pv-soc30-at-min30-mode-decides"),
        pytest.param(Goals(min_soc=30), OFF, True, 10, Action.NONE, id="off-stays-off-below-min"),
        pytest.param(Goals(min_soc=30), MANUAL, True, 10, Action.NONE, id="manual-untouched"),
        pytest.param(Goals(min_soc=30), PV_ONLY, False, 10, Action.NONE, id="unplugged-nothing"),
        pytest.param(Goals(limit_soc=80), PV_ONLY, True, 80, Action.STOP, id="pv-soc80-limit80-stop"),
        pytest.param(Goals(limit_soc=80), MAX, True, 81, Action.STOP, id="max-soc81-limit80-stop"),
        pytest.param(Goals(limit_soc=80), OFF, True, 90, Action.STOP, id="off-over-limit-stop-is-safe"),
        pytest.param(Goals(limit_soc=80), MANUAL, True, 90, Action.NONE, id="manual-ignores-limit"),
        pytest.param(Goals(limit_soc=80), PV_ONLY, True, 79.9, Action.NONE, id="pv-soc79.9-limit80-charges"),
        pytest.param(
            Goals(min_soc=50, limit_soc=80), PV_ONLY, True, 85, Action.STOP, id="limit-wins-over-min"
        ),
    ],
)
def test_decisions(goals: Goals, mode: ChargeMode, plugged: bool, car_soc: float, action: Action) -> None:
    assert decide(goals, mode, plugged, soc(car_soc), NOW, MODEL).action == action


@pytest.mark.parametrize(
    ("plan", "now", "deadline"),
    [
        pytest.param(
            Plan(80, time(7, 0)), NOW, datetime(2026, 11, 29, 7, 0, tzinfo=UTC), id="13h-to-tomorrow-7h"
        ),
        pytest.param(
            Plan(80, time(14, 0)), NOW, datetime(2026, 11, 28, 14, 0, tzinfo=UTC), id="13h-to-today-14h"
        ),
        pytest.param(
            Plan(80, time(7, 0), ("mon", "tue")),
            NOW,
            datetime(2026, 11, 30, 7, 0, tzinfo=UTC),
            id="sat-to-mon",
        ),
        pytest.param(
            Plan(80, time(13, 0)),
            NOW,
            datetime(2026, 11, 29, 13, 0, tzinfo=UTC),
            id="now-exactly-is-tomorrow",
        ),
    ],
)
def test_plan_deadline_is_the_next_occurrence(plan: Plan, now: datetime, deadline: datetime) -> None:
    assert plan.next_deadline(now) == deadline


def test_projection_starts_the_grid_late_enough_to_finish_with_a_margin() -> None:
    # 30 % -> 80 %: 29 kWh into the battery, 32.2 kWh charged, 2.92 h at 11.04 kW, 3.21 h with the margin
    projection = project(Plan(80, time(7, 0)), 30, NOW, MODEL)
    assert projection.energy_needed_wh == pytest.approx(32_222.2, abs=0.1)
    hours_before = (projection.deadline - projection.grid_start).total_seconds() / 3600
    assert hours_before == pytest.approx(2.919 * 1.1, abs=0.01)
    assert projection.achievable
    assert projection.projected_finish is not None
    assert projection.projected_finish < projection.deadline


def test_a_plan_set_too_late_says_it_cannot_be_met() -> None:
    late = NOW.replace(hour=6, minute=0) + timedelta(days=1)  # 1 h before 07:00, 50 % to go
    decision = decide(Goals(plan=Plan(80, time(7, 0))), PV_ONLY, True, soc(30), late, MODEL)
    assert decision.action == Action.FULL_POWER
    assert decision.plan is not None
    assert not decision.plan.achievable
    assert decision.reason is not None
    assert "cannot be met" in decision.reason


def test_without_a_fresh_car_soc_the_session_energy_is_used_and_said() -> None:
    stale = CarData(ts=0, soc=70)
    info = current_soc(stale, session_wh=5800, now=10_000, model=MODEL)
    assert info.source == "session energy"
    assert info.soc == pytest.approx(20 + 9)
    fresh = current_soc(CarData(ts=9_000, soc=70, soc_estimated=True), 5800, 10_000, MODEL)
    assert (fresh.soc, fresh.source) == (70, "car (estimated)")


@pytest.mark.parametrize(
    "car",
    [
        pytest.param(CarData(ts=9_000, soc_known=False, session_energy=5800), id="wallbox-car"),
        pytest.param(CarData(ts=9_000, soc=55, soc_known=False), id="a-soc-said-unknown-is-not-used"),
        pytest.param(CarData.model_validate_json('{"ts": 9000, "soc": 0}'), id="original-contract-0"),
    ],
)
def test_a_car_without_a_known_soc_goes_by_the_session_energy(car: CarData) -> None:
    info = current_soc(car, session_wh=5800, now=10_000, model=MODEL)
    assert info.source == "session energy"
    assert info.soc == pytest.approx(20 + 9)


def test_a_known_empty_battery_is_the_car_s_soc() -> None:
    info = current_soc(CarData(ts=9_000, soc=0, soc_known=True), session_wh=5800, now=10_000, model=MODEL)
    assert (info.source, info.soc) == ("car", 0)


# --- departure plans on simulated days -------------------------------------------------------------


@dataclass
class Day:
    """Minute by minute: the solar surplus available to the car, the car's SOC and where energy came from."""

    surplus_w: list[float]  # one value per minute from NOW
    soc: float
    pv_wh: float = 0.0
    grid_wh: float = 0.0
    finished_at: datetime | None = None


def sunny(minutes: int, peak: float) -> list[float]:
    """A sun from 08:00 to 16:00 local (UTC here) with `peak` W surplus at noon, from NOW on."""
    values = []
    for minute in range(minutes):
        hour = ((NOW + timedelta(minutes=minute)).hour * 60 + (NOW + timedelta(minutes=minute)).minute) / 60
        values.append(max(0.0, peak * (1 - ((hour - 12) / 4) ** 2)) if 8 <= hour <= 16 else 0.0)
    return values


def run(day: Day, plan: Plan, min_power: float = 1380) -> Day:
    """PV_ONLY with an ideal tracker and the plan on top, until the plan's deadline."""
    deadline = plan.next_deadline(NOW)
    plan_charging = False
    for minute, surplus in enumerate(day.surplus_w):
        now = NOW + timedelta(minutes=minute)
        if now >= deadline or day.soc >= plan.soc:
            break
        decision = decide(Goals(plan=plan), PV_ONLY, True, soc(day.soc), now, MODEL, plan_charging)
        action, plan_charging = decision.action, decision.plan_charging
        power = MODEL.full_power_w if action == Action.FULL_POWER else min(surplus, MODEL.full_power_w)
        if action != Action.FULL_POWER and power < min_power:
            power = 0.0
        pv = min(power, surplus)
        day.pv_wh += pv / 60
        day.grid_wh += (power - pv) / 60
        day.soc = min(100.0, day.soc + power / 60 * MODEL.efficiency / MODEL.battery_wh * 100)
        if day.soc >= plan.soc and day.finished_at is None:
            day.finished_at = now + timedelta(minutes=1)
    return day


def test_sunny_day_plan_for_16h_finishes_on_time_from_the_sun_alone() -> None:
    plan = Plan(45, time(16, 0))  # 30 -> 45 % needs 9.7 kWh; the sun from 13:00 to 15:00 brings 14 kWh
    day = run(Day(sunny(24 * 60, peak=10_000), soc=30), plan)
    assert day.finished_at is not None
    assert day.finished_at <= plan.next_deadline(NOW)
    assert day.grid_wh == 0


def test_cloudy_day_buys_at_most_the_shortfall_plus_10_percent() -> None:
    plan = Plan(80, time(7, 0))  # tomorrow 07:00; the rest of today's sun is weak
    surplus = sunny(24 * 60, peak=3000)
    day = run(Day(surplus, soc=30), plan)
    needed_wh = (80 - 30) / 100 * MODEL.battery_wh / MODEL.efficiency
    minutes_left = int((plan.next_deadline(NOW) - NOW).total_seconds() // 60)
    sun_wh = sum(min(s, MODEL.full_power_w) for s in surplus[:minutes_left] if s >= 1380) / 60
    shortfall = needed_wh - sun_wh
    assert day.finished_at is not None
    assert day.finished_at <= plan.next_deadline(NOW)
    assert shortfall > 0
    assert day.grid_wh <= shortfall * 1.1


# --- commands --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "plan"),
    [
        pytest.param(b'{"soc": 80, "time": "07:00"}', Plan(80, time(7, 0)), id="80-at-0700"),
        pytest.param(
            b'{"soc": 60, "time": "23:59", "days": ["fri", "mon"]}',
            Plan(60, time(23, 59), ("mon", "fri")),
            id="weekdays-sorted",
        ),
        pytest.param(b"", None, id="empty-clears"),
        pytest.param(b"null", None, id="null-clears"),
    ],
)
def test_plan_commands(payload: bytes, plan: Plan | None) -> None:
    assert parse_plan(payload) == plan


@pytest.mark.parametrize(
    "payload",
    [
        b'{"soc": 0, "time": "07:00"}',
        b'{"soc": 101, "time": "07:00"}',
        b'{"soc": true, "time": "07:00"}',
        b'{"soc": 80.5, "time": "07:00"}',
        b'{"soc": 80, "time": "7:00"}',
        b'{"soc": 80, "time": "24:00"}',
        b'{"soc": 80, "time": "07:60"}',
        b'{"soc": 80, "time": "\\u0660\\u0667:00"}',
        b'{"soc": 80, "time": "07:00", "days": ["monday"]}',
        b'{"soc": 80, "time": "07:00", "days": ["mon", "mon"]}',
        b'{"soc": 80, "time": "07:00", "extra": 1}',
        b"[80, 7]",
        b"80",
        b"\xff",
        b'{"soc": 80, "time": "07:00"}' + b" " * 300,
    ],
)
def test_bad_plan_commands_are_rejected(payload: bytes) -> None:
    with pytest.raises(CommandError):
        parse_plan(payload)


@pytest.mark.parametrize(
    ("payload", "name", "value"),
    [
        (b"20", "min_soc", 20),
        (b"0", "min_soc", None),
        (b"80", "limit_soc", 80),
        (b"100", "limit_soc", None),
    ],
)
def test_soc_commands(payload: bytes, name: SocGoal, value: int | None) -> None:
    assert parse_soc(payload, name) == value


@pytest.mark.parametrize("payload", [b"101", b"-1", b"50.5", b"x", b"1e2"])
def test_bad_soc_commands_are_rejected(payload: bytes) -> None:
    with pytest.raises(CommandError):
        parse_soc(payload, "min_soc")


def test_a_limit_of_zero_is_rejected() -> None:
    """The REST API takes 1-100 for the limit; MQTT the same (a limit of 0 would stop every charge)."""
    with pytest.raises(CommandError):
        parse_soc(b"0", "limit_soc")
