"""The car service: publishes the car's state of charge on `P/car/state`."""

from __future__ import annotations

import asyncio
from typing import Any

from prometheus_client import Gauge

from pvcontrol.broker import BrokerAddress
from pvcontrol.models import CarData, WallboxData
from pvcontrol.polling import Poller
from pvcontrol.service import Service
from pvcontrol.settings import CarSettings, public_config
from pvcontrol.topics import Topics
from services.car.device import Car

SOC = Gauge("pvcontrol_car_soc_ratio", "Car state of charge (0..1)")
CRUISING_RANGE = Gauge("pvcontrol_car_cruising_range_km", "Remaining range")


class CarService(Service):
    name = "car"

    def __init__(self, config: CarSettings, car: Car, broker: BrokerAddress, topics: Topics) -> None:
        super().__init__(broker, topics)
        self.config = config
        self.car = car
        self.poller = Poller("car", car.read, self._publish, CarData, self.log)
        self.link.on(topics.state("wallbox"), self._on_wallbox_state)

    def config_document(self) -> dict[str, Any]:
        return public_config(self.config)

    async def _publish(self, data: CarData) -> None:
        SOC.set(data.soc / 100)
        CRUISING_RANGE.set(data.cruising_range)
        await self.publish_state(data)

    async def _on_wallbox_state(self, payload: bytes) -> None:
        wallbox = self.parse_state(WallboxData, payload, "wallbox")
        if wallbox is not None:
            self.car.on_wallbox_state(wallbox)

    async def main(self, stop: asyncio.Event) -> None:
        try:
            await self.poller.run(self.config.poll_interval, stop)
        finally:
            await self.car.close()
