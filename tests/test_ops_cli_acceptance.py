"""Every Compose `command:`/environment and every k8s container's args/env is accepted by the real CLI.

No Docker engine or cluster here, so each container's command line runs as a process: its arguments and
environment as the file gives them (Compose `${VAR:?...}` and k8s Secret/ConfigMap/downward-API values
filled in as Compose and Kubernetes would), against a real Mosquitto with the deployed ACL and per-user
passwords. Only what points at the container world is replaced: the broker's address, the metrics and
HTTP ports (free ones), and the ConfigMap's file path. Accepted = it logs in, announces `online` and
stops cleanly on SIGTERM.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import pytest
import yaml
from paho.mqtt.enums import CallbackAPIVersion

from tests.custom_mosquitto import custom_mosquitto, deployed_config, password_file
from tests.helpers import free_port, wait_until
from tests.ops_helpers import REPO, load_yaml

SERVICES = ("meter", "wallbox", "car", "relay", "controller", "forecast", "tariff", "api")
P = "pvcontrol"
K8S = REPO / "deploy" / "k8s"
NODE_NAME = "raspberrypi"  # the relay's node in relay.yaml's nodeSelector and config.yaml


@dataclass
class AclBroker:
    port: int
    passwords: dict[str, str]
    online: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def record(self, topic: str, payload: bytes) -> None:
        service = topic.split("/")[1]
        with self._lock:
            if payload == b"online":
                self.online.add(service)
            else:
                self.online.discard(service)

    def is_online(self, service: str) -> bool:
        with self._lock:
            return service in self.online


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AclBroker]:
    workdir = tmp_path_factory.mktemp("acl-broker")
    passwords = {user: secrets.token_urlsafe(12) for user in (*SERVICES, "homeassistant")}
    port = free_port()
    with custom_mosquitto(
        deployed_config(port, password_file(workdir / "passwd", passwords)), [port], workdir
    ):
        acl = AclBroker(port, passwords)
        client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"observer-{secrets.token_hex(4)}")
        client.username_pw_set("homeassistant", passwords["homeassistant"])
        client.on_message = lambda _c, _u, msg: acl.record(msg.topic, bytes(msg.payload))
        client.connect("127.0.0.1", port)
        client.loop_start()
        client.subscribe(f"{P}/+/status", 1)
        try:
            yield acl
        finally:
            client.disconnect()
            client.loop_stop()


def compose_value(value: str, variables: Mapping[str, str]) -> str:
    """Compose's interpolation of `${VAR}`, `${VAR:?message}` and `${VAR:-default}`."""

    def substitute(match: re.Match[str]) -> str:
        name, operator, rest = match.group(1), match.group(2), match.group(3)
        if name in variables:
            return variables[name]
        if operator == ":-":
            return rest or ""
        raise AssertionError(f"docker compose would stop: {name} is not set ({rest})")

    return re.sub(r"\$\{(\w+)(?:(:\?|:-)([^}]*))?\}", substitute, value)


def run_and_accept(
    name: str, args: list[str], env: Mapping[str, str], broker: AclBroker, log_dir: Path
) -> None:
    """`pvcontrol <args>` with exactly `env` (plus PATH/PYTHONPATH), until it is online; then SIGTERM."""
    log = log_dir / f"{name}.log"
    base = {"PATH": os.environ["PATH"], "PYTHONUNBUFFERED": "1", "HOME": str(log_dir)}
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "pvcontrol", *args],
            env={**base, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=log_dir,  # where the gateway keeps its history without -c
        )
    service = args[0]
    try:
        wait_until(lambda: proc.poll() is not None or broker.is_online(service), 30, f"{name} online")
        assert proc.poll() is None, f"{name}: {' '.join(args)} exited {proc.returncode}:\n{log.read_text()}"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0, log.read_text()
        wait_until(lambda: not broker.is_online(service), 10, f"{name} offline")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    text = log.read_text()
    assert "Traceback" not in text, text
    assert broker.passwords[service] not in text


def container_world(service: str) -> dict[str, str]:
    """What differs outside a container: where the broker is, free ports for metrics and HTTP."""
    return {f"PVC_{service.upper()}__METRICS_PORT": str(free_port())} if service != "api" else {
        "PVC_API__PORT": str(free_port())
    }  # fmt: skip


def test_compose_commands_and_environments_are_accepted(broker: AclBroker, tmp_path: Path) -> None:
    compose = load_yaml(REPO / "docker-compose.yml")
    # The .env file make-passwords.sh writes: one password per user.
    variables = {f"PVC_MQTT_PASSWORD_{user.upper()}": pw for user, pw in broker.passwords.items()}
    run = [n for n, s in compose["services"].items() if n != "mosquitto" and "profiles" not in s]
    assert sorted(run) == sorted(SERVICES)
    refused = []
    for name in run:
        service = compose["services"][name]
        env = {k: compose_value(str(v), variables) for k, v in service["environment"].items()}
        assert env.pop("PVC_MQTT__URL") == "mqtt://mosquitto:1883"
        env["PVC_MQTT__URL"] = broker.url
        env.update(container_world(name))
        try:
            run_and_accept(f"compose-{name}", list(service["command"]), env, broker, tmp_path)
        except AssertionError as e:
            refused.append(str(e).split("\nassert")[0])
    assert refused == [], "\n".join(refused)


def k8s_env(container: dict[str, Any], secrets_: Mapping[str, Mapping[str, str]]) -> dict[str, str]:
    env: dict[str, str] = {}
    for item in container.get("env", []):
        if "value" in item:
            env[item["name"]] = str(item["value"])
            continue
        source = item["valueFrom"]
        if "secretKeyRef" in source:
            ref = source["secretKeyRef"]
            env[item["name"]] = secrets_[ref["name"]][ref["key"]]
        elif source.get("fieldRef", {}).get("fieldPath") == "spec.nodeName":
            env[item["name"]] = NODE_NAME
        else:
            raise AssertionError(f"an env source the test does not know: {item}")
    return env


def k8s_args(args: list[str], env: Mapping[str, str], config: Path) -> list[str]:
    """Kubernetes expands $(VAR) from the container's env; the ConfigMap is mounted at /etc/pvcontrol."""
    expanded = [re.sub(r"\$\((\w+)\)", lambda m: env[m.group(1)], a) for a in args]
    return [str(config) if a == "/etc/pvcontrol/config.yaml" else a for a in expanded]


def test_k8s_container_args_and_environments_are_accepted(broker: AclBroker, tmp_path: Path) -> None:
    documents = [d for path in sorted(K8S.glob("*.yaml")) for d in yaml.safe_load_all(path.read_text()) if d]
    (configmap,) = [
        d for d in documents if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "pvcontrol-config"
    ]
    config = tmp_path / "config.yaml"
    config.write_text(configmap["data"]["config.yaml"])
    secrets_ = {
        "pvcontrol-mqtt": {f"PVC_MQTT_PASSWORD_{u.upper()}": pw for u, pw in broker.passwords.items()},
        "pvcontrol-car": {"password": "not-a-real-password"},
    }
    deployments = {
        d["metadata"]["name"].removeprefix("pvcontrol-"): d
        for d in documents
        if d["kind"] == "Deployment" and d["metadata"]["name"].startswith("pvcontrol-")
    }
    assert sorted(deployments) == sorted(SERVICES)
    refused = []
    for name, deployment in deployments.items():
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        env = k8s_env(container, secrets_)
        args = k8s_args(container["args"], env, config)
        # The broker's address is in the ConfigMap; the environment outranks it.
        env["PVC_MQTT__URL"] = broker.url
        env.update(container_world(name))
        if "PVC_HISTORY__DATA_DIR" in env:  # the pod's volume; here a folder of the test's own
            env["PVC_HISTORY__DATA_DIR"] = str(tmp_path / "history-volume")
        if name == "relay":
            # The Pi's GPIO: the tests' fake RPi.GPIO stands in for the real module (README "Development").
            env["PYTHONPATH"] = f"{REPO / 'tests' / 'fakes' / 'rpi'}{os.pathsep}{REPO}"
        try:
            run_and_accept(f"k8s-{name}", args, env, broker, tmp_path)
        except AssertionError as e:
            refused.append(str(e).split("\nassert")[0])
    assert refused == [], "\n".join(refused)


def test_a_bad_value_in_a_deploy_file_would_be_caught(broker: AclBroker, tmp_path: Path) -> None:
    # The check must be able to fail: a misspelt setting, as a deploy file might carry it, exits 2.
    env = {"PVC_MQTT__URL": broker.url, "PVC_METER__POLL_INTERVALL": "5", **container_world("meter")}
    env |= {"PVC_MQTT__USERNAME": "meter", "PVC_MQTT__PASSWORD": broker.passwords["meter"]}
    with pytest.raises(AssertionError, match="exited 2"):
        run_and_accept("bad-meter", ["meter"], env, broker, tmp_path)
    assert "invalid setting" in (tmp_path / "bad-meter.log").read_text()
    assert json.dumps(env)  # the environment stayed plain strings
