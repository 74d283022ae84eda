"""What a session's energy cost at the prices of the minutes it was charged in (`P/tariff/state`).

Each step of a session (one wallbox reading to the next) spreads its grid energy and its solar and
battery energy evenly over its interval; the time a tariff period covers is priced at that period's
`grid_price` (bought) and `feed_in` (what the solar and battery energy would have earned instead), the
rest is left to the history settings' flat prices, as are the sessions recorded before any prices were
known and the energy charged while the gateway was down (its minutes are unknown). A session keeps the
priced part (`Priced`: its cost and energy), so its cost is that plus the rest at the flat prices: with
no tariff it is exactly the flat cost it always was.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from pvcontrol.models import TariffData

# A price beyond this per kWh (in any currency) is a broken document, not a tariff.
MAX_PRICE = 10_000.0
CURRENCY = re.compile(r"[A-Z]{3}")  # ISO 4217 (it becomes Home Assistant's unit)


@dataclass(frozen=True)
class Priced:
    """The part of some energy that a tariff priced: what it cost, and how much energy that was."""

    cost: float = 0.0  # currency: grid energy bought + solar/battery energy's feed-in forgone
    grid_wh: float = 0.0
    solar_wh: float = 0.0  # PV and home battery

    def __add__(self, other: Priced) -> Priced:
        return Priced(self.cost + other.cost, self.grid_wh + other.grid_wh, self.solar_wh + other.solar_wh)


NOTHING_PRICED = Priced()


def cost_with(priced: Priced, grid_wh: float, solar_wh: float, grid_price: float, feed_in: float) -> float:
    """The cost of `grid_wh` bought and `solar_wh` not sold: the priced part at its own prices, the rest at
    the flat ones."""
    grid = (grid_wh - priced.grid_wh) / 1000 * grid_price
    forgone = (solar_wh - priced.solar_wh) / 1000 * feed_in
    return round(priced.cost + grid + forgone, 4)


def price_step(
    grid_wh: float, solar_wh: float, start: float, end: float, tariff: TariffData | None
) -> Priced:
    """The part of one step's energy (charged from `start` to `end`, epoch s) that `tariff` prices."""
    if tariff is None or (grid_wh <= 0 and solar_wh <= 0):
        return NOTHING_PRICED
    if end <= start:  # one instant: the period holding it
        period = tariff.period_at(end)
        if period is None:
            return NOTHING_PRICED
        return Priced((grid_wh * period.grid_price + solar_wh * period.feed_in) / 1000, grid_wh, solar_wh)
    priced = NOTHING_PRICED
    for period in tariff.periods:
        overlap = min(end, period.end) - max(start, period.start)
        if overlap <= 0:
            continue
        share = overlap / (end - start)
        grid, solar = grid_wh * share, solar_wh * share
        priced += Priced((grid * period.grid_price + solar * period.feed_in) / 1000, grid, solar)
    return priced


def tariff_problem(tariff: TariffData) -> str | None:
    """Why `tariff` cannot price energy, or None: its periods must be in order, each of some length, none
    overlapping the next, with prices a supplier can charge, in a currency's ISO 4217 code."""
    if not CURRENCY.fullmatch(tariff.currency):
        return f"currency {tariff.currency[:20]!r} is no ISO 4217 code"
    previous_end = -math.inf
    for period in tariff.periods:
        when = f"the period from {period.start:.0f}"
        if period.end <= period.start:
            return f"{when} ends at {period.end:.0f}, not after its start"
        if period.start < previous_end:
            return f"{when} overlaps the one before it (or comes before it)"
        for name, price in (("grid_price", period.grid_price), ("feed_in", period.feed_in)):
            if abs(price) > MAX_PRICE:
                return f"{when} has {name} {price:g}, beyond ±{MAX_PRICE:g} per kWh"
        previous_end = period.end
    return None
