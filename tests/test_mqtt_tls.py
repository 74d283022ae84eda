"""TLS with client certificates, and passwords kept out of the URL, against a real Mosquitto.

Each broker has two listeners: a plain anonymous one for the test's probe, and the protected one (TLS with
`require_certificate`, or a password file) that the service process must log in to.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

import pytest
import trustme

from tests.custom_mosquitto import BrokerAt, custom_mosquitto, password_file
from tests.helpers import Broker, MqttProbe, ServiceProcess, free_port, running, wait_until

PASSWORD = "relay-pw-8c1f"


@dataclass(frozen=True)
class Pki:
    ca: Path
    client_cert: Path
    client_key: Path
    server_cert: Path
    server_key: Path


@dataclass(frozen=True)
class Listeners:
    plain: Broker
    protected_port: int


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    directory = tmp_path_factory.mktemp("pki")
    ca = trustme.CA()
    server = ca.issue_cert("127.0.0.1")
    client = ca.issue_cert("relay.pvcontrol.test")
    names = ("ca.pem", "client.pem", "client.key", "server.pem", "server.key")
    pki = Pki(*(directory / name for name in names))
    ca.cert_pem.write_to_path(str(pki.ca))
    client.cert_chain_pems[0].write_to_path(str(pki.client_cert))
    client.private_key_pem.write_to_path(str(pki.client_key))
    server.cert_chain_pems[0].write_to_path(str(pki.server_cert))
    server.private_key_pem.write_to_path(str(pki.server_key))
    return pki


@pytest.fixture
def tls_broker(pki: Pki, tmp_path: Path) -> Iterator[Listeners]:
    plain, protected = free_port(), free_port()
    config = (
        f"listener {plain} 127.0.0.1\nallow_anonymous true\n"
        f"listener {protected} 127.0.0.1\n"
        f"cafile {pki.ca}\ncertfile {pki.server_cert}\nkeyfile {pki.server_key}\n"
        "require_certificate true\n"
    )
    with custom_mosquitto(config, [plain, protected], tmp_path):
        yield Listeners(Broker("127.0.0.1", plain), protected)


@pytest.fixture
def password_broker(tmp_path: Path) -> Iterator[Listeners]:
    plain, protected = free_port(), free_port()
    passwords = password_file(tmp_path / "passwd", {"relay": PASSWORD})
    config = (
        "per_listener_settings true\n"
        f"listener {plain} 127.0.0.1\nallow_anonymous true\n"
        f"listener {protected} 127.0.0.1\nallow_anonymous false\npassword_file {passwords}\n"
    )
    with custom_mosquitto(config, [plain, protected], tmp_path):
        yield Listeners(Broker("127.0.0.1", plain), protected)


def relay(
    url: str, port: int, prefix: str, tmp_path: Path, env: dict[str, str]
) -> AbstractContextManager[ServiceProcess]:
    target = BrokerAt("127.0.0.1", port, url)
    return running(["relay", "--relay", "SimulatedPhaseRelay"], target, prefix, tmp_path, env)


def watch(listeners: Listeners, prefix: str) -> MqttProbe:
    probe = MqttProbe(listeners.plain, prefix)
    probe.start()
    return probe


def assert_keeps_retrying(process: ServiceProcess, url: str) -> None:
    """Three failed attempts, one log line each with a growing back-off, no traceback, still running."""
    wait_until(lambda: "retrying in 4 s" in process.log(), 60, "the third failed attempt")
    lines = [line for line in process.log().splitlines() if f"broker {url} unreachable" in line]
    assert [re.search(r"retrying in (\d+) s", line).group(1) for line in lines[:3]] == ["1", "2", "4"]  # type: ignore[union-attr]
    others = [
        line for line in process.log().splitlines() if "unreachable" not in line and "starting" not in line
    ]
    assert others == []  # one line per attempt: no traceback, no second line from the MQTT library
    assert process.proc.poll() is None


# --- TLS -------------------------------------------------------------------------------------------


def test_connects_with_the_ca_and_a_client_certificate(
    tls_broker: Listeners, pki: Pki, prefix: str, tmp_path: Path
) -> None:
    url = f"mqtts://127.0.0.1:{tls_broker.protected_port}"
    env = {
        "PVC_MQTT__CA_FILE": str(pki.ca),
        "PVC_MQTT__CLIENT_CERT": str(pki.client_cert),
        "PVC_MQTT__CLIENT_KEY": str(pki.client_key),
    }
    probe = watch(tls_broker, prefix)
    try:
        with relay(url, tls_broker.protected_port, prefix, tmp_path, env) as process:
            probe.wait_for(f"{prefix}/relay/status", lambda m: m.payload == b"online")
            # A command through the plain listener reaches the service behind TLS, and its answer comes back.
            probe.publish(f"{prefix}/relay/phases/set", "1")
            probe.wait_json(f"{prefix}/relay/state", lambda s: s["phases"] == 1)
            # logged just after the connection is up, so it may come after the first answer
            wait_until(lambda: f"connected to {url} as pvcontrol-relay-" in process.log(), what="log")
    finally:
        probe.stop()


def test_without_a_client_certificate_it_does_not_connect_and_keeps_retrying(
    tls_broker: Listeners, pki: Pki, prefix: str, tmp_path: Path
) -> None:
    url = f"mqtts://127.0.0.1:{tls_broker.protected_port}"
    probe = watch(tls_broker, prefix)
    try:
        with relay(url, tls_broker.protected_port, prefix, tmp_path, {"PVC_MQTT__CA_FILE": str(pki.ca)}) as p:
            assert_keeps_retrying(p, url)
            assert "CERTIFICATE_REQUIRED" in p.log()  # the broker's reason, not a timeout
        assert probe.on(f"{prefix}/relay/status") == []
    finally:
        probe.stop()


def test_a_broker_certificate_from_another_ca_is_refused(
    tls_broker: Listeners, pki: Pki, prefix: str, tmp_path: Path
) -> None:
    other_ca = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other_ca))
    url = f"mqtts://127.0.0.1:{tls_broker.protected_port}"
    env = {
        "PVC_MQTT__CA_FILE": str(other_ca),
        "PVC_MQTT__CLIENT_CERT": str(pki.client_cert),
        "PVC_MQTT__CLIENT_KEY": str(pki.client_key),
    }
    with relay(url, tls_broker.protected_port, prefix, tmp_path, env) as process:
        assert_keeps_retrying(process, url)
        assert "CERTIFICATE_VERIFY_FAILED" in process.log()


def test_a_broker_certificate_for_another_host_is_refused(
    tls_broker: Listeners, pki: Pki, prefix: str, tmp_path: Path
) -> None:
    """The broker's certificate names 127.0.0.1 only; reached as `localhost`, it does not match."""
    url = f"mqtts://localhost:{tls_broker.protected_port}"
    env = {
        "PVC_MQTT__CA_FILE": str(pki.ca),
        "PVC_MQTT__CLIENT_CERT": str(pki.client_cert),
        "PVC_MQTT__CLIENT_KEY": str(pki.client_key),
    }
    with relay(url, tls_broker.protected_port, prefix, tmp_path, env) as process:
        assert_keeps_retrying(process, url)
        assert "CERTIFICATE_VERIFY_FAILED" in process.log()
        assert "Hostname mismatch" in process.log()


# --- passwords ------------------------------------------------------------------------------------


@pytest.mark.parametrize("source", ["env", "password_file"])
def test_the_password_comes_from_the_environment_or_a_file(
    password_broker: Listeners, prefix: str, tmp_path: Path, source: str
) -> None:
    port = password_broker.protected_port
    if source == "env":
        url = f"mqtt://127.0.0.1:{port}"
        env = {"PVC_MQTT__USERNAME": "relay", "PVC_MQTT__PASSWORD": PASSWORD}
    else:
        secret = tmp_path / "mqtt-password"
        secret.write_text(f"{PASSWORD}\n")  # as `echo pw > file` leaves it: stripped
        url = f"mqtt://relay@127.0.0.1:{port}"
        env = {"PVC_MQTT__PASSWORD_FILE": str(secret)}
    probe = watch(password_broker, prefix)
    try:
        with relay(url, port, prefix, tmp_path, env) as process:
            probe.wait_for(f"{prefix}/relay/status", lambda m: m.payload == b"online")
            probe.publish(f"{prefix}/relay/phases/set", "1")
            probe.wait_json(f"{prefix}/relay/state", lambda s: s["phases"] == 1)
            config = probe.wait_for(f"{prefix}/relay/config")
        assert PASSWORD not in process.log()
        assert PASSWORD.encode() not in config.payload
        assert PASSWORD not in " ".join(process.args)  # not in the process list
    finally:
        probe.stop()


def test_a_wrong_password_is_refused_and_retried_without_logging_it(
    password_broker: Listeners, prefix: str, tmp_path: Path
) -> None:
    port = password_broker.protected_port
    env = {"PVC_MQTT__USERNAME": "relay", "PVC_MQTT__PASSWORD": "wrong-pw-5d2e"}
    with relay(f"mqtt://127.0.0.1:{port}", port, prefix, tmp_path, env) as process:
        wait_until(lambda: "retrying in 2 s" in process.log(), 30, "two refused attempts")
        assert "authori" in process.log().lower()  # the broker's reason, e.g. "Not authorized"
        assert "wrong-pw" not in process.log()
        assert "Traceback" not in process.log()


# --- bad settings stop the program at start ---------------------------------------------------------


def run_relay(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.upper().startswith("PVC_")}
    return subprocess.run(
        [sys.executable, "-m", "pvcontrol", "relay", "--metrics-port", "0", "--mqtt", "mqtt://127.0.0.1:1"],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )


def bad_settings(tmp_path: Path, pki: Pki) -> list[tuple[dict[str, str], str]]:
    not_pem = tmp_path / "not.pem"
    not_pem.write_text("hello\n")
    empty = tmp_path / "empty"
    empty.write_text("\n")
    return [
        ({"PVC_MQTT__CA_FILE": str(tmp_path / "missing.pem")}, "mqtt.ca_file"),
        ({"PVC_MQTT__CLIENT_CERT": str(tmp_path)}, "mqtt.client_cert"),
        (
            {"PVC_MQTT__CLIENT_CERT": str(pki.client_cert), "PVC_MQTT__CLIENT_KEY": "/nonexistent"},
            "client_key",
        ),
        ({"PVC_MQTT__CLIENT_KEY": str(pki.client_key)}, "mqtt.client_key needs mqtt.client_cert"),
        ({"PVC_MQTT__PASSWORD_FILE": str(tmp_path / "missing")}, "mqtt.password_file"),
        ({"PVC_MQTT__USERNAME": "u", "PVC_MQTT__PASSWORD_FILE": str(empty)}, "is empty"),
        (
            {"PVC_MQTT__USERNAME": "u", "PVC_MQTT__PASSWORD": "p", "PVC_MQTT__PASSWORD_FILE": str(empty)},
            "not both",
        ),
        ({"PVC_MQTT__PASSWORD": "p-4711"}, "needs a user"),
        ({"PVC_MQTT__CLIENT_CERT": str(not_pem)}, "cannot use the MQTT TLS"),
        ({"PVC_MQTT__CA_FILE": str(not_pem)}, "cannot use the MQTT TLS"),
    ]


def test_bad_tls_or_password_settings_exit_2_with_one_line(tmp_path: Path, pki: Pki) -> None:
    for env, named in bad_settings(tmp_path, pki):
        result = run_relay(env)
        message = result.stderr.strip()
        assert result.returncode == 2, (env, result.stderr)
        assert "\n" not in message, message
        assert message.startswith("pvcontrol: "), message
        assert named in message, (env, message)
        assert "p-4711" not in message
