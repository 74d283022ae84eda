"""One service's MQTT connection: last will, retained status/config/state, commands, reconnect.

State and config are kept here and re-published after every (re)connect, so a broker restart or a
network outage heals by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import aiomqtt

from pvcontrol.broker import BrokerAddress
from pvcontrol.commands import CommandError
from pvcontrol.metrics import MQTT_CONNECTED, MQTT_MESSAGES
from pvcontrol.models import now
from pvcontrol.throttle import LogThrottle
from pvcontrol.topics import ServiceName, Topics

Handler = Callable[[bytes], Awaitable[None]]
DeliveryHandler = Callable[[bytes, bool], Awaitable[None]]  # payload, retained

MAX_BACKOFF = 30.0
QOS = 1
PUBLISH_TIMEOUT = 5.0  # s for the broker's PUBACK; a publish never hangs a service


class MqttLink:
    def __init__(
        self,
        service: ServiceName,
        broker: BrokerAddress,
        topics: Topics,
        logger: logging.Logger,
    ) -> None:
        self.service = service
        self.broker = broker
        self.topics = topics
        self.log = logger
        self.client_id = f"pvcontrol-{service}-{secrets.token_hex(4)}"
        self.connected = asyncio.Event()
        self._handlers: dict[str, DeliveryHandler] = {}
        self._rejections = LogThrottle(logger)
        self._accepts_empty: set[str] = set()
        self._retained: dict[str, str] = {}
        self._client: aiomqtt.Client | None = None
        self.on_connection_change: Callable[[bool], None] = lambda _connected: None
        MQTT_CONNECTED.labels(service).set(0)

    def on(self, topic: str, handler: Handler, *, accepts_empty: bool = False) -> None:
        """Subscribe `handler` to `topic` (may contain wildcards). A `CommandError` it raises is
        published on the service's error topic. An empty command payload (how a retained command is
        cleared) reaches the handler only if it `accepts_empty` (e.g. "clear the plan")."""
        if accepts_empty:
            self._accepts_empty.add(topic)

        async def without_retain_flag(payload: bytes, _retained: bool) -> None:
            await handler(payload)

        self._handlers[topic] = without_retain_flag

    def on_delivery(self, topic: str, handler: DeliveryHandler) -> None:
        """Like `on`, for a handler that must tell a retained copy from a live message (a heartbeat)."""
        self._handlers[topic] = handler

    async def publish_retained(self, topic: str, payload: str) -> None:
        self._retained[topic] = payload
        await self._send(topic, payload, retain=True)

    async def publish_json(self, topic: str, document: dict[str, Any]) -> None:
        await self.publish_retained(topic, json.dumps(document))

    async def clear_retained(self, topic: str) -> bool:
        """Delete a retained message (an empty retained one), once: unlike `publish_retained` it is not
        repeated at the next connection, where the topic may hold someone else's message by then.
        False if it did not reach the broker."""
        return await self._send(topic, "", retain=True)

    async def publish_command(self, topic: str, payload: str) -> bool:
        """Commands are not retained and not queued while disconnected: a stale command is worse than
        none, and every sender repeats its intent on its next cycle. False if it was not sent."""
        return await self._send(topic, payload, retain=False)

    async def _send(self, topic: str, payload: str, *, retain: bool) -> bool:
        client = self._client
        if client is None:
            return False
        try:
            await client.publish(topic, payload, qos=QOS, retain=retain, timeout=PUBLISH_TIMEOUT)
        except aiomqtt.MqttError as e:
            self.log.warning("publish to %s failed: %s", topic, e)
            return False
        MQTT_MESSAGES.labels(self.service, "out").inc()
        return True

    async def run(self, stop: asyncio.Event) -> None:
        """Stay connected until `stop` is set, then publish `offline` and disconnect cleanly."""
        backoff = 1.0
        while not stop.is_set():
            try:
                await self._session(stop)
                backoff = 1.0
            except aiomqtt.MqttError as e:
                self._lost()
                self.log.warning("broker %s unreachable (%s); retrying in %.0f s", self.broker, e, backoff)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)

    def _make_client(self) -> aiomqtt.Client:
        status = self.topics.status(self.service)
        paho_log = logging.getLogger(f"mqtt.{self.client_id}")
        client = self.broker.client(
            identifier=self.client_id,
            will=aiomqtt.Will(status, "offline", qos=QOS, retain=True),
            timeout=10,
            keepalive=30,
            # Commands are tiny and latency-bound: without this, Nagle + delayed ACK add ~40 ms each.
            socket_options=((socket.IPPROTO_TCP, socket.TCP_NODELAY, 1),),
            logger=paho_log,
        )
        _fail_fast_when_dropped_before_connack(client, paho_log)
        return client

    async def _session(self, stop: asyncio.Event) -> None:
        async with self._make_client() as client:
            # Subscribe before announcing `online`, so a command sent on seeing it is not lost.
            for topic in self._handlers:
                await client.subscribe(topic, qos=QOS)
            await client.publish(self.topics.status(self.service), "online", qos=QOS, retain=True)
            for topic, payload in list(self._retained.items()):
                await client.publish(topic, payload, qos=QOS, retain=True)
            MQTT_MESSAGES.labels(self.service, "out").inc(1 + len(self._retained))
            self._client = client
            self.connected.set()
            MQTT_CONNECTED.labels(self.service).set(1)
            self.on_connection_change(True)
            self.log.info("connected to %s as %s", self.broker, self.client_id)
            receiver = asyncio.create_task(self._receive(client))
            stopper = asyncio.create_task(stop.wait())
            try:
                await asyncio.wait({receiver, stopper}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                stopper.cancel()
                receiver.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await receiver
            if receiver.done() and not receiver.cancelled():
                receiver.result()  # re-raises the MqttError of a lost connection
            await client.publish(self.topics.status(self.service), "offline", qos=QOS, retain=True)
            self._lost()
            self.log.info("disconnected from %s", self.broker)

    def _lost(self) -> None:
        was_connected = self.connected.is_set()
        self._client = None
        self.connected.clear()
        MQTT_CONNECTED.labels(self.service).set(0)
        if was_connected:
            self.on_connection_change(False)

    async def _receive(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            MQTT_MESSAGES.labels(self.service, "in").inc()
            topic = str(message.topic)
            payload = message.payload if isinstance(message.payload, bytes) else b""
            if is_command(topic) and not await self._live_command(topic, payload, message.retain):
                continue
            for pattern, handler in self._handlers.items():
                if message.topic.matches(pattern):
                    await self._dispatch(topic, payload, message.retain, handler)

    async def _live_command(self, topic: str, payload: bytes, retained: bool) -> bool:
        """Commands act once, when sent: a retained one would be replayed on every restart."""
        if not payload and topic not in self._accepts_empty:
            return False  # how a retained command is cleared; nothing to do
        if retained:
            reason = (
                "retained command ignored: commands must not be retained; "
                f"clear it with: mosquitto_pub -r -n -t '{topic}'"
            )
            await self._reject(topic, payload, reason)
            return False
        return True

    async def _dispatch(self, topic: str, payload: bytes, retained: bool, handler: DeliveryHandler) -> None:
        try:
            await handler(payload, retained)
        except CommandError as e:
            await self._reject(topic, payload, str(e))
        except Exception:
            # A handler bug must not take the service down; it is logged with its traceback.
            self.log.exception("handler for %s failed", topic)

    async def report_rejection(self, topic: str, payload: bytes, reason: str) -> None:
        """A command refused after its handler returned (e.g. a deferred switch): log and error topic."""
        await self._reject(topic, payload, reason)

    async def _reject(self, topic: str, payload: bytes, reason: str) -> None:
        self._rejections.warning(topic, "rejected command on %s: %s", topic, reason)
        error = {
            "ts": now(),
            "topic": topic,
            "payload": payload[:256].decode("utf-8", errors="replace"),
            "error": reason,
        }
        await self._send(self.topics.error(self.service), json.dumps(error), retain=False)


def is_command(topic: str) -> bool:
    return topic.endswith("/set")


def _fail_fast_when_dropped_before_connack(client: aiomqtt.Client, paho_log: logging.Logger) -> None:
    """A broker that drops the connection before its CONNACK (with TLS 1.3 a missing client certificate is
    only reported after the handshake) would leave aiomqtt waiting for its whole timeout while paho logs
    the reason as a line of its own. Fail the attempt at once with that reason: one retry line per attempt.

    Uses aiomqtt 2's private `_connected`/`_lock`/`_client` (pinned in pyproject.toml)."""
    reasons: list[str] = []

    def connecting() -> bool:
        return client._lock.locked() and not client._connected.done()

    def keep_reason(record: logging.LogRecord) -> bool:
        if connecting() and record.levelno >= logging.ERROR:
            reasons.append(record.getMessage())
            return False
        return True

    for old in list(paho_log.filters):
        paho_log.removeFilter(old)
    paho_log.addFilter(keep_reason)
    paho = client._client
    aiomqtt_on_disconnect = paho.on_disconnect

    def on_disconnect(*args: Any) -> None:
        if aiomqtt_on_disconnect is not None:
            aiomqtt_on_disconnect(*args)
        if connecting():
            reason = reasons[-1] if reasons else "the broker closed the connection"
            client._connected.set_exception(aiomqtt.MqttError(reason))

    paho.on_disconnect = on_disconnect
