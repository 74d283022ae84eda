"""Test helpers: a real MQTT client that records what it sees, service processes, waiting, Mosquitto.

bench/system.py uses them too (free ports, waiting, Mosquitto): keep them free of pytest."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from pvcontrol.broker import BrokerAddress

T = TypeVar("T")
DEFAULT_TIMEOUT = 30.0
# For a process to start and answer: on a shared 2-core machine running the tests on several xdist
# workers, a gateway (about 1 s of CPU to import and start) has been seen to need more than 20 s.
STARTUP_TIMEOUT = 60.0
# A controller process waits this long at start for its retained state (default 2 s): most tests start
# it with none, and would wait the whole time. A test that restores a retained state passes RESTORES:
# the wait ends as soon as the state arrives, and a starved test process still gets the full default.
TEST_RESTORE_TIMEOUT = "0.5"
RESTORES = {"PVC_CONTROLLER__RESTORE_TIMEOUT": "2"}


def _ports_below_the_ephemeral_range() -> range:
    try:
        first_ephemeral = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        first_ephemeral = 32768
    return range(10000, max(first_ephemeral, 20000))


_PORTS = _ports_below_the_ephemeral_range()
_handed_out: set[int] = set()
_random = random.SystemRandom()  # not the module's generator, which hypothesis seeds


def free_port() -> int:
    """A free port for a server the test starts. Not the kernel's pick (bind to port 0): that comes from
    the ephemeral range, where every outgoing connection of the many parallel tests and services also
    takes its local port, and one did take a gateway's port before the gateway could bind it. A random
    port below that range, never handed out twice by this process, checked free."""
    while True:
        port = _random.choice(_PORTS)
        if port in _handed_out:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port


def wait_until(
    condition: Callable[[], T | None],
    timeout: float = DEFAULT_TIMEOUT,
    what: str = "",
    interval: float = 0.02,
) -> T:
    """Poll `condition` every `interval` s until it returns something truthy; fail with `what` after
    `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or condition}")
        time.sleep(interval)


@dataclass(frozen=True)
class Broker:
    host: str
    port: int

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    @property
    def address(self) -> BrokerAddress:
        return BrokerAddress(self.host, self.port)


@dataclass
class Received:
    topic: str
    payload: bytes
    retain: bool

    def json(self) -> Any:
        return json.loads(self.payload)


@dataclass
class MqttProbe:
    """Subscribes to everything under a prefix and remembers every message, for assertions."""

    broker: Broker
    prefix: str
    messages: list[Received] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _client: paho.Client | None = None

    def start(self, extra_topics: tuple[str, ...] = ()) -> None:
        client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"probe-{uuid.uuid4().hex[:8]}")
        subscribed = threading.Event()
        client.on_message = lambda _c, _u, msg: self._record(msg)
        client.on_subscribe = lambda *_: subscribed.set()
        client.connect(self.broker.host, self.broker.port)
        client.loop_start()
        # Extra topics at QoS 0: over a session the broker collects thousands of retained discovery
        # documents under homeassistant/#, and Mosquitto drops QoS 1 messages past 1000 queued per client
        # (max_queued_messages), the probe's own marker behind them included.
        client.subscribe([(f"{self.prefix}/#", 1), *((t, 0) for t in extra_topics)])
        self._client = client
        wait_until(subscribed.is_set, 10, "probe subscription")

    def stop(self) -> None:
        if self._client is not None:
            # Disconnect first: the network loop then ends at once instead of after its 1 s select.
            self._client.disconnect()
            self._client.loop_stop()

    def _record(self, msg: paho.MQTTMessage) -> None:
        with self._lock:
            self.messages.append(Received(msg.topic, bytes(msg.payload), bool(msg.retain)))

    def publish(self, topic: str, payload: str, retain: bool = False) -> None:
        assert self._client is not None
        self._client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(10)

    def publish_json(self, topic: str, document: Mapping[str, Any], retain: bool = True) -> None:
        self.publish(topic, json.dumps(document), retain=retain)

    def on(self, topic: str) -> list[Received]:
        with self._lock:
            return [m for m in self.messages if m.topic == topic]

    def last(self, topic: str) -> Received | None:
        found = self.on(topic)
        return found[-1] if found else None

    def mark(self) -> int:
        """A position in the message log; `since` returns what came after it."""
        with self._lock:
            return len(self.messages)

    def since(self, mark: int, topic: str) -> list[Received]:
        with self._lock:
            return [m for m in self.messages[mark:] if m.topic == topic]

    def wait_for(
        self,
        topic: str,
        predicate: Callable[[Received], bool] = lambda _: True,
        after: int = 0,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> Received:
        return wait_until(
            lambda: next((m for m in self.since(after, topic) if predicate(m)), None),
            timeout,
            f"a matching message on {topic}",
        )

    def wait_json(
        self,
        topic: str,
        predicate: Callable[[Any], bool],
        after: int = 0,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> Any:
        def matches(m: Received) -> bool:
            try:
                return bool(predicate(m.json()))
            except (ValueError, KeyError, TypeError):
                return False

        return self.wait_for(topic, matches, after, timeout).json()


@dataclass
class ServiceProcess:
    args: list[str]
    proc: subprocess.Popen[str]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text()

    def terminate(self, sig: int = signal.SIGTERM, timeout: float = 10) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.proc.wait(timeout)


def start_service(
    args: list[str], broker: Broker, prefix: str, log_dir: Path, env: Mapping[str, str] | None = None
) -> ServiceProcess:
    """`python -m pvcontrol <args>` against `broker` with topic prefix `prefix`, logging to a file."""
    # the gateway's history file goes with the logs, never into the working directory
    full_env = {
        **os.environ,
        "PVC_MQTT__PREFIX": prefix,
        "PVC_HISTORY__DATA_DIR": str(log_dir),
        "PYTHONUNBUFFERED": "1",
        "PVC_CONTROLLER__RESTORE_TIMEOUT": TEST_RESTORE_TIMEOUT,
        **(env or {}),
    }
    full_args = [sys.executable, "-m", "pvcontrol", *args, "--mqtt", broker.url]
    if args[0] != "all" and args[0] != "api" and "--metrics-port" not in args:
        full_args += ["--metrics-port", "0"]
    log_path = log_dir / f"{args[0]}-{uuid.uuid4().hex[:6]}.log"
    with log_path.open("w") as log_file:
        proc = subprocess.Popen(full_args, env=full_env, stdout=log_file, stderr=subprocess.STDOUT, text=True)
    return ServiceProcess(full_args, proc, log_path)


@contextmanager
def running(
    args: list[str], broker: Broker, prefix: str, log_dir: Path, env: Mapping[str, str] | None = None
) -> Iterator[ServiceProcess]:
    service = start_service(args, broker, prefix, log_dir, env)
    try:
        yield service
    finally:
        if service.proc.poll() is None:
            service.proc.kill()
            service.proc.wait(10)


def retained_discovery_documents(broker: Broker) -> dict[str, bytes]:
    """Every non-empty retained message under homeassistant/ the broker holds now (a fresh subscriber's
    view): the Home Assistant discovery documents of every installation."""
    probe = MqttProbe(broker, f"pvctest-{uuid.uuid4().hex[:10]}")
    probe.start(extra_topics=("homeassistant/#",))
    try:
        # Retained messages come right after the subscription, so once our own marker is back, all are in.
        marker = f"homeassistant/pvctest/{uuid.uuid4().hex}"
        probe.publish(marker, "marker")
        probe.wait_for(marker)
        return {m.topic: m.payload for m in probe.messages if m.retain and m.payload}
    finally:
        probe.stop()


@contextmanager
def running_gateway(
    broker: Broker,
    prefix: str,
    log_dir: Path,
    env: Mapping[str, str] | None = None,
    port: int | None = None,
) -> Iterator[tuple[str, ServiceProcess]]:
    """`pvcontrol api` on 127.0.0.1 (on a free port unless `port` is given), once it answers its readiness
    probe: its URL and its process."""
    port = port or free_port()
    args = ["api", "--port", str(port), "--host", "127.0.0.1"]
    with running(args, broker, prefix, log_dir, env) as process:
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: gateway_ready(url), STARTUP_TIMEOUT, "gateway ready")
        yield url, process


def stub_ui(directory: Path) -> Path:
    """A UI build of one page (`index.html` with its `<base href>`) in `directory`/ui, for `api.ui_dir`."""
    ui = directory / "ui"
    ui.mkdir(exist_ok=True)
    (ui / "index.html").write_text('<html><head><base href="/"></head><body>pv-control UI</body></html>')
    return ui


def gateway_ready(url: str) -> bool:
    """The gateway at `url` answers its readiness probe."""
    try:
        return httpx.get(f"{url}/readyz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def put_once_online(
    url: str,
    path: str = "controller/desired_mode",
    body: object = "PV_ONLY",
    timeout: float = DEFAULT_TIMEOUT,
) -> None:
    """PUT `body` to /api/pvcontrol/`path` until it is taken (204): the gateway has seen the service
    that the command is for online."""

    def taken() -> bool:
        try:
            return httpx.put(f"{url}/api/pvcontrol/{path}", json=body, timeout=2).status_code == 204
        except httpx.HTTPError:
            return False

    wait_until(taken, timeout, f"PUT {path} taken: the service online at the gateway", interval=0.2)


# `pvcontrol all` on simulated devices at a quick pace: fast polls, a steady consumption, and no home
# battery to hide the surplus.
FAST_SIMULATION = {
    "PVC_METER__POLL_INTERVAL": "0.25",
    "PVC_METER__CONSUMPTION_VARIATION": "0",
    "PVC_METER__BATTERY_MAX_POWER": "0",
    "PVC_WALLBOX__POLL_INTERVAL": "0.25",
    "PVC_CAR__POLL_INTERVAL": "1",
}


@contextmanager
def running_all(
    broker: Broker, prefix: str, log_dir: Path, env: Mapping[str, str], args: Sequence[str] = ()
) -> Iterator[tuple[str, ServiceProcess]]:
    """`pvcontrol all` on a free port with FAST_SIMULATION and `env` over it, from the moment its
    gateway is ready: the gateway's URL and the process."""
    port = free_port()
    all_args = ["all", "--port", str(port), "--host", "127.0.0.1", *args]
    with running(all_args, broker, prefix, log_dir, {**FAST_SIMULATION, **env}) as process:
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: gateway_ready(url), STARTUP_TIMEOUT, "gateway ready")
        yield url, process


def accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@contextmanager
def own_mosquitto(port: int, workdir: Path, options: Sequence[str] = ()) -> Iterator[subprocess.Popen[bytes]]:
    """A real mosquitto (Debian package) on `port`, without persistence, for as long as the context;
    `options`: more lines of its config."""
    exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not Path(exe).exists():
        raise RuntimeError("mosquitto is not installed: apt-get install mosquitto (scripts/test.sh does)")
    config = workdir / "mosquitto.conf"
    lines = [f"listener {port} 127.0.0.1", "allow_anonymous true", "persistence false", *options]
    config.write_text("".join(f"{line}\n" for line in lines))
    with (workdir / "mosquitto.log").open("a") as log:
        proc = subprocess.Popen([exe, "-c", str(config)], stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: accepts(port), 10, f"mosquitto on port {port}")
        yield proc
    finally:
        proc.kill()
        proc.wait(10)
