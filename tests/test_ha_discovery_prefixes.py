"""Two installations (MQTT prefixes) on one broker: each gateway announces its own Home Assistant
entities on its own discovery topics with its own unique ids; `ha-cleanup` removes only its prefix's;
and at the upgrade a gateway removes the documents it published on the topics all prefixes shared
before, but never another installation's. Gateways run in the test process on the real Mosquitto."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any

from pvcontrol.broker import BrokerAddress
from pvcontrol.topics import Topics
from pvcontrol_app import ha_cleanup
from services.api.discovery import Naming, _documents, all_topics, documents, legacy_topics
from services.api.service import ApiService
from services.api.settings import ApiSettings
from tests.helpers import Broker, MqttProbe, retained_discovery_documents, wait_until


def retained(broker: Broker) -> dict[str, dict[str, Any]]:
    """The retained JSON objects among them (discovery documents)."""
    documents = {}
    for topic, payload in retained_discovery_documents(broker).items():
        try:
            document = json.loads(payload)
        except ValueError:
            continue
        if isinstance(document, dict):
            documents[topic] = document
    return documents


def announced(broker: Broker, prefix: str) -> dict[str, dict[str, Any]]:
    """The retained documents on `prefix`'s own discovery topics."""
    own = set(all_topics(Topics(prefix)))
    return {topic: doc for topic, doc in retained(broker).items() if topic in own}


def legacy_documents(prefix: str) -> dict[str, dict[str, Any]]:
    """What a gateway of `prefix` published before per-prefix discovery (the shared topics)."""
    return dict(_documents(Naming(Topics(prefix), legacy=True), phase_select=True))


@asynccontextmanager
async def gateway(broker: Broker, prefix: str) -> AsyncIterator[ApiService]:
    service = ApiService(
        ApiSettings(host="127.0.0.1", port=0), BrokerAddress.parse(broker.url), Topics(prefix)
    )
    stop = asyncio.Event()
    task = asyncio.create_task(service.run(stop))
    try:
        yield service
    finally:
        stop.set()
        await task


async def until(condition: Callable[[], object], what: str) -> None:
    await asyncio.to_thread(wait_until, condition, 20, what)


def run(scenario: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(scenario())


def full_set(broker: Broker, prefix: str) -> bool:
    """Every document of the prefix (without the relay's select) is retained."""
    return set(announced(broker, prefix)) == {t for t, _ in documents(Topics(prefix), phase_select=False)}


def test_two_prefixes_announce_their_own_entities_and_cleanup_removes_only_its_own(
    mqtt_broker: Broker, prefix: str
) -> None:
    home1, home2 = f"{prefix}-home1", f"{prefix}-home2"
    ha = MqttProbe(mqtt_broker, home1)
    ha.start(extra_topics=(f"{home2}/#", "homeassistant/#"))

    async def scenario() -> None:
        async with gateway(mqtt_broker, home2):
            async with gateway(mqtt_broker, home1):
                await until(
                    lambda: full_set(mqtt_broker, home1) and full_set(mqtt_broker, home2), "both sets"
                )
            first = await asyncio.to_thread(announced, mqtt_broker, home1)
            second = await asyncio.to_thread(announced, mqtt_broker, home2)
            assert len(first) == len(second) > 20
            assert not set(first) & set(second)
            ids = [doc["unique_id"] for doc in (*first.values(), *second.values())]
            assert len(set(ids)) == len(ids)
            for prefix_, docs in ((home1, first), (home2, second)):
                for doc in docs.values():
                    topics = [value for key, value in doc.items() if key.endswith("_topic")]
                    assert all(topic.startswith(f"{prefix_}/") for topic in topics), doc
                    assert doc["device"]["identifiers"] == [f"pvcontrol_{prefix_}"]
                    assert doc["device"]["name"] == f"pv-control {prefix_}"
            # Home Assistant's "Charge mode" of home1, as it reads it from home1's topic, commands home1.
            mode = first[f"homeassistant/select/{home1}/pvcontrol_desired_mode/config"]
            mark = ha.mark()
            await asyncio.to_thread(ha.publish, mode["command_topic"], "MAX")
            await asyncio.to_thread(ha.wait_for, f"{home1}/controller/desired_mode/set", after=mark)
            assert ha.since(mark, f"{home2}/controller/desired_mode/set") == []

            # home1 is gone (stopped first, as ha-cleanup asks); its cleanup leaves home2 alone.
            removed = await ha_cleanup.clear(BrokerAddress.parse(mqtt_broker.url), Topics(home1))
            assert removed == len(all_topics(Topics(home1)))
            assert await asyncio.to_thread(announced, mqtt_broker, home1) == {}
            assert await asyncio.to_thread(announced, mqtt_broker, home2) == second

    try:
        run(scenario)
    finally:
        ha.stop()


def test_the_upgrade_removes_only_this_prefix_s_documents_from_the_shared_topics(
    mqtt_broker: Broker, prefix: str
) -> None:
    home1, home2 = f"{prefix}-home1", f"{prefix}-home2"
    old1, old2 = legacy_documents(home1), legacy_documents(home2)
    shared = legacy_topics()
    assert set(old1) == set(old2) == set(shared)
    # Before the upgrade both installations wrote the same topics; the last writer holds each. home1
    # holds the sensors, home2 the selects, numbers and text (its "Charge mode" is on the shared topic).
    held = {topic: (old2[topic] if "/sensor/" not in topic else old1[topic]) for topic in shared}
    ha = MqttProbe(mqtt_broker, home1)
    ha.start(extra_topics=("homeassistant/#",))  # Home Assistant's view, in the order it gets them
    try:
        for topic, doc in held.items():
            ha.publish(topic, json.dumps(doc), retain=True)
        wait_until(lambda: set(held) <= set(retained(mqtt_broker)), what="the old documents retained")

        def shared_now() -> dict[str, dict[str, Any]]:
            return {t: d for t, d in retained(mqtt_broker).items() if t in held}

        async def scenario() -> None:
            mark = ha.mark()
            async with gateway(mqtt_broker, home1) as upgraded:
                await until(lambda: full_set(mqtt_broker, home1), "home1's new documents")
                home2_only = {t: d for t, d in held.items() if "/sensor/" not in t}
                await until(lambda: shared_now() == home2_only, "home1's old documents gone")
                assert upgraded.legacy_discovery.removed == len(held) - len(home2_only)
            # Every deletion reached Home Assistant before the first new document: the entity ids the
            # old entities had are free again when the new ones come.
            seen = ha.messages[mark:]
            deleted = [i for i, m in enumerate(seen) if m.topic in held and not m.payload]
            new = set(all_topics(Topics(home1)))
            published = [i for i, m in enumerate(seen) if m.topic in new and m.payload]
            assert len(deleted) == len(held) - len(home2_only)
            assert max(deleted) < min(published)
            # A second start finds nothing of its own left there and removes nothing of home2's.
            async with gateway(mqtt_broker, home1):
                await until(lambda: full_set(mqtt_broker, home1), "home1 again")
            assert await asyncio.to_thread(shared_now) == home2_only
            # home2's cleanup, with home2 not yet upgraded: its old documents go, home1's new ones stay.
            await ha_cleanup.clear(BrokerAddress.parse(mqtt_broker.url), Topics(home2))
            assert await asyncio.to_thread(shared_now) == {}
            assert await asyncio.to_thread(full_set, mqtt_broker, home1)

        run(scenario)
    finally:
        for topic in held:
            ha.publish(topic, "", retain=True)
        for topic in all_topics(Topics(home1)):
            ha.publish(topic, "", retain=True)
        ha.stop()


def test_a_document_of_another_shape_on_a_shared_topic_is_not_taken_for_ours(
    mqtt_broker: Broker, prefix: str
) -> None:
    """Not JSON, not an object, another prefix that starts like ours, a mix: all stay."""
    home = f"{prefix}-home"
    topics = legacy_topics()[:5]
    foreign: list[str] = [
        "not json",
        json.dumps(["a", "list"]),
        json.dumps({"state_topic": f"{home}/x/meter/state", "availability_topic": f"{home}/x/meter/status"}),
        json.dumps({"state_topic": f"{home}/meter/state", "availability_topic": "elsewhere/status"}),
        json.dumps({"name": "no topics at all"}),
    ]
    ha = MqttProbe(mqtt_broker, home)
    ha.start()
    try:
        for topic, payload in zip(topics, foreign, strict=True):
            ha.publish(topic, payload, retain=True)
        wait_until(lambda: set(topics) <= set(retained_discovery_documents(mqtt_broker)), what="retained")

        async def scenario() -> None:
            async with gateway(mqtt_broker, home):
                await until(lambda: full_set(mqtt_broker, home), "the new documents")
            await ha_cleanup.clear(BrokerAddress.parse(mqtt_broker.url), Topics(home))

        run(scenario)
        now = retained_discovery_documents(mqtt_broker)
        assert {topic: now.get(topic, b"").decode() for topic in topics} == dict(
            zip(topics, foreign, strict=True)
        )
    finally:
        for topic in topics:
            ha.publish(topic, "", retain=True)
        ha.stop()
