"""The car service: publishes the car's state of charge on `P/car/state`."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable

from prometheus_client import Counter, Gauge

from pvcontrol import plausibility
from pvcontrol.broker import BrokerAddress
from pvcontrol.models import CarData, WallboxData, now
from pvcontrol.polling import Poller
from pvcontrol.service import ConfiguredService, sleep_or_stop
from pvcontrol.topics import Topics
from services.car.device import Car
from services.car.settings import CarSettings
from services.car.soc_polling import PollSchedule, SocEstimate

SOC = Gauge("pvcontrol_car_soc_ratio", "Car state of charge (0..1)")
CRUISING_RANGE = Gauge("pvcontrol_car_cruising_range_km", "Remaining range")
CLOUD_CALLS = Counter("pvcontrol_car_cloud_calls", "Reads of the car maker's cloud")
SCHEDULE_TICK = 1.0  # s; how often a due poll is looked for


class CarService(ConfiguredService[CarSettings]):
    name = "car"

    def __init__(
        self,
        config: CarSettings,
        car: Car,
        broker: BrokerAddress,
        topics: Topics,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(config, broker, topics)
        self.car = car
        self.plausible = plausibility.SourceCheck[CarData](clock=clock, log=self.log)
        self.poller = Poller("car", self._read, self._publish, CarData, self.log)
        self.schedule = PollSchedule(config.poll_interval, now)
        self.estimate = SocEstimate(config.battery_capacity * 1000, config.charging_efficiency)
        self.charged_energy = 0.0
        self._published_estimate: float | None = None
        self.link.on(topics.state("wallbox"), self._on_wallbox_state)

    async def _read(self) -> CarData:
        if self.car.wakes_the_car:
            CLOUD_CALLS.inc()
        data = self.plausible.check(await self.car.read())
        self.estimate.real(data, self.charged_energy)
        self._published_estimate = None
        return data

    async def _publish(self, data: CarData) -> None:
        # An unknown SOC is no value (NaN; Grafana shows none): a 0 would read as an empty battery,
        # and a 0 km range as a car that cannot move.
        if data.soc_known:
            SOC.set(data.soc / 100)
            CRUISING_RANGE.set(data.cruising_range)
        else:
            SOC.set(math.nan)
            CRUISING_RANGE.set(math.nan)
        await self.publish_state(data)

    async def _on_wallbox_state(self, payload: bytes) -> None:
        wallbox = self.parse_state(WallboxData, payload, "wallbox")
        if wallbox is None or plausibility.problem(wallbox, now()) is not None:
            return  # an implausible charged energy must not move the SOC estimate
        self.car.on_wallbox_state(wallbox)
        self.charged_energy = wallbox.charged_energy
        if self.car.wakes_the_car:
            self.schedule.on_wallbox(wallbox)
            await self._publish_estimate()

    async def _publish_estimate(self) -> None:
        """Between real readings: the last one plus what the wallbox charged since."""
        soc = self.estimate.estimate(self.charged_energy)
        reading = self.estimate.reading
        if soc is None or reading is None or self.poller.errors or round(soc, 1) == self._published_estimate:
            return
        self._published_estimate = round(soc, 1)
        at_full = reading.cruising_range / reading.soc * 100 if reading.soc > 0 else 0.0
        estimated = reading.model_copy(
            update={
                "ts": now(),
                "soc": round(soc, 1),
                "cruising_range": round(at_full * soc / 100),
                "soc_estimated": True,
            }
        )
        if plausibility.problem(estimated, now()) is None:
            await self._publish(estimated)

    async def _poll_when_it_matters(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            if self.schedule.due():
                await self.poller.poll_once()
                if self.poller.errors:
                    delay = self.schedule.failed()
                    self.log.info(
                        "car cloud failed %d times in a row; next try in %.0f s", self.poller.errors, delay
                    )
                else:
                    self.schedule.succeeded()
            await sleep_or_stop(stop, SCHEDULE_TICK)

    async def main(self, stop: asyncio.Event) -> None:
        try:
            if self.car.wakes_the_car:
                await self._poll_when_it_matters(stop)
            else:
                await self.poller.run(self.config.poll_interval, stop)
        finally:
            await self.car.close()
