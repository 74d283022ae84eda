"""What the tests of the services that call a web source (forecast, tariff) share: the service inside the
test process on the real broker with a clock the test sets, one fake source per test, and the checks every
such service must pass (its state retained, its config published without secrets, failed calls counted
one by one, each bad answer a failed call)."""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

import pytest

from pvcontrol.service import Service
from tests.fakes.http import FakeHttpDevice
from tests.helpers import Broker, MqttProbe

# 21 June 2026, 11:00 UTC = 13:00 in Berlin: the fakes' sky is bright (tests/fakes/sky.py) and tomorrow's
# day-ahead prices are due
NOON = datetime(2026, 6, 21, 11, tzinfo=UTC).timestamp()

S = TypeVar("S", bound=Service)


@dataclass
class Clock:
    """Frozen at `now`, or moving `step` s on every reading (so retries fall due without real waiting)."""

    now: float = NOON
    step: float = 0.0

    def __call__(self) -> float:
        now = self.now
        self.now += self.step
        return now


@contextmanager
def running(service: S) -> Iterator[S]:
    """`service` running in its own thread and event loop until the block ends."""
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


class FakeSource(Protocol):
    """How a test module names one of its fake web sources: the fake, on the test's clock."""

    @property
    def make(self) -> Callable[[Clock], FakeHttpDevice]: ...


F = TypeVar("F", bound=FakeSource)


def source_fixtures(sources: Mapping[str, F]) -> tuple[Any, Any, Any]:
    """The fixtures `source` (each of `sources` in turn), `clock` and `fake` (the source's fake, serving on
    that clock), to be bound to those names in the test module."""

    @pytest.fixture(params=list(sources))
    def source(request: pytest.FixtureRequest) -> F:
        return sources[request.param]

    @pytest.fixture
    def clock() -> Clock:
        return Clock()

    @pytest.fixture
    def fake(source: F, clock: Clock) -> Iterator[FakeHttpDevice]:
        with source.make(clock) as device:
            yield device

    return source, clock, fake


def retained_state_and_config(
    broker: Broker, probe: MqttProbe, prefix: str, service: str, source_type: str
) -> tuple[bool, dict[str, Any]]:
    """Whether the service's state is retained (a probe that subscribes after the publication gets the
    retained copy) and its published config, once it says it is online."""
    late = MqttProbe(broker, prefix)
    late.start()
    retained = late.wait_for(f"{prefix}/{service}/state").retain
    late.stop()
    published = probe.wait_json(f"{prefix}/{service}/config", lambda c: c["type"] == source_type)
    probe.wait_for(f"{prefix}/{service}/status", lambda m: m.payload == b"online")
    return retained, published


def counted_one_by_one(probe: MqttProbe, prefix: str, service: str) -> bool:
    """Whether the `error` of the service's states counted up 1, 2, 3 from the first failure."""
    counts = [
        key for key, _ in itertools.groupby(m.json()["error"] for m in probe.on(f"{prefix}/{service}/state"))
    ]
    first = counts.index(1)
    return counts[first : first + 3] == [1, 2, 3]


def each_bad_answer_fails(
    probe: MqttProbe,
    prefix: str,
    service: str,
    source_type: str,
    fake: FakeHttpDevice,
    answers: list[Any],
    check: Callable[[Any, dict[str, Any]], None],
) -> None:
    """Sends each of `answers` in turn instead of the fake's own (its `override`): each must be a failed call
    (`check` is given the answer and the failing state), named as a failure of `source_type` on the error
    topic and foreseen (not a crash), and the next good answer ends the outage."""
    for answer in answers:
        mark = probe.mark()
        fake.override = answer  # type: ignore[attr-defined]
        failing = probe.wait_json(f"{prefix}/{service}/state", lambda s: s["error"] > 0, mark)
        check(answer, failing)
        error = probe.wait_json(f"{prefix}/{service}/error", lambda e: True, mark)["error"]
        assert error.startswith(f"{source_type} failed: "), error
        assert "Error:" not in error, error  # foreseen, not a crash
        fake.override = None  # type: ignore[attr-defined]
        mark = probe.mark()
        probe.wait_json(f"{prefix}/{service}/state", lambda s: s["error"] == 0, mark)
