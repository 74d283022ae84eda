"""`OpenMeteo`: global tilted irradiance per plane from the Open-Meteo forecast API (free, no key).

Power = kWp x GTI / 1000 W/m² x `losses` per plane (as ClearSky; no temperature model). One call per
plane per poll; Open-Meteo's azimuth is 0 = south, -90 = east (ours is compass: 180 = south).
"""

from __future__ import annotations

import itertools
import math
from typing import Any, Literal

from pydantic import Field

from pvcontrol.device import DeviceError
from pvcontrol.http_client import JsonHttpClient
from pvcontrol.local_time import SLOT
from pvcontrol.models import ForecastPeriod
from services.forecast.device import ForecastBase, ForecastSource, Plane
from services.forecast.periods import sum_planes

MAX_IRRADIANCE = 1500.0  # W/m²; the solar constant is 1361
ROUNDING = -10.0  # W/m²; the API returns small negative GTI at times: read as 0, anything lower is an error


class OpenMeteoConfig(ForecastBase):
    type: Literal["OpenMeteo"] = "OpenMeteo"
    url: str = "https://api.open-meteo.com"
    timeout: float = Field(default=10.0, gt=0)
    poll_interval: float = Field(default=900.0, gt=0, description="s; the model runs update hourly")


def open_meteo_azimuth(compass: float) -> float:
    """Compass degrees (180 = south) to Open-Meteo's and Forecast.Solar's (0 = south, -90 = east)."""
    return (compass - 180.0 + 180.0) % 360.0 - 180.0


class OpenMeteo(ForecastSource):
    def __init__(self, config: OpenMeteoConfig) -> None:
        self.config = config
        self.client = JsonHttpClient(config.url, config.timeout)

    async def fetch(self, now: float) -> list[ForecastPeriod]:
        return sum_planes([await self._plane(plane) for plane in self.config.planes])

    async def _plane(self, plane: Plane) -> list[ForecastPeriod]:
        params = {
            "latitude": f"{self.config.latitude:.4f}",
            "longitude": f"{self.config.longitude:.4f}",
            "minutely_15": "global_tilted_irradiance",
            "tilt": f"{plane.tilt:g}",
            "azimuth": f"{open_meteo_azimuth(plane.azimuth):g}",
            "timeformat": "unixtime",
            "past_days": "1",  # local midnight is yesterday in UTC east of Greenwich
            "forecast_days": "3",
        }
        answer = await self.client.get("/v1/forecast", params)
        return parse(answer, plane.kwp * self.config.losses)

    async def close(self) -> None:
        self.client.close()


def parse(answer: Any, watts_per_irradiance: float) -> list[ForecastPeriod]:
    """The periods of one plane; a GTI value is the mean of the 15 minutes before its time."""
    if not isinstance(answer, dict) or "error" in answer:
        reason = answer.get("reason") if isinstance(answer, dict) else None
        raise DeviceError(f"Open-Meteo: {reason or 'not a forecast document'}")
    series = answer.get("minutely_15")
    if not isinstance(series, dict):
        raise DeviceError("Open-Meteo: no minutely_15 in the answer")
    times, values = series.get("time"), series.get("global_tilted_irradiance")
    if not isinstance(times, list) or not isinstance(values, list) or len(times) != len(values):
        raise DeviceError("Open-Meteo: minutely_15 lacks matching time and global_tilted_irradiance lists")
    periods = []
    for ts, gti in zip(times, values, strict=True):
        if not _number(ts):
            raise DeviceError(f"Open-Meteo: time {ts!r} is not a Unix time")
        if gti is None:
            continue  # beyond the model's horizon
        if not _number(gti) or not ROUNDING <= gti <= MAX_IRRADIANCE:
            raise DeviceError(f"Open-Meteo: implausible global_tilted_irradiance {gti!r}")
        power = max(float(gti), 0.0) * watts_per_irradiance
        periods.append(ForecastPeriod(start=float(ts) - SLOT, end=float(ts), power_pv=power))
    if not periods:
        raise DeviceError("Open-Meteo: no irradiance values")
    if any(b.start < a.end for a, b in itertools.pairwise(periods)):
        raise DeviceError("Open-Meteo: times are not ascending 15-minute steps")
    return periods


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
