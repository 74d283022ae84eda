"""Departure plans on a dynamic tariff (services/controller/price_plan.py), pure: the cheapest periods
before the deadline, as tables, and as properties over any price curve."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pvcontrol.commands import CommandError
from pvcontrol.goal_commands import parse_price_limit, price_limit_text
from pvcontrol.models import ForecastData, ForecastPeriod, TariffData, TariffPeriod
from services.controller.price_plan import (
    HYSTERESIS,
    PLAN_MARGIN,
    TARIFF_MAX_AGE,
    Market,
    plan_purchase,
    usable_tariff,
    windows,
)

NOW = 1_800_000_000.0  # a whole hour
HOUR = 3600.0
POWER = 11_040.0  # W, 16 A on three phases


def tariff(prices: Sequence[float | None], start: float = NOW, length: float = HOUR) -> TariffData:
    """Hourly periods from `start`; None leaves that hour without a price."""
    periods = [
        TariffPeriod(start=start + k * length, end=start + (k + 1) * length, grid_price=price)
        for k, price in enumerate(prices)
        if price is not None
    ]
    return TariffData(ts=NOW, source="test", periods=periods)


def sun(watts: list[float]) -> ForecastData:
    """Hourly PV forecast from NOW."""
    periods = [
        ForecastPeriod(start=NOW + k * HOUR, end=NOW + (k + 1) * HOUR, power_pv=w)
        for k, w in enumerate(watts)
    ]
    return ForecastData(ts=NOW, periods=periods, sunset=NOW + len(watts) * HOUR)


def hours_of(slots: tuple[object, ...]) -> list[int]:
    return [int((slot.start - NOW) // HOUR) for slot in slots]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("prices", "needed_wh", "charging", "hours", "charge_now"),
    [
        # 12 kWh at 11.04 kW is 65 min, the last 6.5 min kept free: two hours; the cheapest two before 06:00
        pytest.param(
            [0.10, 0.30, 0.25, 0.05, 0.40, 0.35], 12_000, False, [0, 3], True, id="now-cheap-charges"
        ),
        pytest.param([0.30, 0.10, 0.25, 0.05, 0.40, 0.35], 12_000, False, [1, 3], False, id="now-dear-waits"),
        pytest.param([0.20] * 6, 12_000, False, [4, 5], False, id="flat-ties-go-later"),
        pytest.param([0.20] * 6, 12_000, True, [0, 5], True, id="flat-running-charge-wins-a-tie"),
        pytest.param(
            [0.30, 0.20, -0.05, 0.20, 0.40, 0.35], 12_000, False, [2, 3], False, id="negative-first"
        ),
        # 30 kWh needs 2.7 h + 10 %: three hours
        pytest.param([0.30, 0.20, 0.10, 0.20, 0.40, 0.35], 30_000, False, [1, 2, 3], False, id="three-hours"),
        # 60 kWh cannot be bought in 6 h at 11 kW: every hour, from now on
        pytest.param([0.30, 0.20, 0.10, 0.20, 0.40, 0.35], 60_000, False, [0, 1, 2, 3, 4, 5], True, id="all"),
        # prices known for 3 h only: the unknown time is taken last, latest first (40 kWh: 3.6 h, the
        # margin 0.36 h before 06:00 kept free, so the last quarter hours up to 05:38)
        pytest.param([0.30, 0.20, 0.10], 40_000, False, [0, 1, 2, 4, 5, 5], True, id="unknown-time-last"),
    ],
)
def test_cheapest_periods_before_the_deadline(
    prices: list[float], needed_wh: float, charging: bool, hours: list[int], charge_now: bool
) -> None:
    purchase = plan_purchase(Market(tariff(prices)), NOW, NOW + 6 * HOUR, needed_wh, POWER, charging)
    assert hours_of(purchase.slots) == hours
    assert purchase.charge_now == charge_now
    assert purchase.grid_wh == needed_wh


def test_the_cost_is_the_grid_energy_at_the_cheapest_slots_prices() -> None:
    purchase = plan_purchase(
        Market(tariff([0.30, 0.20, 0.10, 0.20, 0.40, 0.35])), NOW, NOW + 6 * HOUR, 30_000, POWER, False
    )
    # 11.04 kWh at 0.10, 11.04 at 0.20 (the later of the two), 7.92 at 0.20
    assert purchase.cost == pytest.approx(11.04 * 0.10 + 18.96 * 0.20, abs=1e-3)
    assert purchase.achievable
    assert purchase.finish is not None
    assert purchase.finish == pytest.approx(NOW + 3 * HOUR + (30_000 / POWER - 2) * HOUR)


def test_an_unknown_price_in_use_leaves_the_cost_unknown() -> None:
    purchase = plan_purchase(Market(tariff([0.30, 0.20, 0.10])), NOW, NOW + 6 * HOUR, 40_000, POWER, False)
    assert purchase.cost is None
    assert purchase.slots[-1].grid_price is None


def test_a_plan_that_cannot_be_met_charges_now_and_says_so() -> None:
    purchase = plan_purchase(Market(tariff([0.3, 0.1])), NOW, NOW + 2 * HOUR, 30_000, POWER, False)
    assert purchase.charge_now
    assert not purchase.achievable
    assert purchase.finish == pytest.approx(NOW + 30_000 / POWER * HOUR)


@pytest.mark.parametrize(
    ("watts", "house_w", "grid_wh", "sun_wh"),
    [
        # 10 kW forecast x 0.9 - 500 W house = 8.5 kW for 2 h: 17 kWh of the 20 needed come from the sun
        pytest.param([0, 0, 10_000, 10_000, 0, 0], 500, 3_000, 17_000, id="sun-covers-most"),
        pytest.param([0, 0, 30_000, 30_000, 0, 0], 500, 0, 20_000, id="sun-covers-all-capped-at-full-power"),
        # 1.5 kW x 0.9 - 500 W = 850 W: below what the car takes (1380 W), no sun counted
        pytest.param([1_500] * 6, 500, 20_000, 0, id="too-weak-for-the-car"),
    ],
)
def test_the_forecast_sun_is_subtracted(
    watts: list[float], house_w: float, grid_wh: float, sun_wh: float
) -> None:
    market = Market(tariff([0.3] * 6), forecast=sun(watts), house_w=house_w)
    purchase = plan_purchase(market, NOW, NOW + 6 * HOUR, 20_000, POWER, False)
    assert purchase.grid_wh == pytest.approx(grid_wh)
    assert purchase.sun_wh == pytest.approx(sun_wh)
    if grid_wh == 0:
        assert purchase.slots == ()
        assert purchase.cost == 0
        assert not purchase.charge_now


def test_windows_fill_gaps_and_cut_overlaps_to_now_and_the_deadline() -> None:
    periods = [
        TariffPeriod(start=NOW - 1800, end=NOW + 1800, grid_price=0.1),
        TariffPeriod(start=NOW + 1200, end=NOW + 3600, grid_price=0.2),  # overlaps the first
        TariffPeriod(start=NOW + 7200, end=NOW + 14_400, grid_price=0.3),
        TariffPeriod(start=NOW + 9000, end=NOW + 9000, grid_price=0.0),  # empty
    ]
    got = [
        (w.start - NOW, w.end - NOW, w.price) for w in windows(TariffData(periods=periods), NOW, NOW + 10_800)
    ]
    unknown = [(3600 + k * 900, 4500 + k * 900, None) for k in range(4)]
    assert got == [(0, 1800, 0.1), (1800, 3600, 0.2), *unknown, (7200, 10_800, 0.3)]


@pytest.mark.parametrize(
    ("document", "usable"),
    [
        pytest.param(tariff([0.2]), True, id="fresh"),
        pytest.param(tariff([0.2]).model_copy(update={"ts": NOW - TARIFF_MAX_AGE - 1}), False, id="stale"),
        pytest.param(tariff([0.2]).model_copy(update={"ts": NOW + 60}), False, id="from-the-future"),
        pytest.param(tariff([0.2], start=NOW - 2 * HOUR), False, id="all-periods-past"),
        pytest.param(TariffData(ts=NOW), False, id="no-periods"),
        pytest.param(None, False, id="none"),
    ],
)
def test_only_fresh_prices_ahead_are_used(document: TariffData | None, usable: bool) -> None:
    assert (usable_tariff(document, NOW) is not None) == usable


# --- properties: any price curve, no sun -------------------------------------------------------------

STEP = 60.0  # s


def simulate(market: Market, deadline: float, needed_wh: float, power: float) -> tuple[float, float]:
    """Minute by minute, re-planned every minute, no sun: when the car is full, and what it paid."""
    left, cost, charging, at = needed_wh, 0.0, False, NOW
    while left > 1e-6 and at < deadline + 12 * HOUR:
        charging = plan_purchase(market, at, deadline, left, power, charging).charge_now
        if charging:
            left, cost = buy(market, at, left, cost, power)
        at += STEP
    return at, cost


def simulate_latest(market: Market, deadline: float, needed_wh: float, power: float) -> float:
    """The plan without prices: full power from deadline - full power time x 1.1 until done; the cost."""
    left, cost, at = needed_wh, 0.0, NOW
    start = deadline - needed_wh / power * HOUR * (1 + PLAN_MARGIN)
    while left > 1e-6:
        if at >= start:
            left, cost = buy(market, at, left, cost, power)
        at += STEP
    return cost


def buy(market: Market, at: float, left: float, cost: float, power: float) -> tuple[float, float]:
    bought = min(left, power * STEP / HOUR)
    return left - bought, cost + bought / 1000 * (market.price_at(at) or 0.0)


PRICE_CURVES = st.lists(
    st.floats(-0.5, 1.0, allow_nan=False).map(lambda p: round(p, 3)), min_size=1, max_size=12
)


@settings(max_examples=150, deadline=None)
@given(prices=PRICE_CURVES, needed_kwh=st.floats(0.5, 60), power=st.sampled_from([3680.0, 7360.0, 11_040.0]))
def test_any_price_curve_finishes_on_time_when_possible_and_never_costs_more_than_the_latest_start(
    prices: list[float], needed_kwh: float, power: float
) -> None:
    deadline = NOW + len(prices) * HOUR
    needed_wh = needed_kwh * 1000
    market = Market(tariff([*prices, prices[-1]]))  # past the deadline the latest start pays the last price
    finish, cost = simulate(market, deadline, needed_wh, power)
    if needed_wh <= power * (deadline - NOW) / HOUR:
        assert finish <= deadline + STEP  # the minute the last Wh goes in
    latest_possible = needed_wh / power * HOUR * (1 + PLAN_MARGIN) <= deadline - NOW
    if latest_possible:  # the same prices paid by the latest-start plan (the plan without prices)
        one_step = power * STEP / HOUR / 1000 * (max(prices) - min(prices))  # both start on whole minutes
        assert cost <= simulate_latest(market, deadline, needed_wh, power) + one_step + 1e-6


@pytest.mark.parametrize(
    ("payload", "value"),
    [
        (b"0.15", 0.15),
        (b"-0.02", -0.02),
        (b'"0.3"', 0.3),
        (b"10", 10.0),
        (b"", None),
        (b"off", None),
        (b"OFF", None),
        (b"null", None),
    ],
)
def test_price_limit_commands(payload: bytes, value: float | None) -> None:
    assert parse_price_limit(payload) == value
    if value is not None:
        assert parse_price_limit(price_limit_text(value).encode()) == value


@pytest.mark.parametrize(
    "payload",
    [b"25.5", b"-11", b"nan", b"inf", b"1e-3", b"0,15", b".5", b"cheap", b"{}", b"0.1234567", b"x" * 300],
)
def test_bad_price_limits_are_rejected(payload: bytes) -> None:
    with pytest.raises(CommandError):
        parse_price_limit(payload)


@pytest.mark.parametrize(
    ("charging", "charge_now"),
    [
        pytest.param(False, False, id="waiting-small-need-waits"),
        pytest.param(True, True, id="running-goes-on"),
    ],
)
def test_with_a_forecast_a_small_need_does_not_start_a_charge(charging: bool, charge_now: bool) -> None:
    # the sun is forecast to bring all but 200 Wh: a waiting plan leaves the current (cheapest) hour
    # alone until the need is HYSTERESIS of full power, a running one goes on until the need is met
    market = Market(tariff([0.1, 0.3, 0.3, 0.3, 0.3, 0.3]), forecast=sun([0, 0, 0, 0, 0, 10_000 / 0.9]))
    purchase = plan_purchase(market, NOW, NOW + 6 * HOUR, 10_000 + 200, POWER, charging)
    assert HYSTERESIS / HOUR * POWER > 200
    assert purchase.grid_wh == pytest.approx(200)
    assert purchase.charge_now == charge_now
    assert (hours_of(purchase.slots) == [0]) == charging
    assert purchase.slots  # a waiting plan still plans to buy it, later


def test_with_a_forecast_a_running_charge_stops_when_the_need_is_met() -> None:
    market = Market(tariff([0.1] * 6), forecast=sun([0, 0, 0, 0, 0, 10_000 / 0.9]))
    purchase = plan_purchase(market, NOW, NOW + 6 * HOUR, 10_000 - 50, POWER, True)
    assert (purchase.charge_now, purchase.slots, purchase.grid_wh) == (False, (), 0)
