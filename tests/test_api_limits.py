"""Checks before the body: a write without the token is 401 before its body is read, and every route
refuses a body over 64 KiB with 413, declared or chunked. The real gateway process on a real socket; its
memory (VmRSS) and the body bytes it took before closing are measured."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from services.api.limits import MAX_BODY_BYTES
from tests.helpers import Broker, MqttProbe, wait_until
from tests.test_api_auth import BEARER, MODE, TOKEN, Gateway, _controller_online, gateway

HUGE = 200 * 1024 * 1024
MiB = 1024 * 1024


def rss(gw: Gateway) -> int:
    """The gateway process's resident memory in bytes (Linux)."""
    status = Path(f"/proc/{gw.process.proc.pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:"))) * 1024


@pytest.fixture
def protected(mqtt_broker: Broker, prefix: str, tmp_path: Path, probe: MqttProbe) -> Iterator[Gateway]:
    with gateway(mqtt_broker, prefix, tmp_path, {"PVC_API__AUTH_TOKEN": TOKEN}) as gw:
        _controller_online(probe)
        wait_until(lambda: put(gw.url, b'"PV_ONLY"', BEARER).status_code == 204, what="controller online")
        yield gw


def put(url: str, body: bytes | Iterator[bytes], headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.put(
        f"{url}{MODE}",
        content=body,
        headers={"Content-Type": "application/json", **(headers or {})},
        timeout=10,
    )


def chunks(total: int, size: int = 16 * 1024) -> Iterator[bytes]:
    """A JSON string of `total` bytes, sent chunked (no Content-Length)."""
    yield b'"'
    for _ in range((total - 2) // size):
        yield b"x" * size
    yield b'"'


def huge_put_without_token(url: str) -> tuple[bytes, bytes, int]:
    """Declare 200 MB and send the headers; then push the body for as long as the server takes it. The
    answer's first line as it came before the body (empty if none), after it, and the body bytes the
    kernel accepted."""
    address = urlsplit(url)
    with socket.create_connection((address.hostname, address.port), timeout=2) as sock:
        head = (
            f"PUT {MODE} HTTP/1.1\r\nHost: {address.netloc}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {HUGE}\r\n\r\n"
        )
        sock.sendall(head.encode())
        try:
            early = sock.recv(4096)
        except TimeoutError:
            early = b""  # waiting for the body
        sent = 0
        block = b"x" * MiB
        sock.settimeout(1)
        try:
            while sent < HUGE:
                sent += sock.send(block)
        except (TimeoutError, ConnectionError):
            pass  # the server stopped reading or closed: the rest is never read
        late = b""
        if not early:
            sock.settimeout(10)
            late = sock.recv(4096)
        return early.split(b"\r\n", 1)[0], late.split(b"\r\n", 1)[0], sent


def test_a_huge_write_without_token_is_401_before_its_body_is_read(protected: Gateway) -> None:
    before = rss(protected)
    early, late, sent = huge_put_without_token(protected.url)
    grown = rss(protected) - before
    print(f"answer {early or late!r}, took {sent / MiB:.1f} MiB of the body; RSS +{grown / MiB:.1f} MiB")
    assert early == b"HTTP/1.1 401 Unauthorized"  # at once, not waiting for the body
    assert sent < 64 * MiB  # socket buffers at most, not the 200 MB
    assert grown < 16 * MiB
    # The gateway goes on serving.
    assert put(protected.url, b'"PV_ONLY"', BEARER).status_code == 204


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b'"' + b"x" * MAX_BODY_BYTES + b'"', id="content-length"),
        pytest.param(chunks(MAX_BODY_BYTES + 32 * 1024), id="chunked"),
        pytest.param(chunks(HUGE), id="chunked-200MB"),
    ],
)
def test_a_too_large_body_with_the_token_is_413(protected: Gateway, body: bytes | Iterator[bytes]) -> None:
    before = rss(protected)
    started = time.monotonic()
    try:
        response = put(protected.url, body, BEARER)
    except httpx.HTTPError as e:  # the server answered and closed while the client was still sending
        pytest.fail(f"no answer: {e!r}")
    assert response.status_code == 413
    assert "too large" in response.json()["detail"]
    assert time.monotonic() - started < 5
    assert rss(protected) - before < 16 * MiB
    assert put(protected.url, b'"PV_ONLY"', BEARER).status_code == 204


def test_bodies_within_the_limit_still_work_declared_or_chunked(protected: Gateway, probe: MqttProbe) -> None:
    topic = f"{probe.prefix}/controller/desired_mode/set"
    probe.wait_for(topic, lambda m: m.payload == b"PV_ONLY")  # the fixture's, before the mark
    mark = probe.mark()
    assert put(protected.url, b'"MAX"', BEARER).status_code == 204
    assert put(protected.url, iter([b'"O', b'FF"']), BEARER).status_code == 204  # chunked
    assert put(protected.url, b'"NOPE"', BEARER).status_code == 422  # validated as before
    probe.wait_for(topic, lambda m: m.payload == b"OFF", after=mark)
    assert [m.payload for m in probe.since(mark, topic)] == [b"MAX", b"OFF"]
    assert httpx.get(f"{protected.url}/api/pvcontrol").status_code == 200
    with httpx.stream("GET", f"{protected.url}/api/pvcontrol/events", timeout=10) as events:
        assert events.status_code == 200
        assert next(line for line in events.iter_lines() if line).startswith("event: state")


def test_without_a_token_every_route_still_caps_the_body(
    mqtt_broker: Broker, prefix: str, tmp_path: Path, probe: MqttProbe
) -> None:
    with gateway(mqtt_broker, prefix, tmp_path, {}) as gw:
        _controller_online(probe)
        wait_until(lambda: put(gw.url, b'"PV_ONLY"').status_code == 204, what="controller online")
        big = b"x" * (MAX_BODY_BYTES + 1)
        for method, path in [
            ("PUT", MODE),
            ("GET", "/api/pvcontrol"),
            ("POST", "/healthz"),
            ("PUT", "/nope"),
        ]:
            response = httpx.request(method, f"{gw.url}{path}", content=big, timeout=10)
            assert response.status_code == 413, (method, path)
