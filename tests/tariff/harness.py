"""The tariff service inside the test process, on the real broker, with a clock the test sets
(tests/source_harness.py)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from pvcontrol.models import TariffData
from pvcontrol.topics import Topics
from services.tariff.device import TariffBase
from services.tariff.registry import TARIFFS
from services.tariff.service import TariffService
from tests.helpers import Broker, MqttProbe
from tests.source_harness import running

FAST = {
    "timezone": "Europe/Berlin",
    "publish_interval": 0.05,
    "poll_interval": 0.05,
    "day_ahead_interval": 0.05,
    "retry_interval": 0.05,
    "timeout": 0.5,
}


def settings(**values: Any) -> TariffBase:
    return TARIFFS.validate(FAST | values).with_defaults(0.30, 0.08)


def tariff_service(
    config: TariffBase, broker: Broker, prefix: str, clock: Callable[[], float]
) -> AbstractContextManager[TariffService]:
    return running(TariffService(config, TARIFFS.create(config), broker.address, Topics(prefix), clock))


def state(probe: MqttProbe, prefix: str, predicate: Callable[[Any], bool], after: int = 0) -> TariffData:
    return TariffData.model_validate(probe.wait_json(f"{prefix}/tariff/state", predicate, after))
