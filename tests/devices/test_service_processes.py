"""Each service type as a real `pvcontrol` process with a real adapter, against its fake device and a real
Mosquitto: the published state, the writes a command causes, errors counted up and recovery."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.fakes import carcloud
from tests.fakes.goe import FakeGoe
from tests.fakes.http import Fault
from tests.fakes.kostal import FakeKostal
from tests.helpers import Broker, MqttProbe, running, wait_until

ROOT = Path(__file__).resolve().parents[2]
FAKES = ROOT / "tests" / "fakes"


def config_file(tmp_path: Path, sections: dict[str, Any]) -> str:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(sections))
    return str(path)


def state(probe: MqttProbe, prefix: str, service: str, predicate: Any, after: int = 0) -> Any:
    return probe.wait_json(f"{prefix}/{service}/state", predicate, after=after)


@pytest.fixture
def kostal() -> Iterator[FakeKostal]:
    with FakeKostal() as fake:
        yield fake


def test_meter_process_with_kostal(
    mqtt_broker: Broker, probe: MqttProbe, prefix: str, tmp_path: Path, kostal: FakeKostal
) -> None:
    meter = {"type": "KostalMeter", "host": kostal.host, "port": kostal.port, "poll_interval": 0.2}
    args = ["meter", "-c", config_file(tmp_path, {"meter": meter | {"timeout": 0.3}})]
    with running(args, mqtt_broker, prefix, tmp_path):
        good = state(probe, prefix, "meter", lambda s: s["error"] == 0 and s["power_pv"] > 0)
        assert good["power_pv"] == pytest.approx(5230.0)
        assert good["power_consumption"] == pytest.approx(940.0)
        assert good["soc_battery"] == 71
        config = probe.wait_json(f"{prefix}/meter/config", lambda c: c["type"] == "KostalMeter")
        assert config["port"] == kostal.port
        late = MqttProbe(mqtt_broker, prefix)
        late.start()
        try:
            assert late.wait_for(f"{prefix}/meter/state").retain
        finally:
            late.stop()

        mark = probe.mark()
        kostal.stop()
        kept = state(probe, prefix, "meter", lambda s: s["error"] == 1, mark)
        assert kept["power_pv"] == pytest.approx(5230.0)  # last data kept
        zeros = state(probe, prefix, "meter", lambda s: s["error"] > 3, mark)
        assert zeros["power_pv"] == zeros["power_consumption"] == 0  # stale data is not passed on

        mark = probe.mark()
        kostal.set_powers(pv=1000.0, home=600.0, battery=0.0, soc=72)
        kostal.start()
        back = state(probe, prefix, "meter", lambda s: s["error"] == 0, mark)
        assert back["power_pv"] == pytest.approx(1000.0)


@pytest.fixture
def goe() -> Iterator[FakeGoe]:
    with FakeGoe(api="v2") as fake:
        yield fake


def test_wallbox_process_with_goe(
    mqtt_broker: Broker, probe: MqttProbe, prefix: str, tmp_path: Path, goe: FakeGoe
) -> None:
    wallbox = {"type": "GoeWallbox", "url": goe.url, "poll_interval": 0.2, "timeout": 0.3}
    args = ["wallbox", "-c", config_file(tmp_path, {"wallbox": wallbox})]
    with running(args, mqtt_broker, prefix, tmp_path):
        first = state(probe, prefix, "wallbox", lambda s: s["error"] == 0)
        assert (first["car_status"], first["max_current"], first["phases_in"]) == (2, 16, 3)
        assert first["power"] == pytest.approx(16 * 230 * 3)

        probe.publish(f"{prefix}/wallbox/max_current/set", "10")
        wait_until(lambda: ("amp", "10") in goe.writes, what="amp=10 on the charger")
        probe.publish(f"{prefix}/wallbox/allow_charging/set", "false")
        wait_until(lambda: ("frc", "1") in goe.writes, what="frc=1 on the charger")
        stopped = state(probe, prefix, "wallbox", lambda s: s["max_current"] == 10 and not s["power"])
        assert stopped["allow_charging"] is False
        probe.publish(f"{prefix}/wallbox/reset/set", "1")
        wait_until(lambda: ("rst", "1") in goe.writes, what="rst=1 on the charger")
        probe.publish(f"{prefix}/wallbox/max_current/set", "10")  # unchanged: no write
        probe.publish(f"{prefix}/wallbox/max_current/set", "11")
        wait_until(lambda: ("amp", "11") in goe.writes, what="amp=11 on the charger")
        assert goe.writes.count(("amp", "10")) == 1
        state(probe, prefix, "wallbox", lambda s: s["max_current"] == 11)

        for fault in (Fault.HTTP_500, Fault.GARBAGE, Fault.SLOW, Fault.CLOSE):
            mark = probe.mark()
            goe.fail(fault)
            failing = state(probe, prefix, "wallbox", lambda s: s["error"] >= 2, mark)
            assert failing["max_current"] == 11  # last data kept
            mark = probe.mark()
            goe.heal()
            state(probe, prefix, "wallbox", lambda s: s["error"] == 0, mark)

        mark = probe.mark()
        goe.override(err=77)
        state(probe, prefix, "wallbox", lambda s: s["error"] >= 1, mark)
        goe.clear_override()
        mark = probe.mark()
        goe.stop()
        state(probe, prefix, "wallbox", lambda s: s["error"] >= 2, mark)
        mark = probe.mark()
        goe.start()
        state(probe, prefix, "wallbox", lambda s: s["error"] == 0, mark)


def test_relay_process_with_raspi_gpio(
    mqtt_broker: Broker, probe: MqttProbe, prefix: str, tmp_path: Path
) -> None:
    """The fake RPi.GPIO in the service process keeps its pins in a file, like the kernel across restarts."""
    pins = tmp_path / "gpio.json"
    pins.write_text(json.dumps({"26": {"function": 0, "level": 0}}))  # an output, energised: 3 phases
    env = {"FAKE_GPIO_STATE": str(pins), "PYTHONPATH": f"{FAKES / 'rpi'}{os.pathsep}{ROOT}"}
    relay = {"type": "RaspiPhaseRelay", "installed_on_host": "pi-garage"}
    args = ["relay", "-c", config_file(tmp_path, {"relay": relay}), "--hostname", "pi-garage"]
    with running(args, mqtt_broker, prefix, tmp_path, env):
        kept = state(probe, prefix, "relay", lambda s: s["enabled"])
        assert (kept["phase_relay"], kept["phases"]) == (True, 3)  # a restart did not switch it
        assert json.loads(pins.read_text())["26"]["level"] == 0

        idle = {"ts": time.time(), "error": 0, "phases_in": 3, "phases_out": 0, "power": 0, "car_status": 3}
        probe.publish_json(f"{prefix}/wallbox/state", idle)
        mark = probe.mark()
        probe.publish(f"{prefix}/relay/phases/set", "1")
        state(probe, prefix, "relay", lambda s: s["phases"] == 1 and not s["phase_relay"], mark)
        assert json.loads(pins.read_text())["26"] == {"function": 0, "level": 1}


def test_relay_process_on_another_host_is_disabled(
    mqtt_broker: Broker, probe: MqttProbe, prefix: str, tmp_path: Path
) -> None:
    relay = {"type": "RaspiPhaseRelay", "installed_on_host": "pi-garage"}
    args = ["relay", "-c", config_file(tmp_path, {"relay": relay}), "--hostname", "nuc"]
    with running(args, mqtt_broker, prefix, tmp_path):
        disabled = state(probe, prefix, "relay", lambda s: "enabled" in s)
        assert (disabled["enabled"], disabled["phases"]) == (False, 0)


def test_car_process_with_volkswagen(
    mqtt_broker: Broker, probe: MqttProbe, prefix: str, tmp_path: Path
) -> None:
    """Only the cloud is fake: the connector packages are shadowed by tests/fakes/carcloud_path."""
    cloud_file = tmp_path / "cloud.json"
    cloud = carcloud.Cloud()
    carcloud.save(cloud, cloud_file)
    env = {
        "FAKE_CAR_CLOUD": str(cloud_file),
        "PYTHONPATH": f"{FAKES / 'carcloud_path'}{os.pathsep}{ROOT}",
        "PVC_CAR__PASSWORD": carcloud.PASSWORD,
    }
    car = {"type": "VolkswagenIDCar", "user": carcloud.USER, "vin": carcloud.VIN, "poll_interval": 0.2}
    # The cloud is asked only while the car is plugged in: a charging car, polled every poll_interval.
    probe.publish_json(f"{prefix}/wallbox/state", {"ts": time.time(), "car_status": 2, "power": 7000})
    with running(["car", "-c", config_file(tmp_path, {"car": car})], mqtt_broker, prefix, tmp_path, env) as p:
        first = state(probe, prefix, "car", lambda s: s["error"] == 0 and s["soc"] > 0)
        assert (first["soc"], first["cruising_range"], first["mileage"]) == (62.0, 248.0, 18_342.0)
        config = probe.wait_json(f"{prefix}/car/config", lambda c: c["type"] == "VolkswagenIDCar")
        assert "password" not in config

        mark = probe.mark()
        cloud.down = "retrieval"
        carcloud.save(cloud, cloud_file)
        failing = state(probe, prefix, "car", lambda s: s["error"] >= 2, mark)
        assert failing["soc"] == 62.0

        mark = probe.mark()
        cloud.down = None
        cloud.vehicles[carcloud.VIN].soc = 70.0
        carcloud.save(cloud, cloud_file)
        state(probe, prefix, "car", lambda s: s["error"] == 0 and s["soc"] == 70.0, mark)
        assert carcloud.PASSWORD not in p.log()
