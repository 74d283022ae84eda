"""Black-box tests of `pvcontrol relay`: the test plays the wallbox over MQTT and sends phase commands."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import Broker, MqttProbe, Received, ServiceProcess, running

# Republish often, so "state unchanged" can be checked on a state published after a refusal.
FAST = {"PVC_RELAY__PUBLISH_INTERVAL": "0.3"}


def idle_wallbox(**values: Any) -> dict[str, Any]:
    return {
        "ts": time.time(),
        "error": 0,
        "car_status": 3,
        "phases_in": 1,
        "phases_out": 0,
        "power": 0,
        **values,
    }


@pytest.fixture
def relay(mqtt_broker: Broker, prefix: str, probe: MqttProbe, tmp_path: Path) -> Iterator[ServiceProcess]:
    """A SimulatedPhaseRelay (NO), online and subscribed."""
    with running(["relay", "--relay", "SimulatedPhaseRelay"], mqtt_broker, prefix, tmp_path, FAST) as process:
        wait_online(probe, prefix)
        yield process


def wait_online(probe: MqttProbe, prefix: str) -> None:
    probe.wait_for(f"{prefix}/relay/status", lambda m: m.payload == b"online")


def retained(broker: Broker, prefix: str, topic: str) -> Received:
    """What a client subscribing now gets as the retained message of `topic`."""
    late = MqttProbe(broker, prefix)
    late.start()
    try:
        return late.wait_for(topic, lambda m: m.retain, timeout=5)
    finally:
        late.stop()


def set_phases(probe: MqttProbe, prefix: str, payload: str) -> int:
    """Send a phase command; the returned mark is the position before it."""
    mark = probe.mark()
    probe.publish(f"{prefix}/relay/phases/set", payload)
    return mark


def wait_error(probe: MqttProbe, prefix: str, payload: str, after: int) -> dict[str, Any]:
    error: dict[str, Any] = probe.wait_json(
        f"{prefix}/relay/error", lambda e: e["payload"] == payload, after=after
    )
    assert error["topic"] == f"{prefix}/relay/phases/set"
    assert error["error"]
    assert error["ts"] == pytest.approx(time.time(), abs=10)
    return error


def state_after(probe: MqttProbe, prefix: str, mark: int) -> dict[str, Any]:
    """The first relay state published after `mark`."""
    state: dict[str, Any] = probe.wait_json(f"{prefix}/relay/state", lambda s: True, after=mark)
    return state


def test_publishes_its_state_retained(
    probe: MqttProbe, prefix: str, mqtt_broker: Broker, relay: ServiceProcess
) -> None:
    state = probe.wait_json(f"{prefix}/relay/state", lambda s: True)
    assert (state["enabled"], state["phase_relay"], state["phases"]) == (True, False, 1)
    assert state["error"] == 0
    assert state["ts"] == pytest.approx(time.time(), abs=10)
    assert retained(mqtt_broker, prefix, f"{prefix}/relay/state").json()["phases"] == 1


def test_switches_while_the_wallbox_is_idle_and_publishes_the_change(
    probe: MqttProbe, prefix: str, mqtt_broker: Broker, tmp_path: Path
) -> None:
    # No periodic republish during the test: each new state must come from the switch itself.
    slow = {"PVC_RELAY__PUBLISH_INTERVAL": "3600"}
    with running(["relay", "--relay", "SimulatedPhaseRelay"], mqtt_broker, prefix, tmp_path, slow):
        wait_online(probe, prefix)
        probe.publish_json(f"{prefix}/wallbox/state", idle_wallbox())
        mark = set_phases(probe, prefix, "3")
        state = probe.wait_json(f"{prefix}/relay/state", lambda s: s["phases"] == 3, after=mark)
        assert state["phase_relay"] is True

        mark = set_phases(probe, prefix, '"1"')  # a JSON scalar is accepted too
        state = probe.wait_json(f"{prefix}/relay/state", lambda s: s["phases"] == 1, after=mark)
        assert state["phase_relay"] is False
    assert probe.on(f"{prefix}/relay/error") == []


@pytest.mark.parametrize(
    "age",
    [pytest.param(0, id="fresh"), pytest.param(60, id="60s-old-within-default-stale-limit")],
)
def test_wallbox_state_younger_than_the_stale_limit_allows_switching(
    probe: MqttProbe, prefix: str, relay: ServiceProcess, age: float
) -> None:
    probe.publish_json(f"{prefix}/wallbox/state", idle_wallbox(ts=time.time() - age))
    mark = set_phases(probe, prefix, "3")
    probe.wait_json(f"{prefix}/relay/state", lambda s: s["phases"] == 3, after=mark)


@pytest.mark.parametrize(
    ("wallbox", "reason"),
    [
        pytest.param({"phases_out": 1}, "charging", id="phases_out"),
        pytest.param({"power": 50.0}, "charging", id="power"),
        pytest.param({"phases_out": 3, "power": 11000, "car_status": 2}, "charging", id="charging"),
        pytest.param({"age": 200}, "stale", id="stale"),
        pytest.param(None, "no trusted wallbox state", id="no-wallbox-state"),
    ],
)
def test_refuses_to_switch_unless_the_wallbox_is_known_idle(
    probe: MqttProbe, prefix: str, relay: ServiceProcess, wallbox: dict[str, Any] | None, reason: str
) -> None:
    if wallbox is not None:
        values = dict(wallbox)
        age = values.pop("age", 0)
        probe.publish_json(f"{prefix}/wallbox/state", idle_wallbox(ts=time.time() - age, **values))
    mark = set_phases(probe, prefix, "3")
    error = wait_error(probe, prefix, "3", after=mark)["error"]
    assert "refusing" in error
    assert reason in error
    error_mark = probe.mark()
    assert state_after(probe, prefix, error_mark)["phases"] == 1
    assert all(s.json()["phases"] == 1 for s in probe.on(f"{prefix}/relay/state"))
    assert relay.proc.poll() is None


def test_stale_limit_is_a_setting(probe: MqttProbe, prefix: str, mqtt_broker: Broker, tmp_path: Path) -> None:
    env = {**FAST, "PVC_RELAY__STALE_AFTER": "5"}
    with running(["relay", "--relay", "SimulatedPhaseRelay"], mqtt_broker, prefix, tmp_path, env):
        wait_online(probe, prefix)
        probe.publish_json(f"{prefix}/wallbox/state", idle_wallbox(ts=time.time() - 10))
        mark = set_phases(probe, prefix, "3")
        assert "stale" in wait_error(probe, prefix, "3", after=mark)["error"]

        probe.publish_json(f"{prefix}/wallbox/state", idle_wallbox())
        mark = set_phases(probe, prefix, "3")
        probe.wait_json(f"{prefix}/relay/state", lambda s: s["phases"] == 3, after=mark)


def test_rejects_invalid_phase_values(probe: MqttProbe, prefix: str, relay: ServiceProcess) -> None:
    probe.publish_json(f"{prefix}/wallbox/state", idle_wallbox())
    for payload in ("2", "abc", "0", "4", "1.5", "3.0", "\uff13", '{"phases": 3}'):
        mark = set_phases(probe, prefix, payload)
        wait_error(probe, prefix, payload, after=mark)
    error_mark = probe.mark()
    assert state_after(probe, prefix, error_mark)["phases"] == 1
    assert relay.proc.poll() is None


def test_disabled_relay_reports_zero_phases_and_rejects_every_switch(
    probe: MqttProbe, prefix: str, mqtt_broker: Broker, tmp_path: Path
) -> None:
    with running(["relay", "--relay", "DisabledPhaseRelay"], mqtt_broker, prefix, tmp_path, FAST) as process:
        wait_online(probe, prefix)
        state = probe.wait_json(f"{prefix}/relay/state", lambda s: True)
        assert (state["enabled"], state["phase_relay"], state["phases"]) == (False, False, 0)
        probe.publish_json(f"{prefix}/wallbox/state", idle_wallbox())
        for payload in ("1", "3"):
            mark = set_phases(probe, prefix, payload)
            assert "disabled" in wait_error(probe, prefix, payload, after=mark)["error"]
        error_mark = probe.mark()
        assert state_after(probe, prefix, error_mark)["phases"] == 0
        assert process.proc.poll() is None


def test_normally_closed_relay_is_energised_for_one_phase(
    probe: MqttProbe, prefix: str, mqtt_broker: Broker, tmp_path: Path
) -> None:
    env = {**FAST, "PVC_RELAY__PHASE_RELAY_TYPE": "NC"}
    with running(["relay", "--relay", "SimulatedPhaseRelay"], mqtt_broker, prefix, tmp_path, env):
        wait_online(probe, prefix)
        state = probe.wait_json(f"{prefix}/relay/state", lambda s: True)
        assert (state["phase_relay"], state["phases"]) == (False, 3)

        probe.publish_json(f"{prefix}/wallbox/state", idle_wallbox(phases_in=3))
        mark = set_phases(probe, prefix, "1")
        state = probe.wait_json(f"{prefix}/relay/state", lambda s: s["phases"] == 1, after=mark)
        assert state["phase_relay"] is True
