"""The interface of every phase relay."""

from __future__ import annotations

from abc import ABC, abstractmethod

from pydantic import Field

from pvcontrol.section import Section


class RelayBase(Section):
    """What every relay type's settings share; `type` names the device in services/relay/registry.py."""

    type: str
    metrics_port: int = Field(default=9104, ge=0, le=65535)
    stale_after: float = Field(default=90.0, gt=0, description="s; older wallbox data blocks switching")
    idle_settle: float = Field(
        default=15.0, ge=0, description="s the wallbox must have reported no load (>= 2 wallbox polls)"
    )
    plant_power_limit: float = Field(default=50_000.0, gt=0, description="W; more is implausible")
    publish_interval: float = Field(default=30.0, gt=0)


class PhaseRelay(ABC):
    @property
    @abstractmethod
    def enabled(self) -> bool: ...

    @abstractmethod
    def is_energised(self) -> bool:
        """Whether the relay coil is on."""

    @abstractmethod
    def phases(self) -> int:
        """1 or 3 when enabled, 0 when disabled."""

    @abstractmethod
    def set_phases(self, phases: int) -> None:
        """Switch to 1 or 3 phases. The caller has checked the wallbox is idle."""

    def close(self) -> None:
        """Release the pins; must not switch the relay."""
