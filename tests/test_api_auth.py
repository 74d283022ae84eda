"""Authenticated writes: with `api.auth_token` every PUT needs `Authorization: Bearer <token>`; reads
too with `api.auth_read`. A real gateway process over real HTTP, the controller announced over MQTT."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.helpers import (
    Broker,
    MqttProbe,
    ServiceProcess,
    running,
    running_gateway,
    stub_ui,
    wait_until,
)

TOKEN = "s3cret-Token-for-tests"
MODE = "/api/pvcontrol/controller/desired_mode"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


@dataclass
class Gateway:
    url: str
    process: ServiceProcess


@contextmanager
def gateway(broker: Broker, prefix: str, tmp_path: Path, env: dict[str, str]) -> Iterator[Gateway]:
    ui = stub_ui(tmp_path)
    with running_gateway(broker, prefix, tmp_path, {"PVC_API__UI_DIR": str(ui), **env}) as (url, process):
        yield Gateway(url, process)


def _controller_online(probe: MqttProbe) -> None:
    probe.publish_json(f"{probe.prefix}/controller/config", {"type": "ChargeController", "cycle_time": 30})
    probe.publish(f"{probe.prefix}/controller/status", "online", retain=True)
    probe.publish_json(f"{probe.prefix}/controller/state", {"ts": time.time()})


def _put(url: str, headers: dict[str, str] | None = None, mode: str = "PV_ONLY") -> httpx.Response:
    return httpx.put(f"{url}{MODE}", json=mode, headers=headers or {}, timeout=5)


@pytest.fixture
def protected(mqtt_broker: Broker, prefix: str, tmp_path: Path, probe: MqttProbe) -> Iterator[Gateway]:
    with gateway(mqtt_broker, prefix, tmp_path, {"PVC_API__AUTH_TOKEN": TOKEN}) as gw:
        _controller_online(probe)
        wait_until(lambda: _put(gw.url, BEARER).status_code == 204, what="controller online at the gateway")
        yield gw


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Bearer {TOKEN}x"},
        {"Authorization": f"Bearer {TOKEN[:-1]}"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": TOKEN},
        {"Authorization": "Bearer"},
    ],
)
def test_put_without_the_right_token_is_401_and_publishes_nothing(
    protected: Gateway, probe: MqttProbe, headers: dict[str, str]
) -> None:
    mark = probe.mark()
    response = _put(protected.url, headers, "MAX")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert "token" in response.json()["detail"]
    assert _put(protected.url, BEARER, "OFF").status_code == 204  # a later good one goes out, and only it
    topic = f"{probe.prefix}/controller/desired_mode/set"
    probe.wait_for(topic, lambda m: m.payload == b"OFF", after=mark)
    assert b"MAX" not in {m.payload for m in probe.since(mark, topic)}


def test_every_put_needs_the_token(protected: Gateway, probe: MqttProbe) -> None:
    probe.publish_json(
        f"{probe.prefix}/wallbox/config", {"type": "SimulatedWallbox", "car_status_settable": True}
    )
    for path, body in [
        ("phase_mode", "AUTO"),
        ("desired_priority", "CAR"),
        ("wallbox/car_status", 1),
        ("desired_mode", "MAX"),
    ]:
        url = f"{protected.url}/api/pvcontrol/controller/{path}"
        assert httpx.put(url, json=body).status_code == 401, path
        assert httpx.put(f"{url}?token={TOKEN}", json=body).status_code == 401, "no token from a URL"


def test_reads_stay_open_without_auth_read(protected: Gateway) -> None:
    assert httpx.get(f"{protected.url}/api/pvcontrol").status_code == 200
    assert httpx.get(f"{protected.url}/api/pvcontrol/meter").status_code == 200
    with httpx.stream("GET", f"{protected.url}/api/pvcontrol/events", timeout=10) as events:
        assert events.status_code == 200


def test_token_is_neither_published_nor_logged(protected: Gateway, probe: MqttProbe) -> None:
    config = probe.wait_json(f"{probe.prefix}/api/config", lambda c: c["type"] == "Gateway")
    assert TOKEN not in str(config)
    assert config.get("auth_token") is None
    _put(protected.url, {"Authorization": "Bearer wrong"})
    protected.process.terminate()
    assert TOKEN not in protected.process.log()
    assert "commands need the token" in protected.process.log()


def test_auth_read_protects_reads_and_events_take_a_query_token(
    mqtt_broker: Broker, prefix: str, tmp_path: Path
) -> None:
    env = {"PVC_API__AUTH_TOKEN": TOKEN, "PVC_API__AUTH_READ": "true"}
    with gateway(mqtt_broker, prefix, tmp_path, env) as gw:
        for path in ("/api/pvcontrol", "/api/pvcontrol/meter", "/api/pvcontrol/events"):
            response = httpx.get(f"{gw.url}{path}")
            assert response.status_code == 401, path
            assert response.headers["www-authenticate"] == "Bearer"
        assert httpx.get(f"{gw.url}/api/pvcontrol/events?token=wrong").status_code == 401
        assert httpx.get(f"{gw.url}/api/pvcontrol?token={TOKEN}").status_code == 401, "query: events only"
        assert httpx.get(f"{gw.url}/api/pvcontrol", headers=BEARER).json()["version"]
        for url, headers in [
            (f"{gw.url}/api/pvcontrol/events?token={TOKEN}", {}),
            (f"{gw.url}/api/pvcontrol/events", BEARER),
        ]:
            with httpx.stream("GET", url, headers=headers, timeout=10) as events:
                assert events.status_code == 200
                assert next(line for line in events.iter_lines() if line).startswith("event: state")
        # Open: probes, metrics, the API docs and the UI itself (it asks for the token).
        for path in ("/healthz", "/readyz", "/metrics", "/openapi.json", "/"):
            assert httpx.get(f"{gw.url}{path}").status_code == 200, path


def test_auth_read_without_token_is_a_setting_error(mqtt_broker: Broker, prefix: str, tmp_path: Path) -> None:
    with running(
        ["api", "--port", "0"], mqtt_broker, prefix, tmp_path, {"PVC_API__AUTH_READ": "true"}
    ) as api:
        assert api.proc.wait(20) == 2
        assert "api.auth_read" in api.log()
        assert "Traceback" not in api.log()
