"""The controller with a wallbox that switches phases itself (`phase_switching` native on P/wallbox/config):
phase commands go to P/wallbox/phases/set, never to the relay, with the same rules as the relay's."""

from __future__ import annotations

import time
from pathlib import Path

from tests.devices.test_service_processes import config_file
from tests.helpers import Broker, MqttProbe, running, wait_until
from tests.test_controller_service import FAST, meter, wait_online, wallbox

NATIVE = {"type": "GoeWallbox", "phase_switching": "native", "car_status_settable": False}


def test_native_wallbox_gets_the_phase_command_when_idle(
    mqtt_broker: Broker, probe: MqttProbe, prefix: str, tmp_path: Path
) -> None:
    probe.publish_json(f"{prefix}/wallbox/config", NATIVE)
    probe.publish_json(f"{prefix}/relay/state", {"ts": time.time(), "enabled": False, "phases": 0})
    probe.publish_json(f"{prefix}/meter/state", meter(power_grid=-4400))
    probe.publish_json(f"{prefix}/wallbox/state", wallbox())
    with running(["controller"], mqtt_broker, prefix, tmp_path, FAST):
        wait_online(probe, prefix)
        probe.publish(f"{prefix}/controller/desired_mode/set", "PV_ONLY")
        assert probe.wait_for(f"{prefix}/wallbox/phases/set").payload == b"3"
        probe.wait_json(f"{prefix}/controller/state", lambda s: s["phase_mode"] == "AUTO")
        assert probe.on(f"{prefix}/relay/phases/set") == []


def test_native_wallbox_charging_is_stopped_before_a_switch(
    mqtt_broker: Broker, probe: MqttProbe, prefix: str, tmp_path: Path
) -> None:
    probe.publish_json(f"{prefix}/wallbox/config", NATIVE)
    probe.publish_json(f"{prefix}/meter/state", meter(power_grid=-3000))
    charging = {"allow_charging": True, "phases_out": 1, "power": 1840, "max_current": 8, "car_status": 2}
    probe.publish_json(f"{prefix}/wallbox/state", wallbox(**charging))
    with running(["controller"], mqtt_broker, prefix, tmp_path, FAST):
        wait_online(probe, prefix)
        probe.publish(f"{prefix}/controller/phase_mode/set", "CHARGE_3P")
        probe.publish(f"{prefix}/controller/desired_mode/set", "PV_ONLY")
        assert probe.wait_for(f"{prefix}/wallbox/allow_charging/set").payload == b"false"
        assert probe.on(f"{prefix}/wallbox/phases/set") == []
        assert probe.on(f"{prefix}/relay/phases/set") == []


def test_without_a_relay_or_native_switching_phases_stay_disabled(
    mqtt_broker: Broker, probe: MqttProbe, prefix: str, tmp_path: Path
) -> None:
    probe.publish_json(f"{prefix}/wallbox/config", NATIVE | {"phase_switching": "none"})
    probe.publish_json(f"{prefix}/meter/state", meter(power_grid=-4400))
    probe.publish_json(f"{prefix}/wallbox/state", wallbox())
    with running(["controller"], mqtt_broker, prefix, tmp_path, FAST):
        wait_online(probe, prefix)
        probe.publish(f"{prefix}/controller/desired_mode/set", "PV_ONLY")
        probe.wait_json(
            f"{prefix}/controller/state", lambda s: s["mode"] == "PV_ONLY" and s["phase_mode"] == "DISABLED"
        )
        probe.wait_for(f"{prefix}/wallbox/max_current/set")
        assert probe.on(f"{prefix}/wallbox/phases/set") == []


def test_controller_and_wallbox_switch_natively_never_under_load(
    mqtt_broker: Broker, probe: MqttProbe, prefix: str, tmp_path: Path
) -> None:
    """Real processes: a simulated wallbox that switches phases itself, the controller in PV_ONLY with a
    surplus for three phases; the switch happens on the wallbox, idle, and charging follows on 3 phases."""
    wallbox_config = {"type": "SimulatedWallbox", "phase_switching": "native", "phases": 1}
    wallbox_config["poll_interval"] = 0.2
    (tmp_path / "wb").mkdir()
    (tmp_path / "ctl").mkdir()
    surplus = meter(power_grid=-4400, power_pv=5000, power_consumption=600)
    probe.publish_json(f"{prefix}/meter/state", surplus)
    wallbox_args = ["wallbox", "-c", config_file(tmp_path / "wb", {"wallbox": wallbox_config})]
    with (
        running(wallbox_args, mqtt_broker, prefix, tmp_path / "wb"),
        running(["controller"], mqtt_broker, prefix, tmp_path / "ctl", FAST),
    ):
        wait_online(probe, prefix)
        wait_online(probe, prefix, "wallbox")
        probe.publish(f"{prefix}/controller/desired_mode/set", "PV_ONLY")

        def charging_on_three() -> bool:
            probe.publish_json(f"{prefix}/meter/state", surplus | {"ts": time.time()})
            states = [m.json() for m in probe.on(f"{prefix}/wallbox/state")]
            return any(s["phases_out"] == 3 and s["power"] > 0 for s in states)

        wait_until(charging_on_three, what="charging on 3 phases")
        assert probe.wait_for(f"{prefix}/wallbox/phases/set").payload == b"3"
        assert probe.on(f"{prefix}/relay/phases/set") == []
        states = [m.json() for m in probe.on(f"{prefix}/wallbox/state")]
        switched = [i for i in range(1, len(states)) if states[i]["phases_in"] != states[i - 1]["phases_in"]]
        assert switched
        for i in switched:  # the last state before and the first after the switch: no load
            assert (states[i - 1]["power"], states[i - 1]["phases_out"]) == (0, 0)
            assert (states[i]["power"], states[i]["phases_out"]) == (0, 0)
