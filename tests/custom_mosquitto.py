"""A real mosquitto with a configuration of the test's own (TLS, passwords, ACLs) on free ports."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from tests.helpers import Broker, accepts, wait_until

MOSQUITTO_PASSWD = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"
DEPLOY = Path(__file__).resolve().parent.parent / "deploy" / "mosquitto"
ACL = DEPLOY / "acl"


@dataclass(frozen=True)
class BrokerAt(Broker):
    """A broker a service process reaches with a URL of the test's choice (mqtts://, user:password@)."""

    given_url: str = ""

    @property
    def url(self) -> str:
        return self.given_url


@contextmanager
def custom_mosquitto(config: str, ports: Sequence[int], workdir: Path) -> Iterator[subprocess.Popen[bytes]]:
    """mosquitto with `config` (no persistence), running until the context ends; waits for `ports`."""
    exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not Path(exe).exists():
        raise RuntimeError("mosquitto is not installed: apt-get install mosquitto (scripts/test.sh does)")
    config_path = workdir / "custom-mosquitto.conf"
    # Started as root, mosquitto would drop to the user `mosquitto`, who cannot read the test's files.
    user = "user root\n" if os.geteuid() == 0 else ""
    config_path.write_text(f"persistence false\n{user}{config}")
    log_path = workdir / "custom-mosquitto.log"
    with log_path.open("a") as log:
        proc = subprocess.Popen([exe, "-c", str(config_path)], stdout=log, stderr=subprocess.STDOUT)
    try:
        for port in ports:
            wait_until(
                lambda p=port: accepts(p) or proc.poll() is not None,  # type: ignore[misc]
                10,
                f"mosquitto on port {port}",
            )
        if proc.poll() is not None:
            raise RuntimeError(f"mosquitto did not start: {log_path.read_text()}")
        yield proc
    finally:
        proc.kill()
        proc.wait(10)


def password_file(path: Path, users: dict[str, str]) -> Path:
    """A mosquitto password file made with `mosquitto_passwd -b` (hashed, as in production)."""
    path.write_text("")
    path.chmod(0o600)
    for user, password in users.items():
        subprocess.run([MOSQUITTO_PASSWD, "-b", str(path), user, password], check=True, capture_output=True)
    return path


def connect_result(port: int, username: str | None = None, password: str | None = None) -> str:
    """The broker's answer to a CONNECT: `Success`, `Not authorized`, ... (one synchronous attempt)."""
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id="connect-probe")
    if username is not None:
        client.username_pw_set(username, password)
    answers: list[str] = []
    client.on_connect = lambda _c, _u, _f, reason, _p: answers.append(str(reason))
    client.on_disconnect = lambda _c, _u, _f, reason, _p: answers.append(str(reason))
    try:
        client.connect("127.0.0.1", port)
    except OSError as e:
        return f"connection failed: {e}"
    try:
        # The network loop in this thread: a background loop would take up to 1 s to notice its end.
        def answer() -> str | None:
            if not answers:
                client.loop(0.05)
            return answers[0] if answers else None

        return wait_until(answer, 10, "the CONNACK")
    finally:
        client.disconnect()


def deployed_config(port: int, passwd: Path) -> str:
    """deploy/mosquitto/mosquitto.conf with a free port, the test's password file and the repo's ACL, without
    persistence. Fails if the deployed file stops asking for passwords or the ACL."""
    lines, keys = [], set()
    for line in (DEPLOY / "mosquitto.conf").read_text().splitlines():
        key = line.split(" ", 1)[0]
        keys.add(key)
        if key == "listener":
            lines.append(f"listener {port} 127.0.0.1")
        elif key == "password_file":
            lines.append(f"password_file {passwd}")
        elif key == "acl_file":
            lines.append(f"acl_file {ACL}")
        elif not key.startswith(("persistence", "autosave")):
            lines.append(line)
    assert {"listener", "allow_anonymous", "password_file", "acl_file"} <= keys
    return "\n".join(lines) + "\n"
