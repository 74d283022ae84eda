"""Runs the services of one process together and fails safe when one of them dies.

A service whose task ends with an exception must not leave the others running without it (in `pvcontrol
all` the controller's death left the charger at 16 A with no one to stop it) nor leave its status retained
`online`. So: the charger is told to stop (if a wallbox service runs here and can still reach it), every
service is stopped (each publishes `offline` on its way out), the dead one's `offline` is published
explicitly (its connection went down with it, without a last will), and the process exits non-zero for
systemd or k8s to restart it.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import aiomqtt

from pvcontrol.broker import BrokerAddress
from pvcontrol.service import Service

log = logging.getLogger("pvcontrol")
OFFLINE_TIMEOUT = 3.0  # s to publish a dead service's `offline`


@runtime_checkable
class StopsCharging(Protocol):
    """A service that can stop the charger before the process exits (the wallbox service)."""

    async def stop_charging(self, reason: str) -> bool: ...


async def run_all(services: Sequence[Service], stop: asyncio.Event, broker: BrokerAddress) -> list[str]:
    """Run every service until `stop` (or one ends); the names of those that died."""
    # Each service stops on an event of its own: one that dies sets its own on the way out, and the
    # others (the wallbox with its connection to the charger) must still run until the charger is stopped.
    stops = [asyncio.Event() for _ in services]
    failed: list[Service] = []

    def stop_all() -> None:
        for event in stops:
            event.set()

    async def supervised(service: Service, own_stop: asyncio.Event) -> None:
        try:
            await service.run(own_stop)
        except (Exception, SystemExit):  # uvicorn exits when it cannot listen
            log.exception("the %s service died; stopping charging and every service", service.name)
            failed.append(service)
            if not stop.is_set():
                await _stop_charging(services, service)
        stop_all()

    forward = asyncio.ensure_future(stop.wait())
    forward.add_done_callback(lambda _: stop_all())
    try:
        await asyncio.gather(*(supervised(s, e) for s, e in zip(services, stops, strict=True)))
    finally:
        forward.cancel()
    for service in failed:
        await publish_offline(broker, service.topics.status(service.name))
    return [service.name for service in failed]


async def _stop_charging(services: Sequence[Service], dead: Service) -> None:
    for service in services:
        # a wallbox service that died has tried on its way out; its device is closed now
        if service is not dead and isinstance(service, StopsCharging):
            await service.stop_charging(f"the {dead.name} service died")


async def publish_offline(broker: BrokerAddress, topic: str) -> None:
    """`offline`, retained, over a connection of its own."""
    identifier = f"pvcontrol-exit-{secrets.token_hex(4)}"
    try:
        async with (
            asyncio.timeout(OFFLINE_TIMEOUT),
            broker.client(identifier=identifier, timeout=OFFLINE_TIMEOUT) as client,
        ):
            await client.publish(topic, "offline", qos=1, retain=True)
    except (aiomqtt.MqttError, TimeoutError, OSError) as e:
        log.error("could not publish offline on %s: %s", topic, e)
