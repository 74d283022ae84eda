"""Fixtures: a real Mosquitto for the whole session, a fresh topic prefix and probe per test."""

from __future__ import annotations

import shutil
import socket
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import Broker, MqttProbe, free_port, wait_until


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def mqtt_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    """A real mosquitto (Debian package) on a free port, so the tests never touch a broker in use."""
    exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not Path(exe).exists():
        pytest.fail("mosquitto is not installed: apt-get install mosquitto (the README's test command does)")
    port = free_port()
    workdir = tmp_path_factory.mktemp("mosquitto")
    config = workdir / "mosquitto.conf"
    config.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
    with (workdir / "mosquitto.log").open("w") as log:
        proc = subprocess.Popen([exe, "-c", str(config)], stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: _accepts(port), 10, f"mosquitto on port {port}")
        yield Broker("127.0.0.1", port)
    finally:
        proc.terminate()
        proc.wait(10)


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
