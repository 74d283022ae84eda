"""deploy/node-red/flows.json in a real Node-RED, logged in as `nodered` on a Mosquitto with the deployed ACL.

Node-RED (from npm, pinned) is installed once into the repo's git-ignored .cache/node-red; the test then
runs it headless on a free port with the flow, its broker node pointed at the test's broker, and real
meter, wallbox and controller processes logged in as their own users.
"""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tests.custom_mosquitto import custom_mosquitto, deployed_config, password_file
from tests.helpers import Broker, accepts, free_port, running, wait_until
from tests.ops_helpers import REPO, http_json, load_yaml

NODE_RED_VERSION = "4.1.8"  # the newest release that runs on Node 20 (5.x needs Node 22)
NODE_RED_DIR = REPO / ".cache" / "node-red"
FLOWS = REPO / "deploy" / "node-red" / "flows.json"
P = "pvcontrol"  # the flow and the ACL are written for the default prefix
USERS = ("meter", "wallbox", "controller", "homeassistant", "nodered")


def node_red_script() -> Path:
    """red.js of the pinned Node-RED, installed with npm into .cache/node-red if it is not there yet."""
    script = NODE_RED_DIR / "node_modules" / "node-red" / "red.js"
    package = NODE_RED_DIR / "node_modules" / "node-red" / "package.json"
    if not package.exists() or json.loads(package.read_text())["version"] != NODE_RED_VERSION:
        npm = shutil.which("npm")
        if npm is None or shutil.which("node") is None:
            pytest.fail("node and npm are needed to install Node-RED: apt-get install nodejs npm")
        NODE_RED_DIR.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--loglevel=error", "--prefix", str(NODE_RED_DIR),
             f"node-red@{NODE_RED_VERSION}"],
            capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        assert done.returncode == 0, f"npm install node-red failed:\n{done.stderr}"
    return script


@dataclass
class Observer:
    """A client logged in as `homeassistant` (reads pvcontrol/#) that keeps every JSON state it sees."""

    port: int
    password: str
    states: list[tuple[str, Any]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _client: paho.Client | None = None

    def start(self) -> None:
        client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"observer-{secrets.token_hex(4)}")
        client.username_pw_set("homeassistant", self.password)
        subscribed = threading.Event()
        client.on_message = lambda _c, _u, msg: self._record(msg.topic, bytes(msg.payload))
        client.on_subscribe = lambda *_: subscribed.set()
        client.connect("127.0.0.1", self.port)
        client.loop_start()
        client.subscribe(f"{P}/+/state", 1)
        self._client = client
        wait_until(subscribed.is_set, 10, "observer subscription")

    def stop(self) -> None:
        if self._client is not None:
            self._client.disconnect()
            self._client.loop_stop()

    def _record(self, topic: str, payload: bytes) -> None:
        try:
            document = json.loads(payload)
        except ValueError:
            return
        with self._lock:
            self.states.append((topic, document))

    def mark(self) -> int:
        """A position in the log: `wait_state(..., after=mark)` looks only at what came later."""
        with self._lock:
            return len(self.states)

    def wait_state(self, service: str, predicate: Callable[[Any], bool], what: str, after: int = 0) -> Any:
        topic = f"{P}/{service}/state"

        def found() -> Any:
            with self._lock:
                return next((s for t, s in self.states[after:] if t == topic and predicate(s)), None)

        return wait_until(found, 30, what)


@dataclass
class NodeRed:
    url: str
    tab: str
    log_path: Path

    def inject(self, node_id: str) -> None:
        """Press an inject node's button, as the editor does (answers 200 "OK")."""
        request = urllib.request.Request(f"{self.url}/inject/{node_id}", data=b"", method="POST")
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.status == 200, response.read()

    def flow_context(self, key: str) -> Any:
        try:
            document = http_json(f"{self.url}/context/flow/{self.tab}/{key}")
        except urllib.error.HTTPError:
            return None
        # {"msg": "<JSON>", "format": "Object"} for the one (memory) context store; before the flow has
        # set the key, {} or a format of "undefined".
        if not document or not str(document.get("format", "")).startswith(("Object", "array")):
            return None
        return json.loads(document["msg"])


def flow_for(port: int) -> list[dict[str, Any]]:
    """The shipped flow with its broker node pointed at the test's broker (as a user edits it)."""
    flow: list[dict[str, Any]] = json.loads(FLOWS.read_text())
    (broker,) = [n for n in flow if n["type"] == "mqtt-broker"]
    assert (broker["broker"], broker["port"]) == ("localhost", "1883")
    broker["port"] = str(port)
    broker["broker"] = "127.0.0.1"
    return flow


@pytest.fixture
def acl_stack(tmp_path: Path) -> Iterator[tuple[Observer, NodeRed]]:
    script = node_red_script()
    node = shutil.which("node")
    assert node is not None
    passwords = {user: secrets.token_urlsafe(12) for user in USERS}
    port = free_port()
    config = deployed_config(port, password_file(tmp_path / "passwd", passwords))
    broker = Broker("127.0.0.1", port)

    def login(user: str, **extra: str) -> dict[str, str]:
        return {"PVC_MQTT__USERNAME": user, "PVC_MQTT__PASSWORD": passwords[user], **extra}

    flow = flow_for(port)
    (broker_node,) = [n for n in flow if n["type"] == "mqtt-broker"]
    (tab,) = [n for n in flow if n["type"] == "tab"]
    user_dir = tmp_path / "node-red"
    user_dir.mkdir()
    (user_dir / "flows.json").write_text(json.dumps(flow))
    # Plain-text credentials (credentialSecret false), as after entering them in the editor.
    (user_dir / "flows_cred.json").write_text(
        json.dumps({broker_node["id"]: {"user": "nodered", "password": passwords["nodered"]}})
    )
    ui_port = free_port()
    (user_dir / "settings.js").write_text(
        "module.exports = {"
        f" uiPort: {ui_port}, uiHost: '127.0.0.1', flowFile: 'flows.json', credentialSecret: false,"
        " diagnostics: {enabled: false}, telemetry: {enabled: false},"
        " externalModules: {autoInstall: false} };\n"
    )
    with ExitStack() as stack:
        stack.enter_context(custom_mosquitto(config, [port], tmp_path))
        for service, extra in (
            ("meter", {"PVC_METER__POLL_INTERVAL": "0.5"}),
            ("wallbox", {"PVC_WALLBOX__TYPE": "SimulatedWallbox", "PVC_WALLBOX__POLL_INTERVAL": "0.2"}),
            ("controller", {"PVC_CONTROLLER__CYCLE_TIME": "0.5"}),
        ):
            stack.enter_context(running([service], broker, P, tmp_path, login(service, **extra)))
        observer = Observer(port, passwords["homeassistant"])
        observer.start()
        stack.callback(observer.stop)
        log_path = tmp_path / "node-red.log"
        log = stack.enter_context(log_path.open("w"))
        proc = subprocess.Popen(
            [node, str(script), "--settings", str(user_dir / "settings.js"), "--userDir", str(user_dir)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        stack.callback(proc.wait, 10)
        stack.callback(proc.terminate)
        wait_until(lambda: proc.poll() is not None or accepts(ui_port), 60, "Node-RED listening")
        assert proc.poll() is None, log_path.read_text()
        red = NodeRed(f"http://127.0.0.1:{ui_port}", tab["id"], log_path)
        wait_until(lambda: "Started flows" in log_path.read_text(), 30, "Node-RED started the flow")
        yield observer, red


def test_the_flow_shows_pv_surplus_and_switches_the_mode_as_nodered(
    acl_stack: tuple[Observer, NodeRed],
) -> None:
    observer, red = acl_stack
    meter = observer.wait_state("meter", lambda s: "power_pv" in s, "a meter state")
    # The flow receives P/meter/state (with the nodered login and the ACL) and computes the surplus.
    power = wait_until(lambda: red.flow_context("power"), 30, "the flow's power from P/meter/state")
    assert set(power) >= {"pv", "grid", "home", "car", "surplus", "mode"}
    assert power["surplus"] == pytest.approx(power["car"] - power["grid"])
    assert isinstance(power["pv"], float | int)
    assert meter["power_pv"] >= 0
    assert "Connected to broker" in red.log_path.read_text()

    # The "PV only" button, pressed over Node-RED's admin HTTP API, reaches the real controller.
    mark = observer.mark()
    red.inject("pvc-mode-pv-only")
    observer.wait_state("controller", lambda s: s["desired_mode"] == "PV_ONLY", "desired_mode PV_ONLY", mark)

    # MAX starts charging at once, OFF stops it: one notification each.
    mark = observer.mark()
    red.inject("pvc-mode-max")
    observer.wait_state("wallbox", lambda s: s["phases_out"] > 0, "the wallbox charging", mark)
    started = wait_until(lambda: red.flow_context("notifications"), 30, "a start notification")
    assert [n["text"].split(":")[0] for n in started] == ["Charging started"]
    mark = observer.mark()
    red.inject("pvc-mode-off")
    # OFF and MAX act once: the controller then shows desired_mode MANUAL (as the original does).
    observer.wait_state("controller", lambda s: s["mode"] == "OFF", "mode OFF", mark)
    stopped = observer.wait_state("wallbox", lambda s: s["phases_out"] == 0, "charging stopped", mark)
    assert not stopped["allow_charging"]
    both = wait_until(
        lambda: (n := red.flow_context("notifications")) and len(n) == 2 and n, 30, "a stop notification"
    )
    assert [n["text"].split(":")[0] for n in both] == ["Charging started", "Charging stopped"]
    assert "Error" not in red.log_path.read_text()


def test_every_mode_has_a_button_and_no_command_is_retained() -> None:
    flow = json.loads(FLOWS.read_text())
    buttons = {n["payload"]: n for n in flow if n["type"] == "inject"}
    assert set(buttons) == {"OFF", "PV_ONLY", "PV_ALL", "MAX", "MANUAL"}
    (out,) = [n for n in flow if n["type"] == "mqtt out"]
    assert (out["topic"], out["retain"]) == (f"{P}/controller/desired_mode/set", "false")
    for button in buttons.values():
        assert button["wires"] == [[out["id"]]]
    subscribed = {n["topic"] for n in flow if n["type"] == "mqtt in"}
    assert subscribed == {f"{P}/meter/state", f"{P}/wallbox/state", f"{P}/controller/state"}
    # The ACL lets nodered write the controller's commands only; the flow needs no more.
    acl = (REPO / "deploy" / "mosquitto" / "acl").read_text().split("user nodered", 1)[1]
    assert f"topic write {P}/controller/+/set" in acl
    assert f"topic read {P}/#" in acl
    assert load_yaml(REPO / "docker-compose.yml")["services"]["mosquitto"]["ports"] == ["1883:1883"]
