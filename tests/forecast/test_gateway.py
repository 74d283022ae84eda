"""The forecast reaches users through the gateway (a real `pvcontrol api` process): GET
/api/pvcontrol/forecast, the live SSE document, and two Home Assistant sensors; the original's whole
document keeps its shape."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from pvcontrol.topics import Topics
from services.api.discovery import documents, node_id
from tests.helpers import Broker, MqttProbe, free_port, gateway_ready, running, wait_until

FORECAST: dict[str, Any] = {
    "ts": 1781000000.0,
    "error": 0,
    "source": "ClearSky",
    "periods": [
        {"start": 1781000000.0, "end": 1781000900.0, "power_pv": 2350.0},
        {"start": 1781033400.0, "end": 1781034300.0, "power_pv": 0.0},  # after sunset
    ],
    "sunrise": 1780975000.0,
    "sunset": 1781033000.0,
    "energy_today_remaining": 5400.0,
    "energy_tomorrow": 31000.0,
}


@pytest.fixture
def api(mqtt_broker: Broker, prefix: str, tmp_path: Path) -> Iterator[str]:
    port = free_port()
    with running(["api", "--port", str(port), "--host", "127.0.0.1"], mqtt_broker, prefix, tmp_path):
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: gateway_ready(url), 20, "gateway ready")
        yield url


def sse_states(response: httpx.Response) -> Iterator[dict[str, Any]]:
    for line in response.iter_lines():
        if line.startswith("data:"):
            yield json.loads(line.split(":", 1)[1])


def test_the_forecast_is_served_over_rest_and_sse_there_until_sunset(
    api: str, probe: MqttProbe, prefix: str
) -> None:
    before = httpx.get(f"{api}/api/pvcontrol/forecast").json()
    assert before["data"]["error"] > 0  # never received: defaults with an error, no 500
    with httpx.stream("GET", f"{api}/api/pvcontrol/events", timeout=20) as response:
        events = sse_states(response)
        assert next(events)["forecast"] is None
        probe.publish_json(f"{prefix}/forecast/config", {"type": "ClearSky", "latitude": 48.14})
        probe.publish_json(f"{prefix}/forecast/state", FORECAST)
        live = next(e for e in events if e["forecast"] is not None)
    assert live["forecast"] == FORECAST | {"periods": FORECAST["periods"][:1]}  # cut at today's sunset
    served = wait_until(lambda: (d := httpx.get(f"{api}/api/pvcontrol/forecast").json())["type"] and d)
    assert served == {"type": "ClearSky", "config": {"type": "ClearSky", "latitude": 48.14}, "data": FORECAST}
    whole = httpx.get(f"{api}/api/pvcontrol").json()
    assert set(whole) == {"version", "controller", "meter", "wallbox", "relay", "car"}  # the original's shape


def test_an_invalid_forecast_is_ignored(api: str, probe: MqttProbe, prefix: str) -> None:
    probe.publish_json(f"{prefix}/forecast/state", FORECAST)
    wait_until(lambda: httpx.get(f"{api}/api/pvcontrol/forecast").json()["data"]["error"] == 0)
    probe.publish_json(f"{prefix}/forecast/state", FORECAST | {"energy_tomorrow": -5.0})
    probe.publish_json(f"{prefix}/meter/state", {"ts": time.time(), "power_pv": 321.0})  # a marker after it
    wait_until(lambda: httpx.get(f"{api}/api/pvcontrol/meter").json()["data"]["power_pv"] == 321.0)
    assert httpx.get(f"{api}/api/pvcontrol/forecast").json()["data"] == FORECAST


def test_home_assistant_gets_the_forecast_energies_as_sensors(
    api: str, mqtt_broker: Broker, prefix: str
) -> None:
    ha = MqttProbe(mqtt_broker, prefix)
    ha.start(extra_topics=("homeassistant/#",))
    try:
        today = ha.wait_json(
            f"homeassistant/sensor/{node_id(prefix)}/pvcontrol_forecast_energy_today_remaining/config",
            lambda c: c["state_topic"] == f"{prefix}/forecast/state",
        )
        tomorrow = ha.wait_json(
            f"homeassistant/sensor/{node_id(prefix)}/pvcontrol_forecast_energy_tomorrow/config",
            lambda c: c["state_topic"] == f"{prefix}/forecast/state",
        )
    finally:
        ha.stop()
    assert today["value_template"] == "{{ value_json.energy_today_remaining }}"
    assert tomorrow["value_template"] == "{{ value_json.energy_tomorrow }}"
    for sensor in (today, tomorrow):
        assert sensor["unit_of_measurement"] == "Wh"
        assert sensor["device_class"] == "energy"
        assert "state_class" not in sensor  # a forecast is no measurement Home Assistant should sum up
        assert sensor["availability_topic"] == f"{prefix}/forecast/status"


def test_every_discovery_id_is_unique_with_the_forecast_sensors() -> None:
    ids = [config["unique_id"] for _, config in documents(Topics(), phase_select=True)]
    assert len(ids) == len(set(ids))
