"""A service that calls one web source on a schedule (the forecast, the tariff): the failed calls in a row,
when the next call is due, one log line when an outage starts and one when it ends, and every failed call
on the service's error topic; what stands in while the source fails is the service's own business."""

from __future__ import annotations

import asyncio
import json
from abc import abstractmethod
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from prometheus_client import Gauge

from pvcontrol.broker import BrokerAddress
from pvcontrol.device import DeviceError
from pvcontrol.metrics import ERRORS
from pvcontrol.service import C, ConfiguredService, sleep_or_stop
from pvcontrol.throttle import Episode
from pvcontrol.topics import Topics

A = TypeVar("A")


class WebSource(Protocol):
    async def close(self) -> None: ...


S = TypeVar("S", bound=WebSource)


class WebSourceService(ConfiguredService[C], Generic[C, S]):
    stand_in: ClassVar[str]  # what stands in while the source fails, for the log
    last_update: ClassVar[Gauge]  # set to when the source last answered

    def __init__(
        self,
        config: C,
        source: S,
        broker: BrokerAddress,
        topics: Topics,
        clock: Callable[[], float],
        source_type: str,
    ) -> None:
        super().__init__(config, broker, topics)
        self.source = source
        self.clock = clock
        self.source_type = source_type
        self.errors = 0  # failed calls in a row
        self.next_fetch = 0.0
        self.outage = Episode(self.log, f"{source_type} failed; {self.stand_in}")

    @abstractmethod
    async def step(self) -> float:
        """Calls the source if it is due and publishes the state; the seconds until the next step."""

    async def main(self, stop: asyncio.Event) -> None:
        try:
            await self.broker_connected(stop)
            while not stop.is_set():
                await sleep_or_stop(stop, await self.step())
        finally:
            await self.source.close()

    async def call_source(self, now: float, answer: Awaitable[A], retry_in: float) -> A | None:
        """The source's checked answer, or None when the call failed: then counted, the next call due in
        `retry_in` s, logged once per outage, and published on the error topic."""
        result: A | None = None
        try:
            result = await answer
        except Exception as e:  # an answer nobody foresaw is still only a failed call
            self.errors += 1
            self.next_fetch = now + retry_in
            reason = str(e) if isinstance(e, DeviceError) else f"{type(e).__name__}: {e}"
            self.outage.seen(reason, exc_info=not isinstance(e, DeviceError))
            error = {"ts": now, "topic": "", "payload": "", "error": f"{self.source_type} failed: {reason}"}
            await self.link.publish_command(self.topics.error(self.name), json.dumps(error))
        else:
            self.errors = 0
            self.outage.over()
            self.last_update.set(now)
        ERRORS.labels(self.name).set(self.errors)
        return result

    async def broker_connected(self, stop: asyncio.Event) -> None:
        """Returns once the broker connection is up (or the service is stopped).

        A failed first call's message on the error topic is live, not queued: sent before the broker
        connection is up it would be lost, so the first call waits for it."""
        waiters = [asyncio.ensure_future(event.wait()) for event in (self.link.connected, stop)]
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()


def zoned_time(value: Any, what: str) -> float:
    """An ISO 8601 time with its zone in a source's answer, as Unix s; DeviceError naming `what` if not."""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        raise DeviceError(f"{what} {value!r} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise DeviceError(f"{what} {value!r} has no time zone")
    return moment.timestamp()
