"""The interface of every wallbox adapter; what only some of them can do is in capabilities.py."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Literal

from pydantic import Field, computed_field

from pvcontrol.models import WallboxData
from pvcontrol.section import Section

# relay: a phase relay (P/relay/phases/set) switches the charger's supply; native: the charger switches
# itself on P/wallbox/phases/set (its adapter is a capabilities.PhaseSwitcher); none: fixed phases.
PhaseSwitching = Literal["relay", "native", "none"]


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
    phase_switching: PhaseSwitching = "none"
    phase_switch_timeout: float = Field(
        default=60.0, gt=0, description="s a native phase switch waits for the charger to report no current"
    )
    phase_switch_settle: float = Field(
        default=15.0,
        ge=0,
        description="s a native phase switch waits after the last measured current (or after the stop, "
        "when the charger measures nothing), as the phase relay's idle_settle",
    )

    # Published on P/wallbox/config, so the gateway knows without knowing device types.
    @computed_field  # type: ignore[prop-decorator]
    @property
    def car_status_settable(self) -> bool:
        """Whether P/wallbox/car_status/set plugs a car in or out (simulations only)."""
        return False


DRAWING_AMPERES = 0.5  # A on any phase: the car draws current
DRAWING_WATTS = 100.0  # W, for a charger that measures power but no currents


def is_drawing(currents: list[float], power: float | None) -> bool:
    """What a measurement says: current flows (currents per phase decide, power if there are none)."""
    if currents:
        return max(currents) > DRAWING_AMPERES
    return power is not None and power > DRAWING_WATTS


@dataclass(frozen=True)
class Measurements:
    """When the charger last measured the current the car draws (meter values, never a status word), on
    the adapter's monotonic clock: `measured_at` the newest measurement, `drawing_at` the newest one that
    showed current (None: none did)."""

    measured_at: float
    drawing_at: float | None

    def seen(self, at: float, drawing: bool) -> Measurements:
        return Measurements(at, at if drawing else self.drawing_at)


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

    def measurements(self) -> Measurements | None:
        """The charger's current measurements for the native phase switch; None when it measures nothing
        (the switch then waits `phase_switch_settle` after the stop)."""
        return None

    async def close(self) -> None:
        """Release connections."""
