"""Departure plans on a dynamic tariff: the grid energy a plan still has to buy, bought in the cheapest
periods before the deadline (docs/CONTROL.md "Plans and prices"). Pure.

The energy still needed minus the sun the forecast promises before the deadline (none without a
forecast) is the grid energy; at full power it takes some time. As in the plan without prices, the last
PLAN_MARGIN of that time before the deadline is kept free (the car may slow down near the end): the
cheapest whole periods before that which add up to the time are the slots, and the car charges from the
grid while now is in one of them. The latest-start window is one such choice, so the slots never cost
more. Ties go to the later period, except that the period in which the plan is already charging wins a
tie (a stop and a restart would buy nothing cheaper). Time without a known price is taken last, in
quarter hours, latest first. Re-planned every cycle, so new prices, a new forecast or a slower car move
the slots; once the time left is no more than the time needed with its margin, every remaining period is
a slot (full power from now on, as the plan without prices does past its latest start).

With a forecast the need grows while the car waits (sunny time passes, the house's average moves): a
waiting plan buys in the current period only once the need is HYSTERESIS of full power (or it is
late), else it would stop and start again every few seconds at the margin. A running charge stops when
the need is met, so nothing is bought beyond it. So that what waits and what the sun fails to bring can
still be bought, HYSTERESIS more before the deadline is kept free. Without a forecast the need only
shrinks: no hysteresis.
"""

from __future__ import annotations

from dataclasses import dataclass

from pvcontrol.models import ForecastData, PlanSlot, TariffData
from pvcontrol.plausibility import MAX_FUTURE_SKEW

PLAN_MARGIN = 0.1  # as the latest-start plan: 10 % more time than full power needs
UNKNOWN_PIECE = 900.0  # s: time without a price is taken in pieces this long, latest first
HYSTERESIS = 600.0  # s of full power a waiting plan lets the need grow to before it buys (forecast only)
TARIFF_MAX_AGE = 7200.0  # s: an older `P/tariff/state` counts as no prices (its service publishes often)
HOUSE_AVERAGE_TIME = 3600.0  # s: time constant of the house consumption the sun estimate subtracts


@dataclass(frozen=True)
class Market:
    """What a plan may buy with: the prices, the forecast, and what the sun leaves for the car."""

    tariff: TariffData
    forecast: ForecastData | None = None  # None: no sun counted
    house_w: float = 0.0  # the house's consumption without the car (averaged)
    forecast_margin: float = 0.9  # share of the forecast PV counted on
    min_car_w: float = 1380.0  # below this surplus the car takes no sun (Imin, one phase)

    def price_at(self, when: float) -> float | None:
        period = self.tariff.period_at(when)
        return period.grid_price if period is not None else None

    def sun_wh(self, start: float, end: float, full_power_w: float) -> float:
        """Wh the car can expect from the sun from `start` to `end`: the forecast PV times the margin,
        less the house, where that is at least what the car takes, at most full power."""
        if self.forecast is None:
            return 0.0
        total = 0.0
        for period in self.forecast.periods:
            overlap = min(end, period.end) - max(start, period.start)
            surplus = self.forecast_margin * period.power_pv - self.house_w
            if overlap > 0 and surplus >= self.min_car_w:
                total += min(surplus, full_power_w) * overlap / 3600
        return total


@dataclass(frozen=True)
class Window:
    """A stretch of time before the deadline with one price (None: unknown)."""

    start: float
    end: float
    price: float | None

    @property
    def seconds(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class Purchase:
    """The plan's grid purchase as re-planned this cycle."""

    slots: tuple[PlanSlot, ...]  # chronological
    grid_wh: float  # energy still to buy from the grid
    sun_wh: float  # what the forecast sun is counted on for
    cost: float | None  # of grid_wh at the slots' prices (cheapest first); None if an unknown one is used
    charge_now: bool
    finish: float | None  # when the slots, at full power, have bought grid_wh (None: nothing to buy)
    achievable: bool


def usable_tariff(tariff: TariffData | None, now: float) -> TariffData | None:
    """The tariff if a plan may go by it: fresh, not from the future, with a price for some time ahead."""
    if tariff is None or now - tariff.ts > TARIFF_MAX_AGE or tariff.ts - now > MAX_FUTURE_SKEW:
        return None
    if not any(p.end > now and p.end > p.start for p in tariff.periods):
        return None
    return tariff


def windows(tariff: TariffData, now: float, deadline: float) -> list[Window]:
    """[now, deadline) cut into the tariff's periods, gaps as quarter hours of unknown price (counted back
    from the gap's end); a period that overlaps an earlier one is cut to start after it."""
    result: list[Window] = []
    at = now
    for period in sorted(tariff.periods, key=lambda p: p.start):
        start, end = max(period.start, at), min(period.end, deadline)
        if end <= start:
            continue
        result.extend(_unknown(at, start))
        result.append(Window(start, end, period.grid_price))
        at = end
    result.extend(_unknown(at, deadline))
    return result


def _unknown(start: float, end: float) -> list[Window]:
    pieces = []
    while end > start:
        pieces.append(Window(max(start, end - UNKNOWN_PIECE), end, None))
        end -= UNKNOWN_PIECE
    return pieces[::-1]


def plan_purchase(
    market: Market, now: float, deadline: float, needed_wh: float, full_power_w: float, charging: bool
) -> Purchase:
    """The slots for `needed_wh` by `deadline`; `charging`: the plan charged from the grid last cycle."""
    sun_wh = market.sun_wh(now, deadline, full_power_w)
    grid_wh = needed_wh - sun_wh  # < 0: the sun is forecast to bring more than needed
    sun = min(sun_wh, needed_wh)
    if grid_wh <= 0:
        return Purchase((), 0.0, round(sun, 1), 0.0, False, None, True)
    full_power_s = grid_wh / full_power_w * 3600
    kept_free = full_power_s * PLAN_MARGIN + (HYSTERESIS if market.forecast is not None else 0.0)
    late = deadline - now <= full_power_s + kept_free
    cutoff = deadline if late else deadline - kept_free
    candidates = windows(market.tariff, now, cutoff)
    if not charging and not late and market.forecast is not None and full_power_s < HYSTERESIS:
        candidates = candidates[1:]  # a small need waits: not the current period

    def rank(window: Window) -> tuple[bool, float, bool, float]:
        continuing = charging and window.start <= now
        return (window.price is None, window.price or 0.0, not continuing, -window.start)

    chosen: list[Window] = []
    covered = 0.0
    for window in sorted(candidates, key=rank):
        if covered >= full_power_s and not late:
            break
        chosen.append(window)
        covered += window.seconds
    cost = _cost(chosen, grid_wh, full_power_w)
    chosen.sort(key=lambda w: w.start)
    finish = _finish(chosen, full_power_s)
    if finish is None:  # the time left is too short: full power from now on, as long as it takes
        finish = now + full_power_s
    return Purchase(
        slots=tuple(PlanSlot(start=w.start, end=w.end, grid_price=w.price) for w in chosen),
        grid_wh=round(grid_wh, 1),
        sun_wh=round(sun, 1),
        cost=cost,
        charge_now=any(w.start <= now < w.end for w in chosen),
        finish=finish,
        achievable=finish <= deadline,
    )


def _cost(chosen: list[Window], grid_wh: float, full_power_w: float) -> float | None:
    """grid_wh bought in the chosen windows, the cheapest first (the order they were chosen in)."""
    left, cost = grid_wh, 0.0
    for window in chosen:
        bought = min(left, window.seconds / 3600 * full_power_w)
        if bought <= 0:
            break
        if window.price is None:
            return None
        cost += bought / 1000 * window.price
        left -= bought
    return round(cost, 4)


def _finish(chosen: list[Window], full_power_s: float) -> float | None:
    """When the chronological slots have given `full_power_s` of charging, None if they cannot."""
    left = full_power_s
    for window in chosen:
        if window.seconds >= left:
            return window.start + left
        left -= window.seconds
    return None
