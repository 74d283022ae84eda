"""VolkswagenIDCar and SkodaCar: the real carconnectivity library with only the manufacturer's cloud faked,
by replacing the connector object (tests/fakes/carcloud.py); no HTTP traffic to any cloud."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import pytest

from pvcontrol.device import DeviceError
from pvcontrol.models import CarData
from pvcontrol.settings import public_config
from services.car.carconnectivity import (
    CarConnectivityCar,
    SkodaCar,
    SkodaCarConfig,
    VolkswagenIDCar,
    VolkswagenIDCarConfig,
)
from tests.fakes import carcloud
from tests.fakes.carcloud import PASSWORD, USER, VIN, Cloud


@pytest.fixture
def cloud(monkeypatch: pytest.MonkeyPatch) -> Cloud:
    return carcloud.install(monkeypatch)


def vw(password: str = PASSWORD) -> VolkswagenIDCar:
    return VolkswagenIDCar(VolkswagenIDCarConfig(user=USER, password=password, vin=VIN))


def skoda(password: str = PASSWORD) -> SkodaCar:
    return SkodaCar(SkodaCarConfig(api_key=password, vin=VIN))


def read(car: CarConnectivityCar) -> CarData:
    return asyncio.run(car.read())


@pytest.mark.parametrize("make", [vw, skoda])
def test_reads_the_vehicle(cloud: Cloud, make: Callable[[], CarConnectivityCar]) -> None:
    data = read(make())
    assert (data.soc, data.cruising_range, data.mileage) == (62.0, 248.0, 18_342.0)
    assert data.data_captured_at == "2024-06-01T11:58:20+00:00"
    assert data.error == 0
    assert data.ts > 0


def test_logs_in_once_and_follows_the_cloud(cloud: Cloud) -> None:
    car = vw()
    read(car)
    cloud.vehicles[VIN].soc = 64.5
    cloud.vehicles[VIN].captured_at = "2024-06-01T12:03:20+00:00"
    data = read(car)
    assert data.soc == 64.5
    assert data.data_captured_at == "2024-06-01T12:03:20+00:00"
    assert (cloud.logins, cloud.fetches) == (1, 2)


@pytest.mark.parametrize("down", ["retrieval", "rate-limit", "auth", "connection"])
def test_cloud_failures_raise_and_log_in_again(cloud: Cloud, down: str) -> None:
    car = vw()
    read(car)
    cloud.down = down
    with pytest.raises(DeviceError):
        read(car)
    cloud.down = None
    assert read(car).soc == 62.0
    assert cloud.logins == 2


def test_wrong_password_never_appears(cloud: Cloud, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "not-the-password-42"
    cloud.password = secret + "x"
    car = vw(secret)
    with pytest.raises(DeviceError) as failure:
        read(car)
    assert secret not in str(failure.value)
    assert secret not in caplog.text
    assert "password" not in public_config(car._config)


def test_unknown_vin_is_an_error(cloud: Cloud) -> None:
    cloud.vehicles = {"WVWZZZE1ZMP099999": cloud.vehicles[VIN]}
    with pytest.raises(DeviceError, match="VIN"):
        read(vw())


def test_close_logs_out(cloud: Cloud) -> None:
    car = vw()
    read(car)
    asyncio.run(car.close())
    read(car)
    assert cloud.logins == 2
