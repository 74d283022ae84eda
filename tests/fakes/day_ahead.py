"""A real-shaped day-ahead price curve for the tariff fakes (EUR/MWh per hour of the day in Berlin):
cheap nights, a morning peak, a midday solar trough going negative, the evening peak; each later day a
little dearer, so a refreshed answer differs from the last."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from tests.fakes.http import FakeHttpDevice

BERLIN = ZoneInfo("Europe/Berlin")
LONDON = ZoneInfo("Europe/London")
HOURLY = [
    92.1, 85.4, 81.0, 81.0, 80.2, 88.7, 109.5, 131.8, 124.0, 98.2, 61.5, 22.4,
    -4.8, -12.5, 3.1, 38.9, 84.6, 122.7, 161.3, 179.9, 158.2, 131.4, 112.0, 99.6,
]  # fmt: skip
EPOCH_DAY = datetime(2026, 1, 1, tzinfo=BERLIN).date()


def eur_per_mwh(ts: float) -> float:
    """The price of the hour holding `ts`; in the daytime each 15 minutes a little dearer, at night the
    same for the whole hour (and 02:00 the same as 03:00), so a curve of type A03 leaves points out."""
    local = datetime.fromtimestamp(ts, BERLIN)
    day = (local.date() - EPOCH_DAY).days % 7
    ripple = 0.8 * (local.minute // 15) if 6 <= local.hour < 22 else 0.0
    return round(HOURLY[local.hour] + 2.5 * day + ripple, 2)


def midnight(ts: float, tz: ZoneInfo = BERLIN, days: int = 0) -> float:
    day = datetime.fromtimestamp(ts, tz).date() + timedelta(days=days)
    return datetime(day.year, day.month, day.day, tzinfo=tz).timestamp()


class DayAheadFake(FakeHttpDevice):
    """A day-ahead price source: today's prices until `publish_tomorrow()`, `override` sent instead of the
    answer when set (bad shapes)."""

    def __init__(self, clock: Callable[[], float] = time.time, port: int = 0) -> None:
        super().__init__(port)
        self.clock = clock
        self.tomorrow = False
        self.override: object = None

    def publish_tomorrow(self) -> None:
        with self.lock:
            self.tomorrow = True
