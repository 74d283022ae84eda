"""Numbers read from MQTT topics of other devices (Tasmota, OpenDTU, Home Assistant, OBD dongles, ...):
each from its own topic, a JSON path into the payload and a scale. Used by MqttMeter and MqttCar.

A value older than `stale_after` s, never received, or published as something that is not a number at its
path, and a lost broker are `DeviceError`s on the next `values()`; the readings are kept meanwhile.

Whatever a message holds (nested 5,000 deep, a 400-digit integer, megabytes), it is parsed in its own
guard: the listener never dies. Only the newest unread message of each topic is kept, stamped with the
time it arrived: a flood leaves no backlog whose old values would be read later as fresh ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, cast

import aiomqtt
from pydantic import Field, field_validator

from pvcontrol.broker import BrokerAddress
from pvcontrol.device import DeviceError
from pvcontrol.section import Section
from pvcontrol.throttle import Episode

FIRST_CONNECT = 5.0  # s
RETAINED_GRACE = 0.2  # s for retained messages to arrive after subscribing
MAX_PAYLOAD = 65_536  # bytes; a sensor's number never needs more
MAX_RATE = 100  # messages a second on one topic; no sensor publishes faster


class MqttValue(Section):
    """Where one value comes from: `path` is dotted keys and list indexes into the JSON payload
    (`SML.Power_curr`, `inverters.0.AC.0.Power.v`); empty: the payload is the number."""

    topic: str = Field(min_length=1)
    path: str = ""
    scale: float = 1.0

    @field_validator("topic")
    @classmethod
    def _no_wildcards(cls, topic: str) -> str:
        if "#" in topic or "+" in topic:
            raise ValueError("one topic per value, without wildcards")
        return topic


def mqtt_url(url: str) -> str:
    if not url.startswith(("mqtt://", "mqtts://")):
        raise ValueError("expected mqtt://host[:port] or mqtts://...")
    return url


def extract(payload: bytes, source: MqttValue) -> float:
    """The number at `source.path` in `payload`, scaled; ValueError with the reason otherwise."""
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"a payload of {len(payload)} bytes is too large")
    try:
        document: Any = json.loads(payload)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ValueError(f"{payload[:40]!r} is not JSON or a number") from None
    for key in filter(None, source.path.split(".")):
        if isinstance(document, dict) and key in document:
            document = document[key]
        elif isinstance(document, list) and key.isdigit() and int(key) < len(document):
            document = document[int(key)]
        else:
            raise ValueError(f"no {source.path!r} in {payload[:80]!r}")
    if isinstance(document, str):
        with contextlib.suppress(ValueError):
            document = float(document)
    where = source.path or "the payload"
    if isinstance(document, bool) or not isinstance(document, int | float):
        raise ValueError(f"{where} = {str(document)[:40]!r} is not a number")
    try:
        value = float(document) * source.scale
    except OverflowError:
        value = math.inf
    if not math.isfinite(value):
        raise ValueError(f"{where} = {str(document)[:40]} is not a number (not finite)")
    return value


@dataclass
class _Rate:
    window: float = -math.inf  # start of the current one-second window
    count: int = 0
    previous: int = 0  # messages in the window before


class NewestPerTopic(asyncio.Queue[aiomqtt.Message]):
    """aiomqtt's incoming queue, keeping only the newest unread message of each topic with the time it
    arrived (`received`, on `clock`) and whether its topic was flooded then (`flooded`): both are set by
    each `get`. More than `MAX_RATE` messages a second on one topic is a flood or a backlog the broker
    drains into us: none of it is fresh, so those values are dropped until the rate is normal again."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.received = 0.0
        self.flooded = False
        self._rates: dict[str, _Rate] = {}
        super().__init__()

    def _init(self, maxsize: int) -> None:
        self._pending: dict[str, tuple[aiomqtt.Message, float, bool]] = {}
        self._queue = self._pending  # Queue.qsize() and empty() look at `_queue`

    def _put(self, item: aiomqtt.Message) -> None:
        topic, at = str(item.topic), self.clock()
        rate = self._rates.setdefault(topic, _Rate())
        if at - rate.window >= 1.0:
            rate.previous = rate.count if at - rate.window < 2.0 else 0
            rate.window, rate.count = at, 0
        rate.count += 1
        self._pending.pop(topic, None)
        self._pending[topic] = (item, at, max(rate.count, rate.previous) > MAX_RATE)

    def _get(self) -> aiomqtt.Message:
        topic = next(iter(self._pending))
        item, self.received, self.flooded = self._pending.pop(topic)
        return item


@dataclass
class Reading:
    value: float
    at: float


class MqttValues:
    def __init__(
        self,
        broker: BrokerAddress,
        sources: Mapping[str, MqttValue],
        stale_after: float,
        what: str,
        log: logging.Logger,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.broker = broker
        self.sources = dict(sources)
        self.stale_after = stale_after
        self.what = what
        self.log = log
        self.clock = clock
        self.readings: dict[str, Reading] = {}
        self.problems: dict[str, str] = {}  # the latest of each source, so a flood cannot grow it
        self._floods: dict[str, Episode] = {}
        self.connection_error: str | None = "not connected yet"
        self._task: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()
        self._by_topic: dict[str, list[tuple[str, MqttValue]]] = {}
        for name, source in self.sources.items():
            self._by_topic.setdefault(source.topic, []).append((name, source))

    async def _listen(self) -> None:
        delay = 1.0
        while True:
            queue = NewestPerTopic(self.clock)
            try:
                async with self.broker.client(
                    timeout=10,
                    keepalive=30,
                    queue_type=cast(Any, lambda maxsize, q=queue: q),  # called as queue_type(maxsize=0)
                ) as client:
                    for topic in self._by_topic:
                        await client.subscribe(topic)
                    self.connection_error = None
                    self._subscribed.set()
                    delay = 1.0
                    self.log.info("reading %d value(s) from %s", len(self.sources), self.broker)
                    async for message in client.messages:
                        self.on_message(str(message.topic), message.payload, queue.received, queue.flooded)
            except (aiomqtt.MqttError, OSError) as e:
                self.connection_error = f"{self.what} broker {self.broker}: {e}"
                self.log.warning("%s; retrying in %.0f s", self.connection_error, delay)
            except Exception as e:  # a bug must not end the listener: no fresh value would ever be read
                self.connection_error = f"{self.what}: listener failed: {type(e).__name__}"
                self.log.exception("%s; reconnecting in %.0f s", self.connection_error, delay)
            await asyncio.sleep(delay)
            delay = min(30.0, delay * 2)

    def on_message(
        self, topic: str, payload: Any, received: float | None = None, flooded: bool = False
    ) -> None:
        """One message, arrived at `received` (default: now); nothing in it can raise out of here."""
        at = self.clock() if received is None else received
        flood = self._floods.setdefault(topic, Episode(self.log, f"{self.what}: flood on {topic}"))
        if flooded:
            flood.seen(f"more than {MAX_RATE} messages/s, its values are dropped (not fresh) until it ends")
            return
        flood.over()
        for name, source in self._by_topic.get(topic, []):
            try:
                raw = payload if isinstance(payload, bytes) else str(payload).encode()
                self.readings[name] = Reading(extract(raw, source), at)
            except Exception as e:  # ValueError from extract, or anything a hostile payload finds
                self.problems[name] = f"{self.what}: {name} from {topic}: {e}"[:300]

    async def values(self) -> dict[str, float]:
        """Every source's latest value; `DeviceError` if one is missing, stale or was malformed."""
        if self._task is None:
            self._task = asyncio.create_task(self._listen())
            with contextlib.suppress(TimeoutError):  # the first read: give retained values a chance
                await asyncio.wait_for(self._subscribed.wait(), FIRST_CONNECT)
                await asyncio.sleep(RETAINED_GRACE)
        if self.problems:
            problem, self.problems = next(iter(self.problems.values())), {}
            raise DeviceError(problem)
        if self.connection_error is not None:
            raise DeviceError(self.connection_error)
        now = self.clock()
        values: dict[str, float] = {}
        for name, source in self.sources.items():
            reading = self.readings.get(name)
            if reading is None:
                raise DeviceError(f"{self.what}: no {name} from {source.topic} yet")
            age = now - reading.at
            if age > self.stale_after:
                raise DeviceError(f"{self.what}: {name} from {source.topic} is {age:.0f} s old")
            values[name] = reading.value
        return values

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            except Exception:  # the listener never ends on its own; if it did, stopping must still work
                self.log.exception("%s: the listener had failed", self.what)


def broker_address(url: str, username: str | None, password: str | None) -> BrokerAddress:
    address = BrokerAddress.parse(url)
    return BrokerAddress(
        address.host,
        address.port,
        address.tls,
        username or address.username,
        password if password is not None else address.password,
    )
