"""Copy me to add a car: `services/car/<yourcar>.py` holds the config model and the adapter.

Rename `TemplateCar*` (keep `type` the name users write in `car.type`), register it in
`services/car/registry.py`, add a fake of the car's API in `tests/fakes/`, a test in `tests/devices/` and a
section with a JSON and an env example in docs/devices.md. Set `wakes_the_car` when a read may wake the car:
the service then reads it only when it matters. Secrets are `SecretStr`: they never reach `P/car/config`.
"""

from __future__ import annotations

import time
from typing import Literal

from pydantic import Field, SecretStr

from pvcontrol.device import DeviceError, json_number
from pvcontrol.http_client import JsonHttpClient
from pvcontrol.models import CarData
from services.car.device import Car, CarBase


class TemplateCarConfig(CarBase):
    type: Literal["TemplateCar"] = "TemplateCar"
    url: str
    token: SecretStr
    timeout: float = Field(default=10.0, gt=0)


class TemplateCar(Car):
    wakes_the_car = True

    def __init__(self, config: TemplateCarConfig) -> None:
        self._http = JsonHttpClient(config.url, config.timeout)
        self._token = config.token

    async def read(self) -> CarData:
        document = await self._http.get("/vehicle", {"token": self._token.get_secret_value()})
        if not isinstance(document, dict):
            raise DeviceError("TemplateCar: expected an object")
        return CarData(ts=time.time(), soc=json_number(document.get("soc"), "TemplateCar: soc"))

    async def close(self) -> None:
        self._http.close()
