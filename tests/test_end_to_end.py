"""`pvcontrol all` as a real process: REST in, the simulated wallbox follows the simulated sun."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers import (
    STARTUP_TIMEOUT,
    Broker,
    MqttProbe,
    ServiceProcess,
    free_port,
    gateway_ready,
    put_once_online,
    running,
    running_all,
    wait_until,
)

# A quick sun (one |sin| bump per 20 s: the simulated meter's time scale) over FAST_SIMULATION (no home
# battery to hide the surplus), fast cycles: charging is possible for 15 s of each bump, 30 cycles; a
# missed bump waits 20 s.
# The original strategy (its allow-charging delay shrunk; the tracking strategy has its own end-to-end test).
FAST_SYSTEM = {
    "PVC_CONTROLLER__STRATEGY": "original",
    "PVC_METER__PV_MAX": "6000",
    "PVC_METER__PV_PERIOD": "20",
    "PVC_CONTROLLER__CYCLE_TIME": "0.5",
    "PVC_CONTROLLER__PV_ALLOW_CHARGING_DELAY": "1",
}


@pytest.fixture
def system(mqtt_broker: Broker, prefix: str, tmp_path: Path) -> Iterator[tuple[str, ServiceProcess]]:
    env = {**FAST_SYSTEM, "PVC_WALLBOX__PHASES": "1"}
    with running_all(mqtt_broker, prefix, tmp_path, env, ["--relay", "DisabledPhaseRelay"]) as system:
        yield system


def test_pv_only_over_rest_makes_the_wallbox_follow_the_sun(
    system: tuple[str, ServiceProcess], probe: MqttProbe, prefix: str
) -> None:
    url, process = system
    put_once_online(url)  # PV_ONLY, once the controller is online
    wallbox = f"{prefix}/wallbox/state"
    probe.wait_json(wallbox, lambda w: w["allow_charging"] and w["power"] > 0, timeout=60)
    currents = set()

    def several_currents() -> bool:
        for m in probe.on(wallbox):
            w = m.json()
            if w["allow_charging"] and w["power"] > 0:
                currents.add(w["max_current"])
        return len(currents) >= 3

    wait_until(several_currents, 60, "the charging current to follow the PV power")
    # Charging stops when the sun is down between two bumps: never charging from the grid.
    probe.wait_json(wallbox, lambda w: not w["allow_charging"], after=probe.mark(), timeout=60)
    assert min(currents) >= 6
    assert max(currents) <= 16

    doc = httpx.get(f"{url}/api/pvcontrol").json()
    assert doc["controller"]["mode"] == "PV_ONLY"
    assert doc["meter"]["error"] == 0
    assert process.proc.poll() is None


def test_sigterm_stops_everything_cleanly(
    system: tuple[str, ServiceProcess], probe: MqttProbe, prefix: str
) -> None:
    _, process = system
    for service in ("meter", "wallbox", "car", "relay", "controller", "api"):
        probe.wait_for(f"{prefix}/{service}/status", lambda m: m.payload == b"online")
    assert process.terminate() == 0
    for service in ("meter", "wallbox", "car", "relay", "controller", "api"):
        assert probe.last(f"{prefix}/{service}/status").payload == b"offline"  # type: ignore[union-attr]


def test_all_starts_an_embedded_broker_when_none_answers(tmp_path: Path) -> None:
    mqtt_port, http_port = free_port(), free_port()
    broker = Broker("127.0.0.1", mqtt_port)
    with running(
        ["all", "--port", str(http_port), "--host", "127.0.0.1"], broker, "pvcontrol", tmp_path
    ) as p:
        url = f"http://127.0.0.1:{http_port}"
        wait_until(lambda: gateway_ready(url), STARTUP_TIMEOUT, "gateway ready on the embedded broker")
        assert "started an embedded broker" in p.log()
        with socket.create_connection(("127.0.0.1", mqtt_port), timeout=2):
            pass
        wait_until(lambda: httpx.get(f"{url}/api/pvcontrol").json()["meter"]["error"] == 0, 30)
