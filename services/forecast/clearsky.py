"""`ClearSky`: the roof under a cloudless sky (pvlib), no internet; the default, every source's fallback."""

from __future__ import annotations

import asyncio
from typing import Literal

from pvcontrol.local_time import midnight, zone
from pvcontrol.models import ForecastPeriod
from services.forecast.device import ForecastBase, ForecastSource
from services.forecast.solar import clear_sky


class ClearSkyConfig(ForecastBase):
    type: Literal["ClearSky"] = "ClearSky"


class ClearSky(ForecastSource):
    """Today and tomorrow (local), computed again for each new day."""

    def __init__(self, config: ForecastBase) -> None:
        self.config = config
        self.tz = zone(config.timezone)
        self._day: float | None = None
        self._periods: list[ForecastPeriod] = []

    async def fetch(self, now: float) -> list[ForecastPeriod]:
        day = midnight(now, self.tz)
        if day != self._day:
            c = self.config
            self._periods = await asyncio.to_thread(
                clear_sky,
                c.latitude,
                c.longitude,
                c.altitude,
                c.planes,
                c.losses,
                day,
                midnight(now, self.tz, 2),
            )
            self._day = day
        return self._periods
