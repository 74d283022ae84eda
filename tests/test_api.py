"""The REST gateway as a real process: REST over HTTP in, MQTT commands out, SSE, UI files."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers import STARTUP_TIMEOUT, Broker, MqttProbe, free_port, gateway_ready, running, wait_until


@dataclass
class Api:
    url: str
    prefix: str


@pytest.fixture
def ui_dir(tmp_path: Path) -> Path:
    ui = tmp_path / "ui"
    ui.mkdir()
    (ui / "index.html").write_text('<html><head><base href="/"></head><body>pv-control UI</body></html>')
    (ui / "main-ABCD1234.js").write_text("console.log('ui')")
    return ui


@pytest.fixture
def api(mqtt_broker: Broker, prefix: str, tmp_path: Path, ui_dir: Path) -> Iterator[Api]:
    port = free_port()
    env = {"PVC_API__UI_DIR": str(ui_dir)}
    with running(["api", "--port", str(port), "--host", "127.0.0.1"], mqtt_broker, prefix, tmp_path, env):
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: gateway_ready(url), STARTUP_TIMEOUT, "gateway ready")
        yield Api(url, prefix)


def test_state_never_received_is_defaults_with_error(api: Api) -> None:
    doc = httpx.get(f"{api.url}/api/pvcontrol").json()
    assert doc["version"]
    for service in ("controller", "meter", "wallbox", "relay", "car"):
        assert doc[service]["error"] > 0
    assert doc["meter"]["power_pv"] == 0
    assert doc["controller"]["mode"] == "OFF"


def test_state_follows_mqtt(api: Api, probe: MqttProbe) -> None:
    probe.publish_json(f"{api.prefix}/meter/state", {"ts": time.time(), "error": 0, "power_pv": 1234.5})
    probe.publish_json(f"{api.prefix}/meter/config", {"type": "SimulatedMeter", "poll_interval": 5})
    # State and config are two messages: wait until the gateway has both.
    one = wait_until(
        lambda: (
            (d := httpx.get(f"{api.url}/api/pvcontrol/meter").json())["type"] == "SimulatedMeter"
            and d["data"]["power_pv"] == 1234.5
            and d
        )
    )
    assert one["type"] == "SimulatedMeter"
    assert one["config"]["poll_interval"] == 5
    assert one["data"]["power_pv"] == 1234.5
    whole = probe.wait_json(f"{api.prefix}/state", lambda d: d["meter"]["power_pv"] == 1234.5)
    assert set(whole) == {"version", "controller", "meter", "wallbox", "relay", "car"}


def test_unknown_service_is_404_or_422(api: Api) -> None:
    assert httpx.get(f"{api.url}/api/pvcontrol/toaster").status_code in (404, 422)


def test_command_needs_online_controller(api: Api, probe: MqttProbe) -> None:
    response = httpx.put(f"{api.url}/api/pvcontrol/controller/desired_mode", json="PV_ONLY")
    assert response.status_code == 503
    assert "controller" in response.json()["detail"]
    assert probe.on(f"{api.prefix}/controller/desired_mode/set") == []


def announce(probe: MqttProbe, service: str, config: dict[str, Any] | None = None) -> None:
    """Make `service` look alive to the gateway: status `online` and a fresh state, as it publishes."""
    probe.publish_json(f"{probe.prefix}/{service}/config", config or {"type": "Test"})
    probe.publish(f"{probe.prefix}/{service}/status", "online", retain=True)
    probe.publish_json(f"{probe.prefix}/{service}/state", {"ts": time.time()})


@pytest.mark.parametrize(
    ("path", "body", "topic", "payload"),
    [
        ("desired_mode", "PV_ONLY", "desired_mode", b"PV_ONLY"),
        ("phase_mode", "CHARGE_3P", "phase_mode", b"CHARGE_3P"),
        ("desired_priority", "HOME_BATTERY", "desired_priority", b"HOME_BATTERY"),
    ],
)
def test_commands_are_published(
    api: Api, probe: MqttProbe, path: str, body: str, topic: str, payload: bytes
) -> None:
    announce(probe, "controller")
    wait_until(lambda: _put(api, path, body) == 204, what="controller online at the gateway")
    assert probe.wait_for(f"{api.prefix}/controller/{topic}/set").payload == payload


def _put(api: Api, path: str, body: object) -> int:
    return httpx.put(f"{api.url}/api/pvcontrol/controller/{path}", json=body).status_code


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("desired_mode", "FAST"),
        ("desired_mode", 3),
        ("desired_mode", {"mode": "MAX"}),
        ("phase_mode", "DISABLED"),
        ("desired_priority", None),
        ("wallbox/car_status", 7),
    ],
)
def test_invalid_bodies_are_422_and_publish_nothing(
    api: Api, probe: MqttProbe, path: str, body: object
) -> None:
    announce(probe, "controller")
    wait_until(lambda: _put(api, "desired_priority", "AUTO") == 204)
    mark = probe.mark()
    assert _put(api, path, body) == 422
    assert _put(api, "desired_priority", "CAR") == 204
    probe.wait_for(f"{api.prefix}/controller/desired_priority/set", lambda m: m.payload == b"CAR", after=mark)
    # The CAR command went through after the invalid one; nothing else was published besides it.
    published = {m.topic for m in probe.messages[mark:] if m.topic.endswith("/set")}
    assert published == {f"{api.prefix}/controller/desired_priority/set"}
    payloads = {m.payload for m in probe.since(mark, f"{api.prefix}/controller/desired_priority/set")}
    assert payloads <= {b"AUTO", b"CAR"}


def test_car_status_only_for_simulated_wallbox(api: Api, probe: MqttProbe) -> None:
    announce(probe, "wallbox", {"type": "GoeWallbox", "car_status_settable": False})
    wait_until(lambda: httpx.get(f"{api.url}/api/pvcontrol/wallbox").json()["type"] == "GoeWallbox")
    assert _put(api, "wallbox/car_status", 1) == 422
    announce(probe, "wallbox", {"type": "SimulatedWallbox", "car_status_settable": True})
    wait_until(lambda: _put(api, "wallbox/car_status", 1) == 204)
    assert probe.wait_for(f"{api.prefix}/wallbox/car_status/set").payload == b"1"


def test_events_stream_state_on_change(api: Api, probe: MqttProbe) -> None:
    with httpx.stream("GET", f"{api.url}/api/pvcontrol/events", timeout=20) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = _sse_events(response.iter_lines())
        first = next(events)
        assert set(first) >= {"version", "controller", "meter", "wallbox", "relay", "car", "status"}
        assert first["status"]["api"] == "online"
        probe.publish_json(f"{api.prefix}/meter/state", {"ts": time.time(), "power_pv": 777.0})
        changed = next(e for e in events if e["meter"]["power_pv"] == 777.0)
        assert changed["meter"]["error"] == 0


def _sse_events(lines: Iterator[str]) -> Iterator[dict[str, Any]]:
    event = None
    for line in lines:
        if line.startswith("event:"):
            event = line.split(":", 1)[1].strip()
        elif line.startswith("data:") and event == "state":
            yield json.loads(line.split(":", 1)[1])


def test_gateway_publishes_its_own_state(api: Api, probe: MqttProbe) -> None:
    state = probe.wait_json(f"{api.prefix}/api/state", lambda s: s["error"] == 0)
    assert state["sse_clients"] == 0
    assert state["version"]
    assert probe.wait_for(f"{api.prefix}/api/status").payload == b"online"
    assert probe.wait_json(f"{api.prefix}/api/config", lambda c: True)["type"] == "Gateway"


def test_operations_endpoints(api: Api) -> None:
    assert httpx.get(f"{api.url}/healthz").status_code == 200
    metrics = httpx.get(f"{api.url}/metrics").text
    assert 'pvcontrol_mqtt_connected{service="api"} 1.0' in metrics
    spec = httpx.get(f"{api.url}/openapi.json").json()
    assert "/api/pvcontrol/controller/desired_mode" in spec["paths"]
    assert httpx.get(f"{api.url}/docs").status_code == 200


def test_ui_files_and_cache_headers(api: Api) -> None:
    index = httpx.get(f"{api.url}/")
    assert "pv-control UI" in index.text
    assert index.headers["cache-control"] == "no-cache"
    asset = httpx.get(f"{api.url}/main-ABCD1234.js")
    assert "immutable" in asset.headers["cache-control"]
    deep_link = httpx.get(f"{api.url}/some/route")
    assert "pv-control UI" in deep_link.text
    assert httpx.get(f"{api.url}/../../etc/passwd").status_code in (200, 404)
    assert "root:" not in httpx.get(f"{api.url}/..%2F..%2F..%2Fetc%2Fpasswd").text


def test_home_assistant_discovery(api: Api, mqtt_broker: Broker) -> None:
    ha = MqttProbe(mqtt_broker, api.prefix)
    ha.start(extra_topics=("homeassistant/#",))
    try:
        # The installation's own topics and ids: the prefix is in both (another prefix has its own).
        config = ha.wait_json(f"homeassistant/select/{api.prefix}/pvcontrol_desired_mode/config", bool)
        assert config["command_topic"] == f"{api.prefix}/controller/desired_mode/set"
        assert config["unique_id"] == f"pvcontrol_{api.prefix}_desired_mode"
        assert "PV_ONLY" in config["options"]
        sensor = ha.wait_json(f"homeassistant/sensor/{api.prefix}/pvcontrol_power_pv/config", bool)
        assert sensor["state_topic"] == f"{api.prefix}/meter/state"
        assert sensor["availability_topic"] == f"{api.prefix}/meter/status"
        assert sensor["device"]["identifiers"] == [f"pvcontrol_{api.prefix}"]
    finally:
        ha.stop()


def test_basehref_serves_ui_and_api_under_prefix(
    mqtt_broker: Broker, prefix: str, tmp_path: Path, ui_dir: Path
) -> None:
    port = free_port()
    args = ["api", "--port", str(port), "--host", "127.0.0.1", "--basehref", "pvcontrol"]
    with running(args, mqtt_broker, prefix, tmp_path, {"PVC_API__UI_DIR": str(ui_dir)}):
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: gateway_ready(url), STARTUP_TIMEOUT, "gateway ready")
        index = httpx.get(f"{url}/pvcontrol/").text
        assert "pv-control UI" in index
        assert '<base href="/pvcontrol/">' in index
        redirect = httpx.get(f"{url}/pvcontrol")
        assert redirect.status_code in (307, 308)
        assert redirect.headers["location"].endswith("/pvcontrol/")
        assert httpx.get(f"{url}/pvcontrol/api/pvcontrol").json()["version"]
        assert httpx.get(f"{url}/api/pvcontrol").status_code == 200


def test_shutdown_with_sse_clients_is_clean(mqtt_broker: Broker, prefix: str, tmp_path: Path) -> None:
    port = free_port()
    with running(["api", "--port", str(port), "--host", "127.0.0.1"], mqtt_broker, prefix, tmp_path) as api:
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: gateway_ready(url), STARTUP_TIMEOUT, "gateway ready")
        with (
            httpx.stream("GET", f"{url}/api/pvcontrol/events", timeout=20) as first,
            httpx.stream("GET", f"{url}/api/pvcontrol/events", timeout=20) as second,
        ):
            lines = [stream.iter_lines() for stream in (first, second)]
            for stream_lines in lines:
                assert next(_sse_events(stream_lines))["version"]
            assert api.terminate() == 0
            # The gateway ended the streams properly (a cut one raises RemoteProtocolError here).
            for stream_lines in lines:
                list(stream_lines)
        assert "Traceback" not in api.log()
        assert "timeout graceful shutdown exceeded" not in api.log()
