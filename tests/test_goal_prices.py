"""Plans and the price limit on top of the strategies (goal_control.py with prices), pure: a plan due in
6 h buys its grid energy in the cheapest hours, re-planned when the prices change; the price limit
charges PV modes from the grid, never on stale readings, never in OFF or past the charge limit."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import time as clock_time

import pytest

from pvcontrol.models import (
    CarData,
    CarStatus,
    ChargeMode,
    ForecastData,
    ForecastPeriod,
    MeterData,
    PlanState,
    TariffData,
    TariffPeriod,
    WallboxData,
)
from services.controller import law, tracking
from services.controller.goal_control import GoalState, Strategy, cycle_with_goals, plan_state
from services.controller.goals import Goals, Plan
from services.controller.law import CycleResult, LawInputs, LawState
from services.controller.settings import ControllerSettings

# 45 kWh battery, 90 %: 20 SOC points are 10 kWh; one phase at 16 A: 3.68 kW, 2.7 h of full power
SETTINGS = ControllerSettings(cycle_time=1, battery_capacity=45, charging_efficiency=0.9)
FULL_POWER_W = 16 * 230
NOW = 1_800_000_000.0  # a whole hour
HOUR = 3600.0
PV_ONLY, PV_ALL, MAX, OFF = ChargeMode.PV_ONLY, ChargeMode.PV_ALL, ChargeMode.MAX, ChargeMode.OFF


def local_plan(soc: int, at: float) -> Plan:
    deadline = time.localtime(at)
    return Plan(soc, clock_time(deadline.tm_hour, deadline.tm_min))


def tariff(prices: list[float], at: float = NOW) -> TariffData:
    periods = [
        TariffPeriod(start=NOW + k * HOUR, end=NOW + (k + 1) * HOUR, grid_price=p)
        for k, p in enumerate(prices)
    ]
    return TariffData(ts=at, source="test", periods=[p for p in periods if p.end > at])


NO_SUN = ForecastData(
    ts=NOW,
    periods=[ForecastPeriod(start=NOW + k * 900, end=NOW + (k + 1) * 900, power_pv=0) for k in range(48)],
    sunset=NOW + 12 * HOUR,
)


def inputs(
    at: float = NOW,
    prices: TariffData | None = None,
    allow: bool = False,
    stale: bool = False,
    charged_wh: float = 0.0,
    current: int | None = None,
) -> LawInputs:
    current = current if current is not None else (16 if allow else 6)
    power = current * 230.0 if allow else 0.0
    seen = at - 600 if stale else at
    meter = MeterData(ts=seen, power_grid=300 + power, power_consumption=300 + power, soc_battery=100)
    wallbox = WallboxData(
        ts=seen,
        car_status=CarStatus.Charging if allow else CarStatus.WaitingForVehicle,
        allow_charging=allow,
        max_current=current,
        phases_in=1,
        phases_out=1 if allow else 0,
        power=power,
        charged_energy=charged_wh,
    )
    forecast = NO_SUN.model_copy(update={"ts": at})
    return LawInputs(
        meter=meter, wallbox=wallbox, relay_enabled=False, now=at, forecast=forecast, tariff=prices
    )


def car(soc: float, at: float = NOW) -> CarData:
    return CarData(ts=at, soc=soc)


def cycle(
    goals: Goals,
    readings: LawInputs,
    soc: float,
    mode: ChargeMode = PV_ONLY,
    goal_state: GoalState | None = None,
) -> tuple[CycleResult, GoalState, PlanState | None]:
    state = LawState(desired_mode=mode, mode=mode)
    goal_state = goal_state or GoalState(goals)
    result, decision, after = cycle_with_goals(
        law.control_cycle, state, SETTINGS, readings, goal_state, car(soc, readings.now)
    )
    return result, after, plan_state(after, decision)


# --- the done-when plan: due in 6 h, 10 kWh to buy, no sun ----------------------------------------

CHEAP_NOW = [0.10, 0.30, 0.12, 0.35, 0.11, 0.40]  # cheapest hours: 0, 4, 2
# cheapest hours: 5 (up to the margin: 10 % of 2.7 h and, with a forecast, 10 min kept free), 4, 2, 1
DEAR_NOW = [0.40, 0.30, 0.12, 0.35, 0.11, 0.10]


def test_a_plan_charges_now_when_now_is_among_the_cheapest_hours() -> None:
    plan = local_plan(70, NOW + 6 * HOUR)
    result, goal_state, state = cycle(Goals(plan=plan), inputs(prices=tariff(CHEAP_NOW)), soc=50)
    assert (result.commands.max_current, result.commands.allow_charging) == (16, True)
    assert result.state.desired_mode == PV_ONLY
    assert state is not None
    assert [int((s.start - NOW) // HOUR) for s in state.slots] == [0, 2, 4]
    assert [s.grid_price for s in state.slots] == [0.10, 0.12, 0.11]
    assert state.cost_estimate == pytest.approx(3.68 * 0.10 + 3.68 * 0.11 + 2.64 * 0.12, abs=1e-3)
    assert state.achievable
    assert goal_state.plan_charging


def test_the_same_plan_stays_off_when_now_is_dear() -> None:
    plan = local_plan(70, NOW + 6 * HOUR)
    result, goal_state, state = cycle(Goals(plan=plan), inputs(prices=tariff(DEAR_NOW)), soc=50)
    assert result.commands.allow_charging is not True
    assert result.commands.max_current != 16
    assert state is not None
    assert [int((s.start - NOW) // HOUR) for s in state.slots] == [1, 2, 4, 5]
    assert not goal_state.plan_charging


def test_without_prices_the_plan_is_the_latest_start_as_one_unpriced_slot() -> None:
    plan = local_plan(70, NOW + 6 * HOUR)
    result, _, state = cycle(Goals(plan=plan), inputs(prices=None), soc=50)
    assert result.commands.allow_charging is not True
    assert state is not None
    (slot,) = state.slots
    full_power_s = 10_000 / FULL_POWER_W * HOUR
    assert slot.start == pytest.approx(NOW + 6 * HOUR - 1.1 * full_power_s)
    assert slot.end - slot.start == pytest.approx(full_power_s)
    assert slot.grid_price is None
    assert state.cost_estimate is None


def test_stale_prices_are_no_prices() -> None:
    plan = local_plan(70, NOW + 6 * HOUR)
    old = tariff(CHEAP_NOW).model_copy(update={"ts": NOW - 3 * HOUR})
    result, _, state = cycle(Goals(plan=plan), inputs(prices=old), soc=50)
    assert result.commands.allow_charging is not True
    assert state is not None
    assert state.cost_estimate is None
    assert [s.grid_price for s in state.slots] == [None]


def simulate(price_sets: list[list[float]], soc: float, target: int) -> tuple[float | None, list[float]]:
    """Minute by minute until the deadline (6 h): the plan in PV_ONLY without sun, the prices of hour k
    published anew at its start from `price_sets[k]` (new prices every hour). When the target was reached
    and the hours the car charged in."""
    plan = local_plan(target, NOW + 6 * HOUR)
    goal_state = GoalState(Goals(plan=plan))
    state = LawState(desired_mode=PV_ONLY, mode=PV_ONLY)
    allow, current, charged, reached = False, 6, 0.0, None
    charging_at: list[float] = []
    at = NOW
    while at < NOW + 6 * HOUR:
        hour = int((at - NOW) // HOUR)
        prices = tariff(price_sets[hour], at=NOW + hour * HOUR)
        readings = inputs(at, prices, allow, charged_wh=charged, current=current)
        result, _, goal_state = cycle_with_goals(
            law.control_cycle, state, SETTINGS, readings, goal_state, car(soc, at)
        )
        state = result.state
        if result.commands.allow_charging is not None:
            allow = result.commands.allow_charging
        if result.commands.max_current is not None:
            current = result.commands.max_current
        if allow:
            charging_at.append(at)
            wh = current * 230 / 60
            charged += wh
            soc += wh * SETTINGS.charging_efficiency / (SETTINGS.battery_capacity * 10)
            if soc >= target and reached is None:
                reached = at + 60
        at += 60
    return reached, charging_at


def test_the_plan_still_finishes_on_time_when_the_prices_change_every_hour() -> None:
    rotated = [CHEAP_NOW[k:] + CHEAP_NOW[:k] for k in range(6)]  # each hour the cheap hours move on
    reached, charging_at = simulate(rotated, soc=50, target=70)
    assert reached is not None
    assert reached <= NOW + 6 * HOUR
    # it charged in the hour that was cheapest when it began, then followed the new prices
    assert charging_at[0] == NOW
    assert len(charging_at) < 6 * 60


def test_prices_that_make_now_the_only_chance_charge_now() -> None:
    # 20 kWh (40 points) in 6 h at 3.68 kW needs 5.4 h + 10 %: every hour, the dearest first
    reached, charging_at = simulate([[0.9, 0.1, 0.1, 0.1, 0.1, 0.1]] * 6, soc=30, target=70)
    assert charging_at[0] == NOW
    assert reached is not None
    assert reached <= NOW + 6 * HOUR


# --- the price limit -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("goals", "mode", "price", "stale", "soc", "charges"),
    [
        pytest.param(
            Goals(price_limit=0.10), PV_ONLY, 0.08, False, 50, True, id="pv-only-below-limit-charges"
        ),
        pytest.param(Goals(price_limit=0.10), PV_ALL, 0.10, False, 50, True, id="pv-all-at-limit-charges"),
        pytest.param(Goals(price_limit=-0.01), PV_ONLY, -0.05, False, 50, True, id="negative-limit"),
        pytest.param(Goals(price_limit=0.10), PV_ONLY, 0.12, False, 50, False, id="above-limit-stays-off"),
        pytest.param(Goals(price_limit=0.10), PV_ONLY, None, False, 50, False, id="no-prices-no-grid"),
        pytest.param(Goals(price_limit=0.10), PV_ONLY, 0.08, True, 50, False, id="stale-readings-no-grid"),
        pytest.param(Goals(price_limit=0.10), OFF, 0.08, False, 50, False, id="off-stays-off"),
        pytest.param(
            Goals(price_limit=0.10, limit_soc=80), PV_ONLY, 0.08, False, 80, False, id="charge-limit-wins"
        ),
        pytest.param(Goals(), PV_ONLY, 0.08, False, 50, False, id="no-limit-pv-only-never-buys"),
    ],
)
def test_price_limit(
    goals: Goals, mode: ChargeMode, price: float | None, stale: bool, soc: float, charges: bool
) -> None:
    prices = tariff([price]) if price is not None else None
    result, _, _ = cycle(goals, inputs(prices=prices, stale=stale), soc=soc, mode=mode)
    charging = (result.commands.max_current, result.commands.allow_charging) == (16, True)
    assert charging == charges
    if mode != OFF:  # OFF turns into MANUAL after its first cycle, as without a limit
        assert result.state.desired_mode == mode  # the user's mode is kept


def test_price_limit_reason_and_stop_when_the_price_rises() -> None:
    goals = Goals(price_limit=0.10)
    result, goal_state, _ = cycle(goals, inputs(prices=tariff([0.08, 0.20])), soc=50)
    assert (result.commands.max_current, result.commands.allow_charging) == (16, True)
    later = NOW + HOUR + 60
    readings = inputs(later, tariff([0.08, 0.20], at=later), allow=True)
    stopped = cycle_with_goals(
        law.control_cycle, result.state, SETTINGS, readings, goal_state, car(50, later)
    )[0]
    # back to PV_ONLY without sun: it stops (after the PV delay of the original law)
    assert stopped.commands.max_current != 16 or stopped.allow_charging_wish is False


@pytest.mark.parametrize("strategy", [law.control_cycle, tracking.control_cycle])
def test_a_tariff_without_goals_changes_nothing(strategy: Strategy) -> None:
    readings = inputs(prices=tariff([-0.5]))
    state = LawState(desired_mode=PV_ONLY, mode=PV_ONLY)
    alone = strategy(state, SETTINGS, replace(readings, tariff=None))
    with_goals, _, _ = cycle_with_goals(strategy, state, SETTINGS, readings, GoalState(), car(50))
    assert with_goals == alone
