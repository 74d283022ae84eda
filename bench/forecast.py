"""The forecasts the benchmark feeds to the law: `P/forecast/state` documents built from the simulated day.

Four kinds (bench/README.md): `perfect` (the day's own PV as 15-minute averages), `errors` (that times a
seeded factor per hour, lognormal with sigma 0.3 and median 1), `wrong_sky` (the clear sky promised for
the roof, the seeded clouds delivered) and `none` (no forecast: `LawInputs.forecast` is None). Tomorrow is
the same day again. A new document is published every minute (as the forecast service does), with the
periods from the current one to the end of tomorrow; `errors` and `wrong_sky` get the service's nowcast
correction: the rest of today is scaled by the PV measured in the last hour over what the forecast said
for it, bounded to 0.1-1.5 (no correction while the forecast for that hour averages under 5 % of the
roof's 7 kWp: night, dawn, dusk).
"""

from __future__ import annotations

from typing import Any

import numpy as np  # type: ignore[import-not-found, unused-ignore]

from bench.day import STEP, Day
from pvcontrol.models import ForecastData, ForecastPeriod

FORECASTS = ("perfect", "errors", "wrong_sky", "none")
PERIOD = 900.0  # s
PERIOD_STEPS = int(PERIOD / STEP)
PUBLISH_STEPS = int(60 / STEP)
HOUR_STEPS = int(3600 / STEP)
NOWCAST_BOUNDS = (0.1, 1.5)
NOWCAST_MIN_W = 0.05 * 7000.0
ERROR_SIGMA = 0.3


class ForecastFeed:
    """Callable with the step index: the document the law sees at that step (or None for `none`)."""

    def __init__(self, day: Day, kind: str, seed: int) -> None:
        self.day, self.kind = day, kind
        truth = np.asarray(day.pv)
        self.measured_sum = np.concatenate(([0.0], np.cumsum(truth)))  # W x steps, for hourly means
        promised = np.asarray(day.clear) if kind == "wrong_sky" else truth
        per_period = promised.reshape(-1, PERIOD_STEPS).mean(axis=1)
        raw = np.concatenate((per_period, per_period))  # today and tomorrow (the same day again)
        if kind == "errors":
            rng = np.random.default_rng([seed, 7, int(day.start)])
            hourly = rng.lognormal(0.0, ERROR_SIGMA, 48)
            raw = raw * np.repeat(hourly, 4)
        self.raw: Any = raw
        self.raw_sum = np.concatenate(([0.0], np.cumsum(np.repeat(raw, PERIOD_STEPS))))
        self.nowcast = kind in ("errors", "wrong_sky")
        self.periods = [self._period(i, float(p)) for i, p in enumerate(raw)]  # validated, uncorrected
        self._published = -1
        self._document: ForecastData | None = None

    def __call__(self, k: int) -> ForecastData | None:
        if self.kind == "none":
            return None
        published = k - k % PUBLISH_STEPS
        if published != self._published:
            self._published, self._document = published, self._build(published)
        return self._document

    def correction(self, k: int) -> float:
        """Mean PV power measured over the last hour over the raw forecast's mean for it, bounded."""
        if not self.nowcast or k < HOUR_STEPS:
            return 1.0
        measured = float(self.measured_sum[k] - self.measured_sum[k - HOUR_STEPS]) / HOUR_STEPS
        promised = float(self.raw_sum[k] - self.raw_sum[k - HOUR_STEPS]) / HOUR_STEPS
        if promised < NOWCAST_MIN_W:
            return 1.0
        low, high = NOWCAST_BOUNDS
        return min(high, max(low, measured / promised))

    def _period(self, i: int, power: float) -> ForecastPeriod:
        return ForecastPeriod(
            start=self.day.start + i * PERIOD, end=self.day.start + (i + 1) * PERIOD, power_pv=power
        )

    def _build(self, k: int) -> ForecastData:
        now = self.day.start + k * STEP
        factor = self.correction(k)
        today, first = len(self.raw) // 2, k // PERIOD_STEPS
        periods = self.periods[first:]
        if factor != 1.0:  # today's scaled; a factor > 0 of valid periods needs no validation again
            periods = [
                ForecastPeriod.model_construct(start=p.start, end=p.end, power_pv=p.power_pv * factor)
                for p in self.periods[first:today]
            ] + self.periods[today:]
        hours = STEP / 3600  # the energies as ForecastData.energy_between gives them, from the sums
        end = len(self.raw_sum) - 1
        return ForecastData(
            ts=now,
            source=f"bench {self.kind}",
            periods=periods,
            sunrise=self.day.sunrise,
            sunset=self.day.sunset,
            energy_today_remaining=factor * float(self.raw_sum[end // 2] - self.raw_sum[k]) * hours,
            energy_tomorrow=float(self.raw_sum[end] - self.raw_sum[end // 2]) * hours,
        )
