"""The interface of every car adapter."""

from __future__ import annotations

from abc import ABC, abstractmethod

from pvcontrol.models import CarData, WallboxData


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
