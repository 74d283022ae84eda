"""The Compose and Kubernetes files, checked statically (no Docker engine here): every service logs in to
the broker with its own user and a password from the environment/a Secret, the broker refuses anonymous
clients and uses deploy/mosquitto/acl; the password tools make logins a real Mosquitto accepts."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.custom_mosquitto import ACL, DEPLOY, connect_result, custom_mosquitto, deployed_config
from tests.helpers import free_port

ROOT = DEPLOY.parent.parent
K8S = ROOT / "deploy" / "k8s"
SERVICES = ("meter", "wallbox", "car", "relay", "controller", "forecast", "tariff", "api")


def acl_users() -> list[str]:
    return re.findall(r"(?m)^user (\S+)$", ACL.read_text())


def k8s_documents() -> list[dict[str, Any]]:
    return [doc for path in sorted(K8S.glob("*.yaml")) for doc in yaml.safe_load_all(path.read_text()) if doc]


def test_compose_services_log_in_with_their_own_user_and_a_password_from_the_environment() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    # Services in a profile (monitoring) are optional extras, not part of the stack.
    assert {n for n, s in services.items() if "profiles" not in s} == {"mosquitto", *SERVICES}
    for name in SERVICES:
        env = services[name]["environment"]
        assert services[name]["command"] == [name]
        assert env["PVC_MQTT__URL"] == "mqtt://mosquitto:1883"  # no credentials in the URL
        assert env["PVC_MQTT__USERNAME"] == name
        assert re.fullmatch(rf"\$\{{PVC_MQTT_PASSWORD_{name.upper()}:\?.+\}}", env["PVC_MQTT__PASSWORD"])
    mounts = services["mosquitto"]["volumes"]
    assert "./deploy/mosquitto/acl:/mosquitto/config/acl:ro" in mounts
    passwd = next(m for m in mounts if isinstance(m, dict))
    assert (passwd["source"], passwd["target"]) == ("./deploy/mosquitto/passwd", "/mosquitto/config/passwd")
    assert passwd["bind"]["create_host_path"] is False


def test_k8s_deployments_log_in_with_their_own_user_and_a_password_from_a_secret() -> None:
    deployments = {doc["metadata"]["name"]: doc for doc in k8s_documents() if doc.get("kind") == "Deployment"}
    assert set(deployments) == {"mosquitto", *(f"pvcontrol-{name}" for name in SERVICES)}
    for name in SERVICES:
        (container,) = deployments[f"pvcontrol-{name}"]["spec"]["template"]["spec"]["containers"]
        env = {e["name"]: e for e in container["env"]}
        assert env["PVC_MQTT__USERNAME"]["value"] == name
        secret = env["PVC_MQTT__PASSWORD"]["valueFrom"]["secretKeyRef"]
        assert secret == {"name": "pvcontrol-mqtt", "key": f"PVC_MQTT_PASSWORD_{name.upper()}"}
        assert not any("@" in str(arg) for arg in container["args"])


def test_k8s_broker_uses_the_same_acl_and_settings_as_compose() -> None:
    config = next(doc for doc in k8s_documents() if doc.get("metadata", {}).get("name") == "mosquitto-config")
    assert config["data"]["acl"] == ACL.read_text()

    def settings(text: str) -> list[str]:
        lines = [
            line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")
        ]
        return [line for line in lines if not line.startswith("password_file ")]

    assert settings(config["data"]["mosquitto.conf"]) == settings((DEPLOY / "mosquitto.conf").read_text())
    assert "password_file /mosquitto/passwd/passwd" in config["data"]["mosquitto.conf"]
    assert "allow_anonymous false" in config["data"]["mosquitto.conf"]


def test_every_acl_user_is_in_the_examples_and_the_password_tool() -> None:
    users = acl_users()
    assert set(SERVICES) <= set(users)
    secrets = {
        doc["metadata"]["name"]: doc for doc in yaml.safe_load_all((K8S / "secret.example.yaml").read_text())
    }
    assert set(secrets["pvcontrol-mqtt"]["stringData"]) == {f"PVC_MQTT_PASSWORD_{u.upper()}" for u in users}
    example = [
        line.split(":")[0] for line in (DEPLOY / "passwd.example").read_text().splitlines() if line[:1] != "#"
    ]
    assert example == users
    assert f'users="{" ".join(users)}"' in (DEPLOY / "make-passwords.sh").read_text()


def test_the_demo_password_file_is_accepted_by_the_deployed_broker_config(tmp_path: Path) -> None:
    port = free_port()
    with custom_mosquitto(deployed_config(port, DEPLOY / "passwd.example"), [port], tmp_path):
        for user in acl_users():
            assert connect_result(port, user, f"demo-{user}") == "Success", user
        assert connect_result(port) == "Not authorized"


def test_make_passwords_makes_logins_the_deployed_broker_accepts(tmp_path: Path) -> None:
    passwd, env_file = tmp_path / "passwd", tmp_path / "mqtt-passwords.env"
    subprocess.run(
        ["sh", str(DEPLOY / "make-passwords.sh"), str(passwd), str(env_file)], check=True, capture_output=True
    )
    passwords = dict(line.split("=", 1) for line in env_file.read_text().splitlines())
    assert len(set(passwords.values())) == len(acl_users())
    assert all(len(p) >= 20 for p in passwords.values())
    assert passwd.stat().st_mode & 0o077 == 0  # neither file readable by others
    assert env_file.stat().st_mode & 0o077 == 0
    port = free_port()
    with custom_mosquitto(deployed_config(port, passwd), [port], tmp_path):
        for user in acl_users():
            assert connect_result(port, user, passwords[f"PVC_MQTT_PASSWORD_{user.upper()}"]) == "Success"
            assert connect_result(port, user, "demo-" + user) == "Not authorized"


@pytest.mark.parametrize("path", sorted(K8S.glob("*.yaml")), ids=lambda p: p.name)
def test_every_k8s_file_parses(path: Path) -> None:
    assert all(doc["kind"] for doc in yaml.safe_load_all(path.read_text()) if doc)
