"""`Solcast`: the forecasts of your Solcast rooftop site(s), `pv_estimate` (kW, P50) by default.

The free hobbyist plan allows 10 calls a day (one call per site per poll): the settings must keep sites x
polls a day within `calls_per_day`, and retries after a failure stop when the day's calls are used up
(ClearSky stands in meanwhile). Solcast's forecasts start at the current half hour.
"""

from __future__ import annotations

import itertools
import math
import re
import time
from typing import Any, Literal, Self

from pydantic import Field, SecretStr, model_validator

from pvcontrol.device import DeviceError
from pvcontrol.http_client import JsonHttpClient
from pvcontrol.models import ForecastPeriod
from pvcontrol.web_source import zoned_time
from services.forecast.budget import CallBudget
from services.forecast.device import ForecastBase, ForecastSource
from services.forecast.periods import sum_planes

MAX_SITE_KW = 1000.0
DURATION = re.compile(r"^PT(?:(\d+)H)?(?:(\d+)M)?$")


class SolcastConfig(ForecastBase):
    type: Literal["Solcast"] = "Solcast"
    url: str = "https://api.solcast.com.au"
    api_key: SecretStr
    resource_ids: list[str] = Field(min_length=1, max_length=4, description="the rooftop sites' ids")
    estimate: Literal["pv_estimate", "pv_estimate10", "pv_estimate90"] = "pv_estimate"
    timeout: float = Field(default=15.0, gt=0)
    poll_interval: float = Field(default=10800.0, gt=0)
    retry_interval: float = Field(default=3600.0, gt=0)
    calls_per_day: int = Field(default=10, ge=1, description="the plan's limit (free: 10)")

    @model_validator(mode="after")
    def _within_the_limit(self) -> Self:
        calls = len(self.resource_ids) * 86400.0 / self.poll_interval
        if calls > self.calls_per_day:
            raise ValueError(
                f"{len(self.resource_ids)} sites every {self.poll_interval:.0f} s are {calls:.1f} calls a "
                f"day, over the {self.calls_per_day} allowed: raise poll_interval"
            )
        return self


class Solcast(ForecastSource):
    def __init__(self, config: SolcastConfig) -> None:
        self.config = config
        headers = {"Authorization": f"Bearer {config.api_key.get_secret_value()}"}
        self.client = JsonHttpClient(config.url, config.timeout, headers=headers)
        self.budget = CallBudget(config.calls_per_day, 86400.0, time.monotonic)

    async def fetch(self, now: float) -> list[ForecastPeriod]:
        self.budget.spend(len(self.config.resource_ids))
        sites = []
        for site in self.config.resource_ids:
            answer = await self.client.get(f"/rooftop_sites/{site}/forecasts", {"format": "json"})
            sites.append(parse(answer, self.config.estimate))
        return sum_planes(sites)

    async def close(self) -> None:
        self.client.close()


def parse(answer: Any, estimate: str) -> list[ForecastPeriod]:
    forecasts = answer.get("forecasts") if isinstance(answer, dict) else None
    if not isinstance(forecasts, list) or not forecasts:
        raise DeviceError("Solcast: no forecasts in the answer")
    periods = []
    for item in forecasts:
        if not isinstance(item, dict):
            raise DeviceError("Solcast: a forecast is not an object")
        kw = item.get(estimate)
        if not isinstance(kw, int | float) or isinstance(kw, bool) or not math.isfinite(kw):
            raise DeviceError(f"Solcast: {estimate} {kw!r} is not a number")
        if not 0 <= kw <= MAX_SITE_KW:
            raise DeviceError(f"Solcast: implausible {estimate} {kw} kW")
        end = zoned_time(item.get("period_end"), "Solcast: period_end")
        periods.append(ForecastPeriod(start=end - _seconds(item.get("period")), end=end, power_pv=kw * 1000))
    periods.sort(key=lambda p: p.start)
    if any(b.start < a.end for a, b in itertools.pairwise(periods)):
        raise DeviceError("Solcast: forecast periods overlap")
    return periods


def _seconds(value: Any) -> float:
    match = DURATION.match(value) if isinstance(value, str) else None
    seconds = int(match.group(1) or 0) * 3600 + int(match.group(2) or 0) * 60 if match else 0
    if not 0 < seconds <= 3600:
        raise DeviceError(f"Solcast: period {value!r} is not a duration of up to an hour")
    return float(seconds)
