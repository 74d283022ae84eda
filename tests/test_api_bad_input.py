"""Bad input gets a clean 4xx from a running gateway, never a 5xx: sent over real HTTP, with the
controller and a simulated wallbox announced over MQTT so that any valid request would be accepted."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from services.api.limits import MAX_BODY_BYTES
from tests.helpers import (
    Broker,
    MqttProbe,
    ServiceProcess,
    running_gateway,
    stub_ui,
    wait_until,
)

MODE = "/api/pvcontrol/controller/desired_mode"
CAR_STATUS = "/api/pvcontrol/controller/wallbox/car_status"
JSON = {"Content-Type": "application/json"}


@dataclass
class Gateway:
    url: str
    process: ServiceProcess


# Announced with an hour's publishing interval: heard from once, they stay online for the whole module.
SERVICES = (
    ("controller", {"cycle_time": 3600}),
    ("wallbox", {"type": "SimulatedWallbox", "car_status_settable": True, "poll_interval": 3600}),
)


@pytest.fixture(scope="module")
def gateway(mqtt_broker: Broker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """One gateway process for the module: bad input changes nothing, so the tests can share it. The
    controller and the wallbox are announced online, so that any valid request would be accepted."""
    tmp_path = tmp_path_factory.mktemp("api-bad-input")
    prefix = f"pvctest-{uuid.uuid4().hex[:10]}"
    ui = stub_ui(tmp_path)
    probe = MqttProbe(mqtt_broker, prefix)
    probe.start()
    try:
        with running_gateway(mqtt_broker, prefix, tmp_path, {"PVC_API__UI_DIR": str(ui)}) as (base, process):
            for service, config in SERVICES:
                probe.publish_json(f"{prefix}/{service}/config", config)
                probe.publish(f"{prefix}/{service}/status", "online", retain=True)
                probe.publish_json(f"{prefix}/{service}/state", {"ts": time.time()})
            wait_until(
                lambda: _ok(f"{base}{MODE}", b'"OFF"') and _ok(f"{base}{CAR_STATUS}", b"3"), what="online"
            )
            yield Gateway(base, process)
    finally:
        probe.stop()


@pytest.fixture
def url(gateway: Gateway) -> Iterator[str]:
    """The shared gateway, checked after each test for a traceback in its log."""
    yield gateway.url
    assert "Traceback" not in gateway.process.log()


def _ok(url: str, body: bytes) -> bool:
    try:
        return httpx.put(url, content=body, headers=JSON, timeout=2).status_code == 204
    except httpx.HTTPError:
        return False


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/a%00b", {404}),
        ("/%00", {404}),
        ("/" + "a" * 10_000, {404}),
        ("/" + "a/" * 3_000, {200, 404}),  # deep but each name short: the UI's fallback page or 404
        ("/%ff%fe", {200, 404}),
        ("/main-ABCDEFGH.js%00.png", {404}),
        ("/..%2f..%2f..%2fetc%2fpasswd", {200, 404}),
        ("/api/pvcontrol/%00", {404, 422}),
        ("/api/pvcontrol/" + "m" * 10_000, {404, 422}),
        ("/api/pvcontrol/meter?%00=%ff", {200}),
    ],
    ids=lambda case: repr(case)[:30],
)
def test_bad_paths_are_clean_4xx(url: str, path: str, expected: set[int]) -> None:
    response = httpx.get(f"{url}{path}")
    assert response.status_code in expected
    assert "root:" not in response.text


@pytest.mark.parametrize(
    "body",
    [
        b"NaN",
        b"Infinity",
        b"-Infinity",
        b"1e999",
        b'{"mode": NaN}',
        b"[NaN, Infinity]",
        b'"\\ud800"',  # a lone surrogate: valid JSON, no valid string
        b'"\xff\xfe"',  # invalid UTF-8
        b"\xff\xfe",
        b"\x00",
        b"",
        b"{",
        b"[" * 100_000 + b"]" * 100_000,
        b'"' + b"A" * 1_000_000 + b'"',
        b'"PV_ONLY\\u0000"',
        b'"pv_only"',
    ],
    ids=lambda body: repr(body[:20]),
)
def test_bad_bodies_are_400_or_422(url: str, body: bytes) -> None:
    response = httpx.put(f"{url}{MODE}", content=body, headers=JSON)
    # over the body limit: refused before it is parsed
    assert response.status_code in ((413,) if len(body) > MAX_BODY_BYTES else (400, 422))
    assert response.json()["detail"]
    assert len(response.content) < 10_000  # a rejected input is not echoed in full


@pytest.mark.parametrize(
    "body", [b"1e999", b"NaN", b"1.5", b"1.0", b"true", b'"1"', b"5", b"-1", b"1" * 5000]
)
def test_car_status_takes_only_a_plain_integer(url: str, body: bytes) -> None:
    response = httpx.put(f"{url}{CAR_STATUS}", content=body, headers=JSON)
    assert response.status_code in (400, 422)


def test_odd_requests_are_not_5xx(url: str) -> None:
    with httpx.Client(base_url=url) as client:
        assert client.delete(MODE).status_code == 405
        assert client.post(MODE, json="MAX").status_code == 405
        assert client.put(MODE, content=b"PV_ONLY", headers={"Content-Type": "text/plain"}).status_code < 500
        assert client.put(MODE, json="OFF", headers={b"Authorization": b"Bearer \xff"}).status_code == 204
        with client.stream("GET", "/api/pvcontrol/events?token=%00") as events:
            assert events.status_code == 200
