"""The gateway service: mirrors every service's MQTT state for REST/SSE and publishes commands."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterator

import uvicorn
from fastapi import FastAPI

from pvcontrol import __version__
from pvcontrol.broker import BrokerAddress
from pvcontrol.models import ApiData, CarData, MeterData, RelayData, TariffData, WallboxData, now
from pvcontrol.mqtt import Handler
from pvcontrol.service import ConfiguredService, sleep_or_stop
from pvcontrol.topics import ServiceName, Topics
from services.api import discovery
from services.api.app import Gateway, create_app
from services.api.auth import Auth
from services.api.discovery_upgrade import LegacyDiscovery
from services.api.events import Broadcaster
from services.api.history.recorder import History
from services.api.picture import DEVICE_SERVICES, EXTRA_SERVICES, Picture
from services.api.settings import ApiSettings, HistorySettings

WHOLE_STATE_MIN_INTERVAL = 1.0
OWN_STATE_INTERVAL = 30.0
LIVENESS_CHECK_INTERVAL = 1.0
# Open SSE streams never end by themselves; give them this long after a stop is requested.
SHUTDOWN_GRACE_SECONDS = 2


class EmbeddedServer(uvicorn.Server):
    """uvicorn inside our own event loop: the process's signal handling stays ours."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def _serve(server: uvicorn.Server) -> None:
    """uvicorn calls sys.exit when it cannot listen; SystemExit would end the whole process at once, past
    the runner that stops the charger first (pvcontrol/supervisor.py): an error instead."""
    try:
        await server.serve()
    except SystemExit as e:
        raise OSError(f"the gateway could not start (uvicorn exited with {e.code})") from None


class ApiService(ConfiguredService[ApiSettings]):
    name = "api"

    def __init__(
        self,
        config: ApiSettings,
        broker: BrokerAddress,
        topics: Topics,
        history: HistorySettings | None = None,
    ) -> None:
        super().__init__(config, broker, topics)
        self.history = History(history, self.log) if history is not None else None
        self.picture = Picture()
        self.broadcaster = Broadcaster(self.picture.live_document)
        self._whole_state_changed = asyncio.Event()
        self._announced: tuple[bool, str] | None = None  # phase select, currency of the documents out
        self.link.on_connection_change = self._on_connection_change
        self.legacy_discovery = LegacyDiscovery(self.link, topics, self.log)
        self._discovery_ready = False
        for service in DEVICE_SERVICES + EXTRA_SERVICES:
            self.link.on(topics.state(service), self._state_handler(service))
            self.link.on(topics.status(service), self._status_handler(service))
            self.link.on(topics.config(service), self._config_handler(service))
        self.app: FastAPI = create_app(
            Gateway(
                self.picture,
                self.broadcaster,
                self._publish_command,
                self.link.connected.is_set,
                Auth(config.auth_token, config.auth_read),
                self.history,
            ),
            basehref=config.basehref,
            ui_dir=config.ui_dir,
        )

    def _state_handler(self, service: ServiceName) -> Handler:
        async def handle(payload: bytes) -> None:
            if self.picture.update_state(service, payload):
                self._changed()
                if self._record(self.picture.states[service]):
                    await self.publish_state(self._own_state())  # the session totals changed
                if service in ("relay", "tariff"):
                    await self._publish_discovery()
            else:
                self.log.warning("ignored invalid %s state", service)

        return handle

    def _record(self, state: object) -> bool:
        """Feed the history; True when a charging session started or ended."""
        if self.history is None:
            return False
        if isinstance(state, WallboxData):
            return self.history.wallbox(state)
        if isinstance(state, MeterData):
            self.history.meter(state)
        elif isinstance(state, CarData):
            self.history.car(state)
        elif isinstance(state, TariffData):
            self.history.tariff_state(state)
        return False

    def _status_handler(self, service: ServiceName) -> Handler:
        async def handle(payload: bytes) -> None:
            self.picture.update_status(service, payload)
            self.broadcaster.changed()

        return handle

    def _config_handler(self, service: ServiceName) -> Handler:
        async def handle(payload: bytes) -> None:
            if self.picture.update_config(service, payload):
                self.broadcaster.changed()

        return handle

    def _on_connection_change(self, connected: bool) -> None:
        self.picture.connection_changed(connected)
        self.broadcaster.changed()

    def _changed(self) -> None:
        self.broadcaster.changed()
        self._whole_state_changed.set()

    async def _publish_command(self, service: ServiceName, name: str, payload: str) -> bool:
        """False when the command did not reach the broker (disconnected, or the publish failed)."""
        return await self.link.publish_command(self.topics.command(service, name), payload)

    async def _watch_liveness(self, stop: asyncio.Event) -> None:
        """Services also go offline by staying silent, without any message: tell the SSE clients."""
        shown = self.picture.status_document()
        while not stop.is_set():
            await sleep_or_stop(stop, LIVENESS_CHECK_INTERVAL)
            status = self.picture.status_document()
            if status != shown:
                shown = status
                self.broadcaster.changed()

    async def _publish_discovery(self) -> None:
        """Once at start and again when the relay turns up or goes (the phase-mode select) or the tariff's
        currency changes (the price sensors' units)."""
        if not self._discovery_ready:
            return
        relay = self.picture.states.get("relay")
        enabled = isinstance(relay, RelayData) and relay.enabled
        tariff = self.picture.states.get("tariff")
        currency = tariff.currency if isinstance(tariff, TariffData) else discovery.DEFAULT_CURRENCY
        if (enabled, currency) == self._announced:
            return
        self._announced = (enabled, currency)
        for topic, config in discovery.documents(self.topics, phase_select=enabled, currency=currency):
            await self.link.publish_retained(topic, json.dumps(config))

    async def _announce(self) -> None:
        """Discovery: the old documents of this installation go first (see discovery_upgrade)."""
        await self.legacy_discovery.retire()
        self._discovery_ready = True
        await self._publish_discovery()

    async def _publish_whole_state(self, stop: asyncio.Event) -> None:
        """`P/state` for Home Assistant templates written for the original (`value_json.meter...`)."""
        while not stop.is_set():
            await self._whole_state_changed.wait()
            self._whole_state_changed.clear()
            await self.link.publish_json(self.topics.whole_state, self.picture.document())
            await sleep_or_stop(stop, WHOLE_STATE_MIN_INTERVAL)

    def _own_state(self) -> ApiData:
        return ApiData(
            ts=now(),
            version=__version__,
            sse_clients=self.broadcaster.client_count,
            sessions=self.history.totals() if self.history is not None else None,
        )

    async def _publish_own_state(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.publish_state(self._own_state())
            await sleep_or_stop(stop, OWN_STATE_INTERVAL)

    async def run(self, stop: asyncio.Event) -> None:
        if self.history is not None:
            self.history.open()  # before the first state arrives: the open session is resumed, not restarted
        try:
            await super().run(stop)
        finally:
            if self.history is not None:
                self.history.close()

    async def main(self, stop: asyncio.Event) -> None:
        if self.config.auth_token is None:
            self.log.info("no api.auth_token: anyone who reaches the gateway can send commands")
        else:
            self.log.info("commands need the token%s", ", reads too" if self.config.auth_read else "")
        server = EmbeddedServer(
            uvicorn.Config(
                self.app,
                host=self.config.host,
                port=self.config.port,
                log_level="warning",
                lifespan="off",
                timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS,
            )
        )
        async with asyncio.TaskGroup() as tasks:
            background = [
                tasks.create_task(self.broadcaster.run(stop)),
                tasks.create_task(self._publish_whole_state(stop)),
                tasks.create_task(self._publish_own_state(stop)),
                tasks.create_task(self._watch_liveness(stop)),
                tasks.create_task(self._announce()),
            ]
            serving = tasks.create_task(_serve(server))
            await stop.wait()
            self.broadcaster.close()
            server.should_exit = True
            for task in background:
                task.cancel()
            await serving
