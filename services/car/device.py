"""The interface of every car adapter."""

from __future__ import annotations

from abc import ABC, abstractmethod

from pydantic import Field

from pvcontrol.models import CarData, WallboxData
from pvcontrol.section import Section


class CarBase(Section):
    """What every car type's settings share; `type` names the device in services/car/registry.py."""

    type: str
    poll_interval: float = Field(default=300.0, gt=0, description="s; cloud cars: only while charging")
    metrics_port: int = Field(default=9103, ge=0, le=65535)
    battery_capacity: float = Field(default=58.0, gt=0, description="kWh usable, for the SOC estimate")
    charging_efficiency: float = Field(default=0.9, gt=0, le=1, description="share of charged energy stored")


class Car(ABC):
    # A car maker's cloud: each read may wake the car, so it is read only when it matters.
    wakes_the_car: bool = False

    @abstractmethod
    async def read(self) -> CarData:
        """One reading with `ts` set; raises `DeviceError` on failure."""

    def on_wallbox_state(self, wallbox: WallboxData) -> None:
        """The latest wallbox reading, for simulations whose SOC follows the charged energy."""

    async def close(self) -> None:
        """Log out, release connections."""
