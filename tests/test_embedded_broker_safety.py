"""`pvcontrol all` starts its anonymous embedded broker only on a loopback address without credentials or
TLS; anywhere else, with no broker answering, it stops at once with one line and exit code 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import trustme

from pvcontrol.broker import BrokerAddress
from pvcontrol.embedded_broker import why_unsafe
from tests.helpers import Broker, accepts, free_port, running, wait_until


def run_all(url: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`pvcontrol all --mqtt URL` to its end; a broker started by mistake makes it run into the timeout."""
    clean = {k: v for k, v in os.environ.items() if not k.upper().startswith("PVC_")}
    return subprocess.run(
        [sys.executable, "-m", "pvcontrol", "all", "--mqtt", url, "--port", str(free_port())],
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def assert_refused(result: subprocess.CompletedProcess[str], named: str) -> None:
    assert result.returncode == 2, result.stderr
    message = result.stderr.strip()
    assert "\n" not in message, message
    assert message.startswith("pvcontrol: no MQTT broker answers at mqtt")
    assert named in message
    assert "mqtt.embedded_broker: false" in message
    assert "Traceback" not in result.stderr


def test_credentials_in_the_url_and_no_broker_exit_2_and_leave_the_port_free() -> None:
    port = free_port()
    result = run_all(f"mqtt://admin:s3cret@127.0.0.1:{port}")
    assert_refused(result, "credentials")
    assert "s3cret" not in result.stderr
    assert not accepts(port)


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"PVC_MQTT__USERNAME": "pvcontrol", "PVC_MQTT__PASSWORD": "s3cret"}, "credentials"),
        ({"PVC_MQTT__USERNAME": "pvcontrol"}, "credentials"),
    ],
    ids=["username-and-password", "username"],
)
def test_credentials_or_tls_in_the_settings_and_no_broker_exit_2(env: dict[str, str], named: str) -> None:
    port = free_port()
    result = run_all(f"mqtt://127.0.0.1:{port}", env)
    assert_refused(result, named)
    assert "s3cret" not in result.stderr
    assert not accepts(port)


def test_a_ca_file_and_no_broker_exit_2(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    trustme.CA().cert_pem.write_to_path(str(ca))
    port = free_port()
    assert_refused(run_all(f"mqtt://127.0.0.1:{port}", {"PVC_MQTT__CA_FILE": str(ca)}), "TLS")
    assert not accepts(port)


def test_a_non_loopback_address_and_no_broker_exit_2() -> None:
    # TEST-NET-1: never a host here, so nothing answers (refused, unreachable or a 2 s connect timeout).
    assert_refused(run_all(f"mqtt://192.0.2.1:{free_port()}"), "192.0.2.1 is not a loopback address")


def test_tls_and_no_broker_exit_2() -> None:
    port = free_port()
    assert_refused(run_all(f"mqtts://127.0.0.1:{port}"), "TLS")
    assert not accepts(port)


@pytest.mark.parametrize(
    ("url", "unsafe"),
    [
        ("mqtt://localhost:1883", None),
        ("mqtt://127.0.0.1:1883", None),
        ("mqtt://127.3.4.5:1883", None),
        ("mqtt://[::1]:1883", None),
        ("mqtt://0.0.0.0:1883", "0.0.0.0 is not a loopback address"),
        ("mqtt://[::]:1883", ":: is not a loopback address"),
        ("mqtt://192.168.1.5:1883", "192.168.1.5 is not a loopback address"),
        ("mqtt://broker.local:1883", "broker.local is not a loopback address"),
        ("mqtt://localhost.evil.example:1883", "localhost.evil.example is not a loopback address"),
        ("mqtt://user@127.0.0.1:1883", "credentials are configured"),
        ("mqtt://user:pw@localhost:1883", "credentials are configured"),
        ("mqtts://localhost:8883", "TLS is configured"),
    ],
)
def test_only_loopback_without_credentials_or_tls_is_safe(url: str, unsafe: str | None) -> None:
    assert why_unsafe(BrokerAddress.parse(url)) == unsafe


def test_loopback_without_credentials_still_starts_the_embedded_broker(tmp_path: Path) -> None:
    mqtt_port, http_port = free_port(), free_port()
    broker = Broker("localhost", mqtt_port)
    with running(
        ["all", "--port", str(http_port), "--host", "127.0.0.1"], broker, "pvcontrol", tmp_path
    ) as p:
        wait_until(lambda: "started an embedded broker" in p.log(), 30, "the embedded broker")
        assert accepts(mqtt_port)
        url = f"http://127.0.0.1:{http_port}/readyz"
        wait_until(lambda: _status(url) == 200, 30, "the gateway connected to the embedded broker")
        assert p.proc.poll() is None


def _status(url: str) -> int:
    try:
        return httpx.get(url, timeout=1).status_code
    except httpx.HTTPError:
        return 0
