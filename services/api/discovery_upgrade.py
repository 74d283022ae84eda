"""The upgrade to per-prefix discovery: this installation's documents on the topics every prefix shared
before are deleted, and only then are the new ones published.

The order matters to Home Assistant: an entity deleted first frees its entity id (`sensor.pv_control_
pv_power`), which the new entity (same device and entity name, new unique id) then takes again, so
dashboards, automations and statistics keep working. Published the other way round, the new entity
would become `..._2`. The broker sends the retained documents right after our subscriptions, in order,
so once a marker we publish afterwards comes back, each of ours has been seen (and deleted).
"""

from __future__ import annotations

import asyncio
import logging

from pvcontrol.mqtt import Handler, MqttLink
from pvcontrol.topics import Topics
from services.api import discovery

CHECK_TIMEOUT = 5.0  # s for the marker; it runs out only when the broker user may not read homeassistant/#


class LegacyDiscovery:
    def __init__(self, link: MqttLink, topics: Topics, log: logging.Logger) -> None:
        self.link = link
        self.topics = topics
        self.log = log
        self.removed = 0
        self._marker = f"homeassistant/pvcontrol-upgrade/{link.client_id}"
        self._marker_back = asyncio.Event()
        for topic in discovery.legacy_topics():
            link.on(topic, self._handler(topic))
        link.on(self._marker, self._on_marker)

    def _handler(self, topic: str) -> Handler:
        async def handle(payload: bytes) -> None:
            if not discovery.is_own_legacy(payload, self.topics) or not await self.link.clear_retained(topic):
                return  # another installation's, or not pv-control's at all: left alone
            self.removed += 1
            if self.removed == 1:
                self.log.info("removing this prefix's discovery documents from before per-prefix topics")

        return handle

    async def _on_marker(self, _payload: bytes) -> None:
        self._marker_back.set()

    async def retire(self) -> None:
        """Return once this installation's old documents are deleted (or the broker hides them)."""
        while True:
            await self.link.connected.wait()
            # Not a command, but sent like one: live, not retained, not queued while disconnected.
            if await self.link.publish_command(self._marker, "checked"):
                break
            await asyncio.sleep(1)  # the connection dropped between the two: try again on the next
        try:
            await asyncio.wait_for(self._marker_back.wait(), CHECK_TIMEOUT)
        except TimeoutError:
            self.log.warning(
                "cannot read homeassistant/# back (broker ACL?): discovery documents from before "
                "per-prefix topics are not removed; give the gateway's user readwrite homeassistant/#"
            )
