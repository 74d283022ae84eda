"""The forecast service inside the test process, on the real broker, with a clock the test sets
(tests/source_harness.py)."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

from pvcontrol.topics import Topics
from services.forecast.device import ForecastBase
from services.forecast.registry import FORECASTS
from services.forecast.service import ForecastService
from tests.helpers import Broker, wait_until
from tests.source_harness import Clock, running

FAST = {"timezone": "Europe/Berlin", "publish_interval": 0.05, "retry_interval": 0.05, "poll_interval": 0.05}


def settings(**values: Any) -> ForecastBase:
    return FORECASTS.validate(FAST | values)


def forecast_service(
    config: ForecastBase, broker: Broker, prefix: str, clock: Clock
) -> AbstractContextManager[ForecastService]:
    return running(ForecastService(config, FORECASTS.create(config), broker.address, Topics(prefix), clock))


def samples(service: ForecastService) -> int:
    return len(service.nowcast_clear_sky._samples)  # fed whatever the source does


def wait_samples(service: ForecastService, count: int) -> None:
    wait_until(lambda: samples(service) >= count, what=f"{count} meter readings in the nowcast")
