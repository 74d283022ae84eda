"""The interface of every wallbox adapter."""

from __future__ import annotations

from abc import ABC, abstractmethod

from pydantic import Field

from pvcontrol.models import CarStatus, RelayData, WallboxData
from pvcontrol.section import Section


class WallboxBase(Section):
    """What every wallbox type's settings share; `type` names the device in services/wallbox/registry.py."""

    type: str
    poll_interval: float = Field(default=5.0, gt=0)
    metrics_port: int = Field(default=9102, ge=0, le=65535)
    min_supported_current: int = Field(default=6, ge=1, le=32)
    max_supported_current: int = Field(default=16, ge=1, le=32)
    switch_phases_reset_delay: float = Field(default=2.0, ge=0)
    controller_timeout: float = Field(
        default=120.0, gt=0, description="s without controller state in a PV mode until charging stops"
    )


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
