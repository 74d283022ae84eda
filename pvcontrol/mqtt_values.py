"""Numbers read from MQTT topics of other devices (Tasmota, OpenDTU, Home Assistant, OBD dongles, ...):
each from its own topic, a JSON path into the payload and a scale. Used by MqttMeter and MqttCar.

A value older than `stale_after` s, never received, or published as something that is not a number at its
path, and a lost broker are `DeviceError`s on the next `values()`; the readings are kept meanwhile.
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
from typing import Any

import aiomqtt
from pydantic import Field, field_validator

from pvcontrol.broker import BrokerAddress
from pvcontrol.device import DeviceError
from pvcontrol.section import Section

FIRST_CONNECT = 5.0  # s
RETAINED_GRACE = 0.2  # s for retained messages to arrive after subscribing


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
    try:
        document: Any = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
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
    if isinstance(document, bool) or not isinstance(document, int | float) or not math.isfinite(document):
        raise ValueError(f"{source.path or 'the payload'} = {document!r} is not a number")
    return float(document) * source.scale


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
        self.problems: list[str] = []
        self.connection_error: str | None = "not connected yet"
        self._task: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()
        self._by_topic: dict[str, list[tuple[str, MqttValue]]] = {}
        for name, source in self.sources.items():
            self._by_topic.setdefault(source.topic, []).append((name, source))

    async def _listen(self) -> None:
        delay = 1.0
        while True:
            try:
                async with aiomqtt.Client(
                    self.broker.host,
                    self.broker.port,
                    username=self.broker.username,
                    password=self.broker.password,
                    tls_context=self.broker.ssl_context(),
                    timeout=10,
                    keepalive=30,
                ) as client:
                    for topic in self._by_topic:
                        await client.subscribe(topic)
                    self.connection_error = None
                    self._subscribed.set()
                    delay = 1.0
                    self.log.info("reading %d value(s) from %s", len(self.sources), self.broker)
                    async for message in client.messages:
                        self.on_message(str(message.topic), message.payload)
            except (aiomqtt.MqttError, OSError) as e:
                self.connection_error = f"{self.what} broker {self.broker}: {e}"
                self.log.warning("%s; retrying in %.0f s", self.connection_error, delay)
            await asyncio.sleep(delay)
            delay = min(30.0, delay * 2)

    def on_message(self, topic: str, payload: Any) -> None:
        raw = payload if isinstance(payload, bytes) else str(payload).encode()
        for name, source in self._by_topic.get(topic, []):
            try:
                self.readings[name] = Reading(extract(raw, source), self.clock())
            except ValueError as e:
                self.problems.append(f"{self.what}: {name} from {topic}: {e}")

    async def values(self) -> dict[str, float]:
        """Every source's latest value; `DeviceError` if one is missing, stale or was malformed."""
        if self._task is None:
            self._task = asyncio.create_task(self._listen())
            with contextlib.suppress(TimeoutError):  # the first read: give retained values a chance
                await asyncio.wait_for(self._subscribed.wait(), FIRST_CONNECT)
                await asyncio.sleep(RETAINED_GRACE)
        if self.problems:
            problem, self.problems = self.problems[0], []
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
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


def broker_address(url: str, username: str | None, password: str | None) -> BrokerAddress:
    address = BrokerAddress.parse(url)
    return BrokerAddress(
        address.host,
        address.port,
        address.tls,
        username or address.username,
        password if password is not None else address.password,
    )
