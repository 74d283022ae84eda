"""Home Assistant: the energy counters are announced for the Energy dashboard, and `pvcontrol ha-cleanup`
removes every retained discovery document of its prefix (real gateway, services and CLI on a real
Mosquitto). Two prefixes side by side and the upgrade from shared topics: test_ha_discovery_prefixes.py."""

from __future__ import annotations

import functools
import os
import re
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

from pvcontrol.topics import Topics
from services.api.discovery import all_topics
from tests.helpers import Broker, MqttProbe, retained_discovery_documents, running

ENERGY = {
    "energy_home": ("meter", "energy_consumption"),
    "energy_home_grid": ("meter", "energy_consumption_grid"),
    "energy_home_pv": ("meter", "energy_consumption_pv"),
    "wallbox_total_energy": ("wallbox", "total_energy"),
    "car_energy_today_pv": ("controller", "energy_today_pv"),
    "car_energy_today_grid": ("controller", "energy_today_grid"),
}


def has_field(field: str, state: dict[str, object]) -> bool:
    return field in state


def discovery_topic(prefix: str, object_id: str) -> str:
    return f"homeassistant/sensor/{prefix}/pvcontrol_{object_id}/config"


def retained_discovery(broker: Broker, prefix: str) -> list[str]:
    """The prefix's discovery topics the broker holds retained now (a fresh subscriber's view)."""
    return sorted(
        topic
        for topic in retained_discovery_documents(broker)
        if re.fullmatch(rf"homeassistant/\w+/{re.escape(prefix)}/pvcontrol_\w+/config", topic)
    )


def cleanup(broker_url: str, prefix: str = "pvcontrol") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pvcontrol", "ha-cleanup", "--mqtt", broker_url],
        env={**os.environ, "PVC_MQTT__PREFIX": prefix},
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_energy_counters_are_announced_and_ha_cleanup_removes_every_discovery_document_of_its_prefix(
    mqtt_broker: Broker, prefix: str, probe: MqttProbe, tmp_path: Path
) -> None:
    probe.start(extra_topics=("homeassistant/#",))

    def mine(config: dict[str, str]) -> bool:
        return config["state_topic"].startswith(f"{prefix}/")

    with ExitStack() as services:
        for args, env in (
            (["meter"], {"PVC_METER__POLL_INTERVAL": "0.5"}),
            (["wallbox"], {"PVC_WALLBOX__POLL_INTERVAL": "0.5"}),
            (["controller"], {"PVC_CONTROLLER__CYCLE_TIME": "0.5"}),
        ):
            services.enter_context(running(args, mqtt_broker, prefix, tmp_path, env))
        with running(["api", "--port", "0", "--host", "127.0.0.1"], mqtt_broker, prefix, tmp_path) as api:
            for object_id, (service, field) in ENERGY.items():
                config = probe.wait_json(discovery_topic(prefix, object_id), mine)
                assert config["device_class"] == "energy"
                assert config["state_class"] == "total_increasing"
                assert config["unit_of_measurement"] == "Wh"
                assert config["state_topic"] == f"{prefix}/{service}/state"
                assert config["availability_topic"] == f"{prefix}/{service}/status"
                assert config["value_template"] == f"{{{{ value_json.{field} }}}}"
                # The template's field is in the service's real state document, as a number.
                state = probe.wait_json(f"{prefix}/{service}/state", functools.partial(has_field, field))
                assert isinstance(state[field], int | float)
                assert state[field] >= 0
            # The power sensors stay what they were.
            power = probe.wait_json(discovery_topic(prefix, "power_pv"), mine)
            assert (power["device_class"], power["state_class"]) == ("power", "measurement")
            announced = retained_discovery(mqtt_broker, prefix)
            assert {discovery_topic(prefix, object_id) for object_id in ENERGY} <= set(announced)
            assert api.terminate() == 0  # stopped first, or it would announce them again

        done = cleanup(mqtt_broker.url, prefix)
        assert done.returncode == 0, done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1
        # All it may publish (the phase-mode select too, which needs a relay): every one is gone.
        mine_all = all_topics(Topics(prefix))
        assert set(announced) <= set(mine_all)
        assert f"removed {len(mine_all)} Home Assistant discovery documents of prefix {prefix}" in lines[0]
        assert retained_discovery(mqtt_broker, prefix) == []


def test_ha_cleanup_without_a_broker_says_so_in_one_line() -> None:
    done = cleanup("mqtt://127.0.0.1:1")
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1
    assert "cannot reach the broker mqtt://127.0.0.1:1" in done.stderr
    assert "Traceback" not in done.stderr
