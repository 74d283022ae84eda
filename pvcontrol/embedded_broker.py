"""For `pvcontrol all` on a fresh machine: an in-process MQTT broker when none answers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from amqtt.broker import Broker

from pvcontrol.broker import BrokerAddress

log = logging.getLogger("pvcontrol.broker")


async def broker_answers(address: BrokerAddress, timeout: float = 2.0) -> bool:
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(address.host, address.port), timeout)
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


@contextlib.asynccontextmanager
async def embedded_broker(address: BrokerAddress) -> AsyncIterator[None]:
    """An anonymous, in-memory amqtt broker listening at `address` for as long as the context lasts."""
    broker = Broker(
        {
            "listeners": {"default": {"type": "tcp", "bind": f"{address.host}:{address.port}"}},
            "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
        }
    )
    await broker.start()
    log.info("no broker answered at %s: started an embedded broker there", address)
    try:
        yield
    finally:
        await broker.shutdown()
