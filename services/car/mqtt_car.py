"""A car whose SOC (and optionally range and mileage) arrives over MQTT: an OBD dongle (e.g. WiCAN,
evcc's or Home Assistant's integrations republished), or any bridge from a car app. No cloud is asked."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Literal

from pydantic import Field, SecretStr, field_validator

from pvcontrol.device import DeviceError
from pvcontrol.models import CarData
from pvcontrol.mqtt_values import MqttValue, MqttValues, broker_address, mqtt_url
from services.car.device import Car, CarBase

log = logging.getLogger("pvcontrol.car.mqtt")


class MqttCarConfig(CarBase):
    type: Literal["MqttCar"] = "MqttCar"
    poll_interval: float = Field(default=10.0, gt=0, description="s between publishing what arrived")
    url: str = Field(default="mqtt://localhost:1883", description="the broker the SOC is published to")
    username: str | None = None
    password: SecretStr | None = None
    stale_after: float = Field(
        default=43_200.0, gt=0, description="s; a parked car's dongle may publish rarely (retained helps)"
    )
    soc: MqttValue = Field(description="%")
    cruising_range: MqttValue | None = Field(default=None, description="km")
    mileage: MqttValue | None = Field(default=None, description="km")

    _url = field_validator("url")(mqtt_url)


class MqttCar(Car):
    def __init__(self, config: MqttCarConfig, clock: Callable[[], float] = time.monotonic) -> None:
        password = config.password.get_secret_value() if config.password else None
        sources = {"soc": config.soc, "cruising_range": config.cruising_range, "mileage": config.mileage}
        self.values = MqttValues(
            broker_address(config.url, config.username, password),
            {name: source for name, source in sources.items() if source is not None},
            config.stale_after,
            "MQTT car",
            log,
            clock,
        )

    async def read(self) -> CarData:
        values = await self.values.values()
        if not 0 <= values["soc"] <= 100:
            raise DeviceError(f"MQTT car: soc {values['soc']} is not a percentage (check the scale)")
        return CarData(ts=time.time(), **values)

    async def close(self) -> None:
        await self.values.close()
