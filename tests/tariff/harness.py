"""The tariff service inside the test process, on the real broker, with a clock the test sets."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pvcontrol.broker import BrokerAddress
from pvcontrol.models import TariffData
from pvcontrol.topics import Topics
from services.tariff.device import TariffBase
from services.tariff.registry import TARIFFS
from services.tariff.service import TariffService
from tests.helpers import Broker, MqttProbe

# 21 June 2026, 11:00 UTC = 13:00 in Berlin: tomorrow's day-ahead prices are due
NOON = datetime(2026, 6, 21, 11, tzinfo=UTC).timestamp()
FAST = {
    "timezone": "Europe/Berlin",
    "publish_interval": 0.05,
    "poll_interval": 0.05,
    "day_ahead_interval": 0.05,
    "retry_interval": 0.05,
    "timeout": 0.5,
}


@dataclass
class Clock:
    """Frozen at `now`, or moving `step` s on every reading (so retries fall due without real waiting)."""

    now: float = NOON
    step: float = 0.0

    def __call__(self) -> float:
        now = self.now
        self.now += self.step
        return now


def settings(**values: Any) -> TariffBase:
    return TARIFFS.validate(FAST | values).with_defaults(0.30, 0.08)


@contextmanager
def tariff_service(
    config: TariffBase, broker: Broker, prefix: str, clock: Callable[[], float]
) -> Iterator[TariffService]:
    service = TariffService(
        config, TARIFFS.create(config), BrokerAddress(broker.host, broker.port), Topics(prefix), clock=clock
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


def state(probe: MqttProbe, prefix: str, predicate: Callable[[Any], bool], after: int = 0) -> TariffData:
    return TariffData.model_validate(probe.wait_json(f"{prefix}/tariff/state", predicate, after))
