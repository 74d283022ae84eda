"""A fake manufacturer cloud for the car adapters, at the boundary of the `carconnectivity` library.

Only the connector (the library part that talks to the Volkswagen / Škoda servers) is replaced: `Connector`
has the constructor and `fetch_all` of the real connectors and fills the library's own garage, vehicle,
drive and attribute objects from `CLOUD`. Everything above it (CarConnectivity, garage, attributes and our
adapter) is the real code. In-process, `install(monkeypatch)` puts it in place of both connectors; a
service process gets it with `tests/fakes/carcloud_path` first on PYTHONPATH (shadowing the connector
packages) and `FAKE_CAR_CLOUD=<file>` holding the cloud's state as JSON.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from carconnectivity.drive import ElectricDrive
from carconnectivity.errors import AuthenticationError, RetrievalError, TooManyRequestsError
from carconnectivity.units import Length
from carconnectivity.vehicle import ElectricVehicle
from carconnectivity_connectors.base.connector import BaseConnector

LOG = logging.getLogger("carconnectivity.connectors.fake")
LOG_API = logging.getLogger("carconnectivity.connectors.fake-api-debug")

VIN = "WVWZZZE1ZMP012345"
USER = "driver@example.com"
PASSWORD = "correct horse battery staple"  # also the Škoda API key


@dataclass
class Vehicle:
    soc: float = 62.0
    range_km: float = 248.0
    mileage_km: float = 18_342.0
    captured_at: str = "2024-06-01T11:58:20+00:00"


@dataclass
class Cloud:
    vehicles: dict[str, Vehicle] = field(default_factory=lambda: {VIN: Vehicle()})
    password: str = PASSWORD
    down: str | None = None  # "retrieval", "rate-limit", "auth", "connection": every request fails
    logins: int = 0
    fetches: int = 0

    def fail_if_down(self) -> None:
        import requests

        if self.down == "retrieval":
            raise RetrievalError("Could not fetch data: 500 Internal Server Error")
        if self.down == "rate-limit":
            raise TooManyRequestsError("Could not fetch data due to too many requests from your account")
        if self.down == "auth":
            raise AuthenticationError("Login failed, token revoked")
        if self.down == "connection":
            raise requests.ConnectionError("Connection aborted: RemoteDisconnected")


CLOUD = Cloud()
_lock = threading.Lock()


def _state_file() -> Path | None:
    path = os.environ.get("FAKE_CAR_CLOUD")
    return Path(path) if path else None


def save(cloud: Cloud, path: Path) -> None:
    """For a service process: write the cloud's state where its fake connector reads it."""
    path.write_text(json.dumps(asdict(cloud)))


def _sync() -> None:
    """In a service process the test changes the cloud through the state file."""
    file = _state_file()
    if file and file.exists():
        state = json.loads(file.read_text())
        CLOUD.vehicles = {vin: Vehicle(**v) for vin, v in state["vehicles"].items()}
        CLOUD.password, CLOUD.down = state["password"], state["down"]


def fetch_count(path: Path) -> int:
    """How often a service process has fetched from the cloud whose state file is `path`."""
    counter = Path(f"{path}.fetches")
    return len(counter.read_text()) if counter.exists() else 0


def _count_fetch() -> None:
    file = _state_file()
    if file:
        with Path(f"{file}.fetches").open("a") as counter:
            counter.write("f")


class Connector(BaseConnector):  # type: ignore[misc]
    def __init__(
        self,
        connector_id: str,
        car_connectivity: Any,
        config: dict[str, Any],
        *args: Any,
        initialization: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        BaseConnector.__init__(
            self,
            connector_id=connector_id,
            car_connectivity=car_connectivity,
            config=config,
            log=LOG,
            api_log=LOG_API,
            *args,  # noqa: B026 - the real connectors' call
            initialization=initialization,
            **kwargs,
        )
        secret = config.get("password") or config.get("api_key")
        with _lock:
            _sync()
            CLOUD.fail_if_down()
            if secret != CLOUD.password:
                raise AuthenticationError("Login failed: wrong credentials")
            CLOUD.logins += 1

    def fetch_all(self) -> None:
        garage = self.car_connectivity.garage
        with _lock:
            _sync()
            CLOUD.fail_if_down()
            CLOUD.fetches += 1
            _count_fetch()
            vehicles = dict(CLOUD.vehicles)
        for vin, record in vehicles.items():
            vehicle = garage.get_vehicle(vin)
            if vehicle is None:
                vehicle = ElectricVehicle(vin=vin, garage=garage, managing_connector=self)
                garage.add_vehicle(vin, vehicle)
            drive = vehicle.get_electric_drive()
            if drive is None:
                drive = ElectricDrive(drive_id="primary", drives=vehicle.drives)
                vehicle.drives.add_drive(drive)
            measured = datetime.fromisoformat(record.captured_at).astimezone(UTC)
            drive.level._set_value(value=record.soc, measured=measured)
            drive.range._set_value(value=record.range_km, measured=measured, unit=Length.KM)
            vehicle.odometer._set_value(value=record.mileage_km, measured=measured, unit=Length.KM)
        self.car_connectivity.transaction_end()

    def get_version(self) -> str:
        return "fake"

    def get_type(self) -> str:
        return "carconnectivity-connector-fake"


def install(monkeypatch: Any) -> Cloud:
    """In-process: both connectors become the fake one, with a fresh cloud; the NTP check is skipped."""
    import carconnectivity.carconnectivity as library

    fresh = Cloud()
    monkeypatch.setattr(sys.modules[__name__], "CLOUD", fresh)
    module = sys.modules[__name__]
    for brand in ("volkswagen", "skoda"):
        monkeypatch.setitem(library.discovered_connectors, f"carconnectivity_connectors.{brand}", module)
    monkeypatch.setattr(library, "ntp_time_delta", lambda: None)
    return fresh
