"""The interface of every wallbox adapter."""

from __future__ import annotations

from abc import ABC, abstractmethod

from pvcontrol.models import CarStatus, RelayData, WallboxData


class Wallbox(ABC):
    @abstractmethod
    async def read(self) -> WallboxData:
        """One reading with `ts` set; raises `DeviceError` on failure."""

    @abstractmethod
    async def set_max_current(self, amperes: int) -> None:
        """Already validated against [min, max]; raises `DeviceError` on failure."""

    @abstractmethod
    async def allow_charging(self, allowed: bool) -> None: ...

    @abstractmethod
    async def reset(self) -> None: ...

    def on_relay_state(self, relay: RelayData) -> None:
        """The latest relay state, for simulations whose phases follow the relay."""

    def supports_car_status(self) -> bool:
        return False

    def set_car_status(self, status: CarStatus) -> None:
        raise NotImplementedError("only simulated wallboxes accept car_status")

    async def close(self) -> None:
        """Release connections."""
