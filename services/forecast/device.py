"""The interface of every forecast source and the settings they share (the roof, the polling, the nowcast)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Self

from pydantic import Field, model_validator

from pvcontrol.models import ForecastPeriod
from pvcontrol.section import Section


class Plane(Section):
    """One roof plane. `azimuth` in compass degrees: 180 = south, 90 = east, 270 = west."""

    kwp: float = Field(gt=0, le=1000, allow_inf_nan=False)
    tilt: float = Field(default=30.0, ge=0, le=90, allow_inf_nan=False)
    azimuth: float = Field(default=180.0, ge=0, le=360, allow_inf_nan=False)


class ForecastBase(Section):
    """What every forecast type's settings share; `type` names it in services/forecast/registry.py.

    The roof (`latitude` ... `losses`) is needed by every type: ClearSky is the fallback of each web source.
    """

    type: str
    latitude: float = Field(default=48.14, ge=-90, le=90, allow_inf_nan=False)
    longitude: float = Field(default=11.58, ge=-180, le=180, allow_inf_nan=False)
    altitude: float | None = Field(default=None, ge=-500, le=9000, allow_inf_nan=False, description="m")
    planes: list[Plane] = Field(default_factory=lambda: [Plane(kwp=10.0)], min_length=1)
    losses: float = Field(
        default=0.85, gt=0, le=1, description="share of kWp x irradiance/1000 W/m² delivered"
    )
    timezone: str | None = Field(default=None, description="IANA name; default: the system's")
    poll_interval: float = Field(default=3600.0, gt=0, description="s between calls to the source")
    retry_interval: float = Field(default=600.0, gt=0, description="s before a failed call is retried")
    publish_interval: float = Field(default=60.0, gt=0, description="s between P/forecast/state documents")
    nowcast_window: float = Field(default=3600.0, gt=0, description="s of meter readings the correction uses")
    nowcast_min: float = Field(default=0.1, gt=0, le=1)
    nowcast_max: float = Field(default=1.5, ge=1, le=10)
    metrics_port: int = Field(default=9106, ge=0, le=65535)

    @property
    def kwp(self) -> float:
        return sum(plane.kwp for plane in self.planes)

    @property
    def max_power(self) -> float:
        """W above which a source's answer is absurd for this roof."""
        return 2.0 * self.kwp * 1000.0

    @model_validator(mode="after")
    def _known_timezone(self) -> Self:
        if self.timezone is not None:
            from pvcontrol.local_time import zone

            zone(self.timezone)  # raises ValueError naming it
        return self


class ForecastSource(ABC):
    @abstractmethod
    async def fetch(self, now: float) -> list[ForecastPeriod]:
        """The source's forecast around `now` (today and tomorrow as far as it knows them), any period
        length, W for the whole roof, sorted and validated; raises `DeviceError` on any failure."""

    async def close(self) -> None:
        """Release connections."""
