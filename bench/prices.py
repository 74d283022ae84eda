"""Day-ahead price curves for the benchmark: `P/tariff/state` documents as the tariff service publishes them.

Three real-shaped days of hourly market prices (EUR/MWh, in the manner of the EPEX day-ahead auction for
DE-LU/AT), turned into what the user pays as the tariff service does: (market / 1000 + MARKUP) x (1 + VAT).

- `winter_weekday`: a January weekday, morning peak 07-09, evening peak 17-20, night ~80.
- `sunny_spring`: a sunny April Sunday, solar glut at noon down to -15 EUR/MWh, evening ramp to 150.
- `windy_night`: a windy night valley (30 at 03:00), flat-ish 95-110 through the day.
"""

from __future__ import annotations

from bench.day import STEP
from pvcontrol.models import TariffData, TariffPeriod

MARKUP = 0.15  # EUR/kWh: grid fees, levies and the supplier's margin
VAT = 0.2
FEED_IN = 0.08  # EUR/kWh for exported PV
_MARKET = {  # EUR/MWh for the hours 00-23
    "winter_weekday": "90 85 80 78 80 88 110 150 160 140 125 118 112 110 115 125 145 180 195 175 150 130 "
    "115 100",
    "sunny_spring": "95 90 85 82 84 90 105 120 95 60 20 -5 -15 -10 5 40 80 115 140 150 135 120 110 100",
    "windy_night": "60 45 35 30 32 45 80 100 105 100 98 96 95 95 96 98 102 110 120 118 108 95 80 70",
}
CURVES = {name: tuple(float(p) for p in hours.split()) for name, hours in _MARKET.items()}
HOUR_STEPS = int(3600 / STEP)


def user_price(market_eur_mwh: float) -> float:
    return round((market_eur_mwh / 1000 + MARKUP) * (1 + VAT), 4)


class TariffFeed:
    """Callable with the step index: the `P/tariff/state` the law sees then (published every hour, the
    periods from the current hour to the end of the day)."""

    def __init__(self, curve: str, start: float) -> None:
        self.prices = [user_price(p) for p in CURVES[curve]]
        self.start = start
        self._documents: dict[int, TariffData] = {}

    def price_at_step(self, k: int) -> float:
        return self.prices[min(k // HOUR_STEPS, len(self.prices) - 1)]

    def __call__(self, k: int) -> TariffData:
        hour = k // HOUR_STEPS
        if hour not in self._documents:
            start = self.start
            periods = [
                TariffPeriod(
                    start=start + h * 3600, end=start + h * 3600 + 3600, grid_price=p, feed_in=FEED_IN
                )
                for h, p in enumerate(self.prices)
                if h >= hour
            ]
            self._documents[hour] = TariffData(
                ts=self.start + hour * 3600, source="bench", currency="EUR", periods=periods
            )
        return self._documents[hour]
