"""`ForecastSolar`: the Forecast.Solar `estimate` API, one call per plane.

Free (no `api_key`): 12 calls an hour per IP address; every poll makes one call per plane, so the settings
must keep planes x calls per hour (poll and retry) within `calls_per_hour`. `result.watts` holds the
power at points in time (local time of the place): between two points the power is taken as their mean.
"""

from __future__ import annotations

import itertools
import math
import time
from datetime import datetime
from typing import Any, Literal, Self
from zoneinfo import ZoneInfo

from pydantic import Field, SecretStr, model_validator

from pvcontrol.device import DeviceError
from pvcontrol.http_client import JsonHttpClient
from pvcontrol.local_time import midnight, zone
from pvcontrol.models import ForecastPeriod
from services.forecast.budget import CallBudget
from services.forecast.device import ForecastBase, ForecastSource, Plane
from services.forecast.openmeteo import open_meteo_azimuth
from services.forecast.periods import sum_planes


class ForecastSolarConfig(ForecastBase):
    type: Literal["ForecastSolar"] = "ForecastSolar"
    url: str = "https://api.forecast.solar"
    api_key: SecretStr | None = None
    timeout: float = Field(default=10.0, gt=0)
    poll_interval: float = Field(default=1800.0, gt=0)
    retry_interval: float = Field(default=900.0, gt=0)
    calls_per_hour: int = Field(default=12, ge=1, description="the plan's limit (free: 12 per IP address)")

    @model_validator(mode="after")
    def _within_the_limit(self) -> Self:
        calls = len(self.planes) * 3600.0 / min(self.poll_interval, self.retry_interval)
        if calls > self.calls_per_hour:
            raise ValueError(
                f"{len(self.planes)} planes every {min(self.poll_interval, self.retry_interval):.0f} s are "
                f"{calls:.0f} calls an hour, over the {self.calls_per_hour} allowed: raise poll_interval "
                "and retry_interval"
            )
        return self


class ForecastSolar(ForecastSource):
    def __init__(self, config: ForecastSolarConfig) -> None:
        self.config = config
        self.tz = zone(config.timezone)
        self.client = JsonHttpClient(config.url, config.timeout)
        self.budget = CallBudget(config.calls_per_hour, 3600.0, time.monotonic)

    async def fetch(self, now: float) -> list[ForecastPeriod]:
        self.budget.spend(len(self.config.planes))
        return sum_planes([await self._plane(plane) for plane in self.config.planes])

    async def _plane(self, plane: Plane) -> list[ForecastPeriod]:
        c = self.config
        key = c.api_key.get_secret_value() if c.api_key else ""
        path = (
            f"/estimate/{c.latitude:.4f}/{c.longitude:.4f}/{plane.tilt:g}/"
            f"{open_meteo_azimuth(plane.azimuth):g}/{plane.kwp:g}"
        )
        try:
            answer = await self.client.get(f"/{key}{path}" if key else path)
        except DeviceError as e:
            raise DeviceError(str(e).replace(key, "<api_key>") if key else str(e)) from None
        return parse(answer, self.tz)

    async def close(self) -> None:
        self.client.close()


def parse(answer: Any, default_tz: ZoneInfo) -> list[ForecastPeriod]:
    if not isinstance(answer, dict):
        raise DeviceError("Forecast.Solar: not a forecast document")
    message = _mapping(answer.get("message"))
    result = answer.get("result")
    if not isinstance(result, dict) or not isinstance(result.get("watts"), dict):
        raise DeviceError(f"Forecast.Solar: no result.watts ({message.get('text') or 'no message'})")
    info = _mapping(message.get("info"))
    try:
        tz = zone(info["timezone"]) if isinstance(info.get("timezone"), str) else default_tz
    except ValueError as e:
        raise DeviceError(f"Forecast.Solar: {e}") from None
    points = sorted(_point(key, value, tz) for key, value in result["watts"].items())
    if len(points) < 2:
        raise DeviceError("Forecast.Solar: fewer than two points in result.watts")
    periods = [
        ForecastPeriod(start=t0, end=t1, power_pv=(w0 + w1) / 2)
        for (t0, w0), (t1, w1) in itertools.pairwise(points)
        if t1 > t0
    ]
    # The series starts at sunrise and ends at sunset, both 0 W: the night around them is dark.
    first, last = points[0], points[-1]
    if first[1] == 0:
        periods.insert(0, ForecastPeriod(start=midnight(first[0], tz), end=first[0], power_pv=0.0))
    if last[1] == 0:
        periods.append(ForecastPeriod(start=last[0], end=midnight(last[0], tz, 1), power_pv=0.0))
    return [p for p in periods if p.end > p.start]


def _point(key: Any, value: Any, tz: ZoneInfo) -> tuple[float, float]:
    try:
        moment = datetime.fromisoformat(str(key))
    except ValueError:
        raise DeviceError(f"Forecast.Solar: {key!r} is not a time") from None
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value) or value < 0:
        raise DeviceError(f"Forecast.Solar: implausible power {value!r} at {key}")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment.timestamp(), float(value)


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
