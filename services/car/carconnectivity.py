"""Cars read from the manufacturer's cloud through the `carconnectivity` library and its connectors.

The library is blocking: it runs in a worker thread. There is no background thread of the library's own;
each `read` fetches once. After a failure the session is dropped and the next poll logs in again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from abc import abstractmethod
from typing import Any, ClassVar, Literal

from pydantic import SecretStr

from pvcontrol.device import DeviceError
from pvcontrol.models import CarData
from services.car.device import Car, CarBase

log = logging.getLogger(__name__)


class VolkswagenIDCarConfig(CarBase):
    type: Literal["VolkswagenIDCar"] = "VolkswagenIDCar"
    user: str
    password: SecretStr
    vin: str


class SkodaCarConfig(CarBase):
    """Škoda's public API (carconnectivity-connector-skoda 0.13) takes the MyŠkoda app's API key, no login."""

    type: Literal["SkodaCar"] = "SkodaCar"
    api_key: SecretStr
    vin: str


class CarConnectivityCar(Car):
    wakes_the_car = True
    brand: ClassVar[str]
    connector_type: ClassVar[str]
    min_interval: ClassVar[int]

    def __init__(self, config: VolkswagenIDCarConfig | SkodaCarConfig) -> None:
        self._config = config
        secret = config.api_key if isinstance(config, SkodaCarConfig) else config.password
        self._secret = secret.get_secret_value()
        self._cc: Any = None

    @abstractmethod
    def connector_config(self) -> dict[str, Any]:
        """The connector's own configuration (credentials included)."""

    def _interval(self) -> int:
        """The connector caches data for this long; it must not be below the cloud's rate limit."""
        return max(self.min_interval, int(self._config.poll_interval))

    async def read(self) -> CarData:
        return await asyncio.to_thread(self._read)

    def _read(self) -> CarData:
        try:
            if self._cc is None:
                self._cc = self._login()
            self._cc.fetch_all()
            return self._car_data()
        except Exception as e:
            self._logout()
            if isinstance(e, DeviceError):
                raise
            # Whatever the library or the cloud raised: the message must not leak the secret.
            message = f"{self.brand} cloud: {type(e).__name__}: {e}".replace(self._secret, "***")
            raise DeviceError(message[:300]) from e

    def _login(self) -> Any:
        from carconnectivity.carconnectivity import CarConnectivity

        config = {
            "carConnectivity": {
                "log_level": "error",
                "connectors": [{"type": self.connector_type, "config": self.connector_config()}],
            }
        }
        root = logging.getLogger()
        formatters = [handler.formatter for handler in root.handlers]
        try:
            cc = CarConnectivity(config=config)
        finally:
            # The library sets its own format on every root handler; ours stays.
            for handler, formatter in zip(root.handlers, formatters, strict=False):
                handler.setFormatter(formatter)
        log.info("%s cloud: logged in", self.brand)
        return cc

    def _logout(self) -> None:
        cc, self._cc = self._cc, None
        if cc is not None:
            try:
                cc.shutdown()
            except Exception as e:
                log.debug("%s cloud: shutdown failed: %s", self.brand, type(e).__name__)

    def _car_data(self) -> CarData:
        from carconnectivity.units import Length
        from carconnectivity.vehicle import ElectricVehicle

        vehicle = self._cc.garage.get_vehicle(self._config.vin)
        if not isinstance(vehicle, ElectricVehicle):
            raise DeviceError(f"{self.brand} cloud: the account has no electric vehicle with this VIN")
        drive = vehicle.get_electric_drive()
        if drive is None or drive.level.value is None:
            raise DeviceError(f"{self.brand} cloud: the vehicle reports no battery level")
        captured = drive.level.last_updated
        return CarData(
            ts=time.time(),
            soc=float(drive.level.value),
            cruising_range=_km(drive.range, Length.KM),
            mileage=_km(vehicle.odometer, Length.KM),
            data_captured_at=captured.isoformat() if captured is not None else None,
        )

    async def close(self) -> None:
        await asyncio.to_thread(self._logout)


def _km(attribute: Any, km: Any) -> float:
    if attribute is None or not attribute.enabled or attribute.value is None:
        return 0.0
    return float(attribute.range_in(km) if attribute.unit is not None else attribute.value)


class VolkswagenIDCar(CarConnectivityCar):
    brand = "Volkswagen"
    connector_type = "volkswagen"
    min_interval = 180

    def connector_config(self) -> dict[str, Any]:
        assert isinstance(self._config, VolkswagenIDCarConfig)
        return {"username": self._config.user, "password": self._secret, "interval": self._interval()}


class SkodaCar(CarConnectivityCar):
    """The Škoda connector reads Škoda's public API with the API key of the MyŠkoda app."""

    brand = "Skoda"
    connector_type = "skoda"
    min_interval = 300

    def connector_config(self) -> dict[str, Any]:
        return {"api_key": self._secret, "vins": [self._config.vin], "interval": self._interval()}
