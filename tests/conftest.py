"""Fixtures: a real Mosquitto for the whole session, a fresh topic prefix and probe per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.helpers import Broker, MqttProbe, free_port, own_mosquitto


@pytest.fixture(scope="session")
def mqtt_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    """A real mosquitto on a free port, so the tests never touch a broker in use."""
    port = free_port()
    with own_mosquitto(port, tmp_path_factory.mktemp("mosquitto")):
        yield Broker("127.0.0.1", port)


@pytest.fixture
def prefix() -> str:
    """A topic prefix of its own for every test, so retained messages never leak between tests."""
    return f"pvctest-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def probe(mqtt_broker: Broker, prefix: str) -> Iterator[MqttProbe]:
    p = MqttProbe(mqtt_broker, prefix)
    p.start()
    yield p
    p.stop()
