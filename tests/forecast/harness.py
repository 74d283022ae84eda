"""The forecast service inside the test process, on the real broker, with a clock the test sets."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pvcontrol.broker import BrokerAddress
from pvcontrol.topics import Topics
from services.forecast.device import ForecastBase
from services.forecast.registry import FORECASTS
from services.forecast.service import ForecastService
from tests.helpers import Broker, wait_until

# 21 June 2026, 11:00 UTC = 13:00 in Berlin: the fakes' sky is bright (tests/fakes/sky.py)
NOON = datetime(2026, 6, 21, 11, tzinfo=UTC).timestamp()
FAST = {"timezone": "Europe/Berlin", "publish_interval": 0.05, "retry_interval": 0.05, "poll_interval": 0.05}


@dataclass
class Clock:
    """Frozen at `now`, or moving `step` s on every reading (so retries fall due without real waiting)."""

    now: float = NOON
    step: float = 0.0

    def __call__(self) -> float:
        now = self.now
        self.now += self.step
        return now


def settings(**values: Any) -> ForecastBase:
    return FORECASTS.validate(FAST | values)


@contextmanager
def forecast_service(
    config: ForecastBase, broker: Broker, prefix: str, clock: Clock
) -> Iterator[ForecastService]:
    service = ForecastService(
        config, FORECASTS.create(config), BrokerAddress(broker.host, broker.port), Topics(prefix), clock=clock
    )
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    thread = threading.Thread(target=loop.run_until_complete, args=(service.run(stop),), daemon=True)
    thread.start()
    try:
        yield service
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)
        loop.close()
        assert not thread.is_alive()


def samples(service: ForecastService) -> int:
    return len(service.nowcast_clear_sky._samples)  # fed whatever the source does


def wait_samples(service: ForecastService, count: int) -> None:
    wait_until(lambda: samples(service) >= count, what=f"{count} meter readings in the nowcast")
