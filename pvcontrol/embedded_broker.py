"""For `pvcontrol all` on a fresh machine: an in-process MQTT broker when none answers.

The embedded broker is anonymous, so it only ever listens on a loopback address and only when the
configuration asks for no credentials and no TLS: otherwise it would quietly replace a protected broker
(and take its port) with one anyone may write to.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
from collections.abc import AsyncIterator

from pvcontrol.broker import BrokerAddress

log = logging.getLogger("pvcontrol.broker")


class EmbeddedBrokerRefused(Exception):
    """No broker answers and the embedded one may not run in its place; the message is one line."""


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve to anything


def why_unsafe(address: BrokerAddress) -> str | None:
    """Why an anonymous broker must not stand in for the one at `address`, or None when it may."""
    if address.username is not None or address.password is not None:
        return "credentials are configured"
    if address.tls:
        return "TLS is configured"
    if not is_loopback(address.host):
        return f"{address.host} is not a loopback address"
    return None


async def broker_answers(address: BrokerAddress, timeout: float = 2.0) -> bool:
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(address.host, address.port), timeout)
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


async def ensure_broker(stack: contextlib.AsyncExitStack, address: BrokerAddress) -> None:
    """Start the embedded broker in `stack` if none answers at `address` and that is safe; raise
    `EmbeddedBrokerRefused` if none answers and it is not."""
    if await broker_answers(address):
        return
    reason = why_unsafe(address)
    if reason is not None:
        raise EmbeddedBrokerRefused(
            f"no MQTT broker answers at {address} and the embedded broker only runs on a loopback address "
            f"without credentials or TLS ({reason}); start your broker or set mqtt.embedded_broker: false"
        )
    await stack.enter_async_context(embedded_broker(address))


@contextlib.asynccontextmanager
async def embedded_broker(address: BrokerAddress) -> AsyncIterator[None]:
    """An anonymous, in-memory amqtt broker listening at `address` for as long as the context lasts."""
    from amqtt.broker import Broker  # only `pvcontrol all` on a fresh machine needs it

    host = f"[{address.host}]" if ":" in address.host else address.host
    broker = Broker(
        {
            "listeners": {"default": {"type": "tcp", "bind": f"{host}:{address.port}"}},
            "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
        }
    )
    await broker.start()
    log.info("no broker answered at %s: started an embedded broker there", address)
    try:
        yield
    finally:
        await broker.shutdown()
