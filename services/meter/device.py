"""The interface of every meter adapter."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Protocol, runtime_checkable

from pydantic import Field

from pvcontrol.models import MeterData, WallboxData
from pvcontrol.section import Section


class MeterBase(Section):
    """What every meter type's settings share; `type` names the device in services/meter/registry.py."""

    type: str
    poll_interval: float = Field(default=5.0, gt=0)
    metrics_port: int = Field(default=9101, ge=0, le=65535)
    plant_power_limit: float = Field(
        default=50_000.0, gt=0, description="W; a reading with a larger |power| is implausible (a read error)"
    )


class Meter(ABC):
    @abstractmethod
    async def read(self) -> MeterData:
        """One reading with `ts` set; raises `DeviceError` on failure. Invariant:
        power_consumption = power_pv + power_grid + power_battery."""

    async def close(self) -> None:
        """Release connections."""


@runtime_checkable
class NeedsWallboxPower(Protocol):
    """A meter that cannot see the car by itself (a simulation): the service subscribes to the wallbox's
    state for it only. A real meter measures the charger's draw."""

    def on_wallbox_state(self, wallbox: WallboxData) -> None: ...
