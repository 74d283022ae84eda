"""The forecast service: the source's forecast (ClearSky when it fails), corrected by the meter's PV power,
published as `P/forecast/state` every `publish_interval` s."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable

from pvcontrol.broker import BrokerAddress
from pvcontrol.device import DeviceError
from pvcontrol.local_time import midnight, zone
from pvcontrol.models import ForecastData, ForecastPeriod, MeterData
from pvcontrol.throttle import Episode
from pvcontrol.topics import Topics
from pvcontrol.web_source import WebSourceService
from services.forecast import metrics, periods
from services.forecast.clearsky import ClearSky
from services.forecast.device import ForecastSource
from services.forecast.nowcast import Nowcast
from services.forecast.settings import ForecastSettings
from services.forecast.solar import sun_times

CLEAR_SKY = "ClearSky"
METER_FRESH = 60.0  # s; an older (or future) meter reading is not compared with the forecast
MIN_FORECAST_SHARE = 0.05  # of the roof's kWp: below it the nowcast does not compare (dawn, dusk)


class ForecastService(WebSourceService[ForecastSettings, ForecastSource]):
    name = "forecast"
    stand_in = "ClearSky stands in"
    last_update = metrics.LAST_UPDATE

    def __init__(
        self,
        config: ForecastSettings,
        source: ForecastSource,
        broker: BrokerAddress,
        topics: Topics,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(config, source, broker, topics, clock, config.type)
        self.tz = zone(config.timezone)
        self.clear_sky = source if config.type == CLEAR_SKY else ClearSky(config)
        self.forecast: list[ForecastPeriod] = []  # the source's last good answer
        self.baseline: list[ForecastPeriod] = []  # ClearSky
        self.model_failure = Episode(self.log, "the clear-sky model failed")
        self.sun: tuple[float, tuple[float | None, float | None]] | None = None
        minimum = MIN_FORECAST_SHARE * config.kwp * 1000.0
        self.nowcast = Nowcast(config.nowcast_window, config.nowcast_min, config.nowcast_max, minimum)
        self.nowcast_clear_sky = Nowcast(
            config.nowcast_window, config.nowcast_min, config.nowcast_max, minimum
        )
        self.link.on(topics.state("meter"), self._on_meter_state)

    @property
    def fallback(self) -> bool:
        return self.errors > 0 or not self.forecast

    async def _on_meter_state(self, payload: bytes) -> None:
        meter = self.parse_state(MeterData, payload, "meter")
        now = self.clock()
        if meter is None or meter.error or abs(now - meter.ts) > METER_FRESH:
            return
        if not 0 <= meter.power_pv <= self.config.max_power:
            return
        for nowcast, forecast in ((self.nowcast, self.forecast), (self.nowcast_clear_sky, self.baseline)):
            expected = periods.power_at(forecast, meter.ts)
            if expected is not None:
                nowcast.add(meter.ts, meter.power_pv, expected)

    async def _fetch(self, now: float) -> None:
        retry_in = min(self.config.retry_interval, self.config.poll_interval)
        answer = await self.call_source(now, self._checked(now), retry_in)
        if answer is not None:
            self.forecast = answer
            self.next_fetch = now + self.config.poll_interval

    async def _checked(self, now: float) -> list[ForecastPeriod]:
        return self._validated(await self.source.fetch(now))

    def _validated(self, answer: list[ForecastPeriod]) -> list[ForecastPeriod]:
        for period in answer:
            if period.power_pv > self.config.max_power:
                raise DeviceError(
                    f"{period.power_pv:.0f} W is implausible for a {self.config.kwp:g} kWp roof"
                )
        if any(b.start < a.end for a, b in itertools.pairwise(answer)):
            raise DeviceError("the periods overlap or are not sorted")
        return answer

    async def _baseline(self, now: float) -> None:
        try:
            self.baseline = await self.clear_sky.fetch(now)
        except Exception as e:  # the model failing leaves the last day's baseline (or none) in place
            self.model_failure.seen(f"{type(e).__name__}: {e}", exc_info=True)
            return
        self.model_failure.over()
        day = midnight(now, self.tz)
        if self.sun is None or self.sun[0] != day:
            times = await asyncio.to_thread(
                sun_times, self.config.latitude, self.config.longitude, now, self.tz
            )
            self.sun = (day, times)

    def document(self, now: float) -> tuple[ForecastData, float]:
        grid = periods.slots(now, self.tz)
        clear = [v or 0.0 for v in periods.resample(self.baseline, grid)]
        if self.fallback:
            values, factor = clear, self.nowcast_clear_sky.factor(now)
            source = (
                CLEAR_SKY
                if self.config.type == CLEAR_SKY
                else f"{CLEAR_SKY} (fallback: {self.config.type} failed)"
            )
        else:
            values, gaps = periods.merge(periods.resample(self.forecast, grid), clear)
            factor = self.nowcast.factor(now)
            source = f"{self.config.type} ({CLEAR_SKY} where it has no data)" if gaps else self.config.type
        corrected = periods.corrected(grid, values, midnight(now, self.tz, 1), factor)
        sun = self.sun[1] if self.sun is not None else (None, None)
        return periods.document(now, self.tz, corrected, source, self.errors, sun), factor

    async def update(self) -> ForecastData:
        now = self.clock()
        await self._baseline(now)
        if self.source is self.clear_sky:
            self.forecast = self.baseline
            metrics.LAST_UPDATE.set(now)
        elif now >= self.next_fetch:
            await self._fetch(now)
        data, factor = self.document(now)
        metrics.record(data, factor, self.fallback and self.config.type != CLEAR_SKY)
        await self.publish_state(data)
        return data

    async def step(self) -> float:
        started = asyncio.get_running_loop().time()
        await self.update()
        return self.config.publish_interval - (asyncio.get_running_loop().time() - started)
