"""The meter service: reads the inverter/meter and publishes `P/meter/state`."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from pvcontrol.broker import BrokerAddress
from pvcontrol.models import MeterData, WallboxData
from pvcontrol.plausibility import SourceCheck
from pvcontrol.polling import Poller
from pvcontrol.service import ConfiguredService
from pvcontrol.topics import Topics
from services.meter import metrics
from services.meter.device import Meter, NeedsWallboxPower
from services.meter.settings import MeterSettings

# After this many consecutive failures the last values are no longer trusted (as in the original).
MAX_ERRORS_KEEPING_DATA = 3


class MeterPoller(Poller[MeterData]):
    def on_failure(self) -> MeterData:
        if self.errors <= MAX_ERRORS_KEEPING_DATA:
            return super().on_failure()
        # Zeros keep the `ts` of the last good reading, so they turn stale and the controller stops
        # PV charging instead of trusting made-up values.
        ts = self.last.ts if self.last is not None else 0.0
        return MeterData(ts=ts, error=self.errors)


class MeterService(ConfiguredService[MeterSettings]):
    name = "meter"

    def __init__(
        self,
        config: MeterSettings,
        meter: Meter,
        broker: BrokerAddress,
        topics: Topics,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(config, broker, topics)
        self.meter = meter
        self.plausible = SourceCheck[MeterData](config.plant_power_limit, clock, log=self.log)
        self.poller = MeterPoller("meter", self._read, self._publish, MeterData, self.log)
        self.car_power_user = meter if isinstance(meter, NeedsWallboxPower) else None
        if self.car_power_user is not None:
            self.link.on(topics.state("wallbox"), self._on_wallbox_state)

    async def _read(self) -> MeterData:
        return self.plausible.check(await self.meter.read())

    async def _publish(self, data: MeterData) -> None:
        metrics.record(data)
        await self.publish_state(data)

    async def _on_wallbox_state(self, payload: bytes) -> None:
        wallbox = self.parse_state(WallboxData, payload, "wallbox")
        if wallbox is not None and self.car_power_user is not None:
            self.car_power_user.on_wallbox_state(wallbox)

    async def main(self, stop: asyncio.Event) -> None:
        try:
            await self.poller.run(self.config.poll_interval, stop)
        finally:
            await self.meter.close()
