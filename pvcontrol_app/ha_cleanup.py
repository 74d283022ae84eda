"""`pvcontrol ha-cleanup`: remove this installation's (this MQTT prefix's) retained Home Assistant
discovery documents from the broker, so its entities disappear from Home Assistant (stop the gateway
first, or it announces them again). Another prefix's documents stay, on its own topics and on the topics
versions before per-prefix discovery shared."""

from __future__ import annotations

import asyncio
import logging
import secrets

import aiomqtt

from pvcontrol.broker import BrokerAddress
from pvcontrol.topics import Topics
from services.api.discovery import all_topics, is_own_legacy, legacy_topics

EXIT_BROKER_UNREACHABLE = 1
READ_BACK_TIMEOUT = 5.0  # s for the broker's retained documents; only without read permission it runs out
log = logging.getLogger("pvcontrol.ha-cleanup")


async def clear(broker: BrokerAddress, topics: Topics) -> int:
    """An empty retained message (how MQTT deletes a retained one) on every topic of this prefix and on
    each shared legacy topic that holds this prefix's document; the count."""
    async with broker.client(identifier=f"pvcontrol-ha-cleanup-{secrets.token_hex(4)}", timeout=10) as client:
        doomed = all_topics(topics) + await own_legacy(client, topics)
        for topic in doomed:
            await client.publish(topic, b"", qos=1, retain=True)
    return len(doomed)


async def own_legacy(client: aiomqtt.Client, topics: Topics) -> list[str]:
    """The legacy topics whose retained document is this prefix's. The broker sends the retained
    messages right after a subscription, in order, so once our own marker is back, all are in."""
    legacy = legacy_topics()
    marker = f"homeassistant/pvcontrol-ha-cleanup/{secrets.token_hex(8)}"
    await client.subscribe([(topic, 1) for topic in legacy])
    await client.subscribe(marker, qos=1)
    await client.publish(marker, b"end", qos=1)
    own: list[str] = []
    try:
        async with asyncio.timeout(READ_BACK_TIMEOUT):
            async for message in client.messages:
                topic = str(message.topic)
                if topic == marker:
                    break
                payload = message.payload
                if message.retain and isinstance(payload, bytes) and is_own_legacy(payload, topics):
                    own.append(topic)
    except TimeoutError:
        log.warning("cannot read homeassistant/# back: documents from before per-prefix topics are left")
    return own


def run(broker: BrokerAddress, topics: Topics) -> int:
    """The exit code: 0 when the broker took every deletion, 1 (with one line) when it is not reachable."""
    try:
        count = asyncio.run(clear(broker, topics))
    except aiomqtt.MqttError as e:
        log.error("cannot reach the broker %s (%s); nothing removed", broker, e)
        return EXIT_BROKER_UNREACHABLE
    log.info(
        "removed %d Home Assistant discovery documents of prefix %s from %s", count, topics.prefix, broker
    )
    return 0
