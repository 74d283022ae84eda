"""Any meter that publishes its values over MQTT: Tasmota (SML smart-meter readers), Shelly, OpenDTU, Home
Assistant's MQTT statestream, ... Each value comes from its own topic, a JSON path into the payload
(or the payload itself, a plain number) and a scale (e.g. 1000 for kWh -> Wh, -1 to flip the sign).

A value older than `stale_after` s, or never received, makes the read fail: the meter service then keeps
the last data and, after a few failures, publishes stale zeros so the controller stops PV charging.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import aiomqtt
from pydantic import Field, SecretStr, field_validator

from pvcontrol.broker import BrokerAddress
from pvcontrol.device import DeviceError
from pvcontrol.models import MeterData
from pvcontrol.section import Section
from services.meter.device import Meter, MeterBase

log = logging.getLogger("pvcontrol.meter.mqtt")
FIELDS = (
    "power_grid",
    "power_pv",
    "power_battery",
    "soc_battery",
    "energy_consumption",
    "energy_consumption_grid",
    "energy_consumption_pv",
)


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


class MqttMeterConfig(MeterBase):
    type: Literal["MqttMeter"] = "MqttMeter"
    url: str = Field(default="mqtt://localhost:1883", description="the broker the meter publishes to")
    username: str | None = None
    password: SecretStr | None = None
    stale_after: float = Field(default=60.0, gt=0, description="s; an older value fails the read")
    power_grid: MqttValue = Field(description="W, + import / - feed-in")
    power_pv: MqttValue | None = None
    power_battery: MqttValue | None = Field(default=None, description="W, + discharge / - charge")
    soc_battery: MqttValue | None = None
    energy_consumption: MqttValue | None = None
    energy_consumption_grid: MqttValue | None = None
    energy_consumption_pv: MqttValue | None = None

    @field_validator("url")
    @classmethod
    def _mqtt_url(cls, url: str) -> str:
        if not url.startswith(("mqtt://", "mqtts://")):
            raise ValueError("expected mqtt://host[:port] or mqtts://...")
        return url

    def values(self) -> dict[str, MqttValue]:
        return {name: value for name in FIELDS if (value := getattr(self, name)) is not None}


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


class MqttMeter(Meter):
    def __init__(self, config: MqttMeterConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self.clock = clock
        self.sources = config.values()
        self.readings: dict[str, Reading] = {}
        self.problems: list[str] = []
        self.connection_error: str | None = "not connected yet"
        self._task: asyncio.Task[None] | None = None
        address = BrokerAddress.parse(config.url)
        password = config.password.get_secret_value() if config.password else address.password
        self.broker = BrokerAddress(
            address.host, address.port, address.tls, config.username or address.username, password
        )

    async def _listen(self) -> None:
        delay = 1.0
        by_topic: dict[str, list[tuple[str, MqttValue]]] = {}
        for name, source in self.sources.items():
            by_topic.setdefault(source.topic, []).append((name, source))
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
                    for topic in by_topic:
                        await client.subscribe(topic)
                    self.connection_error = None
                    delay = 1.0
                    log.info("reading %d value(s) from %s", len(self.sources), self.broker)
                    async for message in client.messages:
                        self._on_message(str(message.topic), message.payload, by_topic)
            except (aiomqtt.MqttError, OSError) as e:
                self.connection_error = f"meter broker {self.broker}: {e}"
                log.warning("%s; retrying in %.0f s", self.connection_error, delay)
            await asyncio.sleep(delay)
            delay = min(30.0, delay * 2)

    def _on_message(self, topic: str, payload: Any, by_topic: dict[str, list[tuple[str, MqttValue]]]) -> None:
        raw = payload if isinstance(payload, bytes) else str(payload).encode()
        for name, source in by_topic.get(topic, []):
            try:
                self.readings[name] = Reading(extract(raw, source), self.clock())
            except ValueError as e:
                self.problems.append(f"MQTT meter: {name} from {topic}: {e}")

    async def read(self) -> MeterData:
        if self._task is None:
            self._task = asyncio.create_task(self._listen())
            await asyncio.sleep(0)
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
                raise DeviceError(f"MQTT meter: no {name} from {source.topic} yet")
            age = now - reading.at
            if age > self.config.stale_after:
                raise DeviceError(f"MQTT meter: {name} from {source.topic} is {age:.0f} s old")
            values[name] = reading.value
        pv = values.get("power_pv", 0.0)
        grid = values["power_grid"]
        battery = values.get("power_battery", 0.0)
        return MeterData(ts=time.time(), power_consumption=pv + grid + battery, **values)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
