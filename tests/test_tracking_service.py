"""`pvcontrol controller` with the tracking strategy, black-box: the test plays meter and wallbox."""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import Broker, MqttProbe, ServiceProcess, free_port, running, wait_until

# A long cycle: whatever happens within a test's timeout is the answer to a meter reading.
TRACKING = {
    "PVC_CONTROLLER__STRATEGY": "tracking",
    "PVC_CONTROLLER__CYCLE_TIME": "30",
    "PVC_CONTROLLER__TRACKING_START_DELAY": "0",
}


def meter(grid: float) -> dict[str, Any]:
    return {"ts": time.time(), "power_pv": 3000, "power_consumption": 3000 + grid, "power_grid": grid}


def charging(amps: int) -> dict[str, Any]:
    return {
        "ts": time.time(),
        "car_status": 2,
        "max_current": amps,
        "allow_charging": True,
        "phases_in": 1,
        "phases_out": 1,
        "power": amps * 230,
    }


def metrics_text(port: int) -> str:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as response:
            return str(response.read().decode())
    except OSError:
        return ""


@pytest.fixture
def metrics_port() -> int:
    return free_port()


@pytest.fixture
def controller(
    mqtt_broker: Broker, prefix: str, tmp_path: Path, metrics_port: int
) -> Iterator[ServiceProcess]:
    args = ["controller", "--metrics-port", str(metrics_port)]
    with running(args, mqtt_broker, prefix, tmp_path, TRACKING) as process:
        yield process


def test_a_load_step_is_answered_at_the_next_meter_reading(
    probe: MqttProbe, prefix: str, controller: ServiceProcess, metrics_port: int
) -> None:
    state = f"{prefix}/controller/state"
    probe.publish_json(f"{prefix}/wallbox/state", charging(10))
    probe.wait_for(f"{prefix}/controller/status", lambda m: m.payload == b"online")
    probe.publish(f"{prefix}/controller/desired_mode/set", "PV_ONLY")
    probe.wait_json(state, lambda s: s["desired_mode"] == "PV_ONLY")
    # 10 A (2300 W) and 200 W export: 2500 W, 10 A stays.
    probe.publish_json(f"{prefix}/meter/state", meter(grid=-200))
    doc = probe.wait_json(state, lambda s: (s["reason"] or "").startswith("charging 10 A"))
    assert doc["reason"] == "charging 10 A on 1 phase, surplus 2.5 kW"
    mark = probe.mark()
    # The kettle: 500 W import, 1800 W for the car: 7 A at once, not at the next 30 s cycle.
    probe.publish_json(f"{prefix}/meter/state", meter(grid=500))
    assert probe.wait_for(f"{prefix}/wallbox/max_current/set", after=mark, timeout=10).payload == b"7"
    assert probe.wait_json(state, lambda s: s["reason"].startswith("charging 7 A"), after=mark, timeout=10)
    counted = "pvcontrol_controller_current_changes_total 1.0"
    wait_until(lambda: counted in metrics_text(metrics_port), 10, "the current change counted")
    text = metrics_text(metrics_port)
    assert "pvcontrol_controller_starts_total 0.0" in text
    assert "pvcontrol_controller_phase_switches_total 0.0" in text


def test_state_is_published_every_cycle_without_meter_readings(
    probe: MqttProbe, prefix: str, mqtt_broker: Broker, tmp_path: Path
) -> None:
    env = {**TRACKING, "PVC_CONTROLLER__CYCLE_TIME": "0.2"}
    with running(["controller"], mqtt_broker, prefix, tmp_path, env):
        state = f"{prefix}/controller/state"
        wait_until(lambda: len(probe.on(state)) >= 5, 15, "five controller states: the wallbox's heartbeat")


def test_pv_only_stops_on_stale_meter_data(probe: MqttProbe, prefix: str, controller: ServiceProcess) -> None:
    probe.publish_json(f"{prefix}/wallbox/state", charging(10))
    probe.wait_for(f"{prefix}/controller/status", lambda m: m.payload == b"online")
    probe.publish(f"{prefix}/controller/desired_mode/set", "PV_ONLY")
    mark = probe.mark()
    stale = {**meter(grid=-3000), "ts": time.time() - 600}
    probe.publish_json(f"{prefix}/meter/state", stale)
    assert probe.wait_for(f"{prefix}/wallbox/allow_charging/set", after=mark).payload == b"false"
    assert probe.wait_json(
        f"{prefix}/controller/state",
        lambda s: s["reason"] == "stopped: waiting for fresh meter and wallbox readings",
        after=mark,
    )
