"""Pure price arithmetic: checking an answer, the price paid, the periods from now on, the fixed prices."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

from pvcontrol.device import DeviceError
from pvcontrol.models import TariffPeriod
from services.tariff.device import Price, Prices

HOUR = 3600.0
FIXED_HOURS = 48  # how far the fixed prices reach
MIN_PERIOD = 300.0  # s; a shorter (or longer) period is not a tariff's
MAX_PERIOD = 86_400.0
MAX_PRICE = 100.0  # per kWh in any currency: beyond it an answer is absurd (EPEX's cap is 4-5 EUR/kWh)
MIN_PRICE = -10.0


def checked(prices: Prices, now: float) -> Prices:
    """`prices` if they are plausible and hold `now`, else DeviceError saying why."""
    periods = prices.periods
    if not periods:
        raise DeviceError("no prices in the answer")
    for p in periods:
        if not all(math.isfinite(v) for v in (p.start, p.end, p.price)):
            raise DeviceError(f"a price or time is not a finite number: {p}")
        if not MIN_PERIOD <= p.end - p.start <= MAX_PERIOD:
            raise DeviceError(f"a period of {p.end - p.start:.0f} s is not a tariff's")
        if not MIN_PRICE <= p.price <= MAX_PRICE:
            raise DeviceError(f"implausible price {p.price:g} {prices.currency}/kWh")
    if any(b.start < a.end for a, b in itertools.pairwise(periods)):
        raise DeviceError("the periods overlap or are not sorted")
    if not any(p.start <= now < p.end for p in periods):
        raise DeviceError("no price for the current period")
    return prices


def paid(prices: Prices, markup: float, vat: float, feed_in: float) -> list[TariffPeriod]:
    """The periods as the user pays them: (market + markup) x (1 + vat) for market prices."""
    return [
        TariffPeriod(
            start=p.start,
            end=p.end,
            grid_price=round((p.price + markup) * (1 + vat) if prices.market else p.price, 6),
            feed_in=feed_in,
        )
        for p in prices.periods
    ]


def from_now(periods: Sequence[TariffPeriod], now: float) -> list[TariffPeriod]:
    """The periods from the one holding `now` on; empty when none holds it (the prices ran out)."""
    rest = [p for p in periods if p.end > now]
    return rest if rest and rest[0].start <= now else []


def fixed(now: float, price: float) -> list[Price]:
    """One price for every hour from the one holding `now`, FIXED_HOURS on."""
    first = now // HOUR * HOUR
    return [Price(first + i * HOUR, first + (i + 1) * HOUR, price) for i in range(FIXED_HOURS)]


def knows_tomorrow(periods: Sequence[TariffPeriod], tomorrow_end: float) -> bool:
    """True when the periods reach (within an hour: another zone's midnight) the end of tomorrow."""
    return bool(periods) and periods[-1].end >= tomorrow_end - HOUR
