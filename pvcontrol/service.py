"""What every service shares: its MQTT link, its retained config and state, its metrics port, stop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from abc import ABC, abstractmethod
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from pvcontrol.broker import BrokerAddress
from pvcontrol.models import StateDocument
from pvcontrol.mqtt import MqttLink
from pvcontrol.settings import public_config
from pvcontrol.throttle import LogThrottle
from pvcontrol.topics import ServiceName, Topics

D = TypeVar("D", bound=BaseModel)
C = TypeVar("C", bound=BaseModel)


class Service(ABC):
    name: ClassVar[ServiceName]

    def __init__(self, broker: BrokerAddress, topics: Topics) -> None:
        self.topics = topics
        self.log = logging.getLogger(f"pvcontrol.{self.name}")
        self.link = MqttLink(self.name, broker, topics, self.log)
        self._invalid_documents = LogThrottle(self.log)

    @abstractmethod
    def config_document(self) -> dict[str, Any]:
        """Published retained on `P/<service>/config`; no secrets."""

    @abstractmethod
    async def main(self, stop: asyncio.Event) -> None:
        """The service's own loop; returns when `stop` is set."""

    async def publish_state(self, state: StateDocument) -> None:
        await self.link.publish_retained(self.topics.state(self.name), state.model_dump_json())

    async def run(self, stop: asyncio.Event) -> None:
        await self.link.publish_json(self.topics.config(self.name), self.config_document())
        self.log.info("starting with %s", self.config_document().get("type"))
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(self.link.run(stop))
            tasks.create_task(self._main_until_stopped(stop))

    async def _main_until_stopped(self, stop: asyncio.Event) -> None:
        try:
            await self.main(stop)
        finally:
            stop.set()

    def parse_state(self, model: type[D], payload: bytes, source: str) -> D | None:
        """A state document of another service, or None (logged, at most once a minute) when invalid."""
        document = validate_document(model, payload)
        if isinstance(document, str):
            if payload:
                self._invalid_documents.warning(source, "ignored invalid %s state: %s", source, document)
            return None
        return document


class ConfiguredService(Service, Generic[C]):
    """A service configured by one settings section: kept as `config`, published without its secrets."""

    def __init__(self, config: C, broker: BrokerAddress, topics: Topics) -> None:
        super().__init__(broker, topics)
        self.config = config

    def config_document(self) -> dict[str, Any]:
        return public_config(self.config)


def validate_document(model: type[D], payload: bytes) -> D | str:
    """The parsed document, or why it is not one."""
    if not payload:
        return "empty payload"
    try:
        return model.model_validate_json(payload)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        return f"{where}: {first['msg']}" if where else str(first["msg"])


async def sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    """Sleep, but wake at once when the service is asked to stop."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), max(seconds, 0))
