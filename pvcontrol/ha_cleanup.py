"""`pvcontrol ha-cleanup`: remove pv-control's retained Home Assistant discovery documents from the broker,
so its entities disappear from Home Assistant (stop the gateway first, or it announces them again)."""

from __future__ import annotations

import asyncio
import logging
import secrets

import aiomqtt

from pvcontrol.broker import BrokerAddress
from services.api.discovery import all_topics

EXIT_BROKER_UNREACHABLE = 1
log = logging.getLogger("pvcontrol.ha-cleanup")


async def clear(broker: BrokerAddress) -> int:
    """An empty retained message on every discovery topic (how MQTT deletes a retained one); the count."""
    topics = all_topics()
    async with aiomqtt.Client(
        broker.host,
        broker.port,
        username=broker.username,
        password=broker.password,
        identifier=f"pvcontrol-ha-cleanup-{secrets.token_hex(4)}",
        tls_context=broker.ssl_context(),
        timeout=10,
    ) as client:
        for topic in topics:
            await client.publish(topic, b"", qos=1, retain=True)
    return len(topics)


def run(broker: BrokerAddress) -> int:
    """The exit code: 0 when the broker took every deletion, 1 (with one line) when it is not reachable."""
    try:
        count = asyncio.run(clear(broker))
    except aiomqtt.MqttError as e:
        log.error("cannot reach the broker %s (%s); nothing removed", broker, e)
        return EXIT_BROKER_UNREACHABLE
    log.info("removed %d Home Assistant discovery documents from %s", count, broker)
    return 0
