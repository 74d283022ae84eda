"""The interface of every meter adapter."""

from __future__ import annotations

from abc import ABC, abstractmethod

from pvcontrol.models import MeterData, WallboxData


class Meter(ABC):
    @abstractmethod
    async def read(self) -> MeterData:
        """One reading with `ts` set; raises `DeviceError` on failure. Invariant:
        power_consumption = power_pv + power_grid + power_battery."""

    def on_wallbox_state(self, wallbox: WallboxData) -> None:
        """The latest wallbox reading, for simulations that include the car's power."""

    async def close(self) -> None:
        """Release connections."""
