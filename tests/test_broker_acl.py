"""The broker's access control list (deploy/mosquitto/acl) on a real Mosquitto with real clients.

Every user logs in with a password made by `mosquitto_passwd`; a message a user may not publish is dropped by
the broker. "Never arrives" is shown without waiting for a time: the forged message is published (QoS 1, so
the broker has handled it when the PUBACK comes), then a marker that is allowed; once the marker is seen, a
forged message that had got through would have been seen before it.
"""

from __future__ import annotations

import json
import secrets
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tests.custom_mosquitto import BrokerAt, connect_result, custom_mosquitto, deployed_config, password_file
from tests.helpers import Broker, free_port, running, wait_until

P = "pvcontrol"  # the prefix the ACL is written for; the broker is private to this module
SERVICES = ("meter", "wallbox", "car", "relay", "controller", "forecast", "tariff", "api")
USERS = (*SERVICES, "homeassistant", "nodered")


CONTROLLER_SETTINGS = ("desired_mode", "phase_mode", "desired_priority")
WALLBOX_COMMANDS = ("max_current", "allow_charging", "reset", "phases", "car_status")


def own(service: str) -> set[str]:
    return {f"{P}/{service}/{kind}" for kind in ("status", "state", "config", "error")}


CONTROLLER_COMMANDS = {
    f"{P}/controller/{name}/set" for name in ("desired_mode", "phase_mode", "desired_priority")
}
# The policy of issue 7, written down independently of the ACL file: who may publish where (MQTT filters).
MAY_WRITE: dict[str, set[str]] = {
    "meter": {f"{P}/meter/#"},
    "wallbox": own("wallbox"),
    "car": own("car"),
    "relay": own("relay"),
    "controller": own("controller")
    | {f"{P}/wallbox/{name}/set" for name in ("max_current", "allow_charging", "reset", "phases")}
    | {f"{P}/relay/phases/set"},
    "forecast": own("forecast"),
    "tariff": own("tariff"),
    "api": own("api")
    | {f"{P}/state", "homeassistant/#", f"{P}/wallbox/car_status/set"}
    | CONTROLLER_COMMANDS,
    "homeassistant": CONTROLLER_COMMANDS,
    "nodered": CONTROLLER_COMMANDS,
}
MAY_READ: dict[str, set[str]] = {
    "meter": {f"{P}/meter/#", f"{P}/wallbox/state"},
    "wallbox": own("wallbox") | {f"{P}/wallbox/+/set", f"{P}/relay/state", f"{P}/controller/state"},
    "car": own("car") | {f"{P}/wallbox/state"},
    "relay": own("relay") | {f"{P}/relay/phases/set", f"{P}/wallbox/state"},
    "controller": {f"{P}/#"},
    "forecast": own("forecast") | {f"{P}/meter/state"},
    "tariff": own("tariff"),
    "api": {f"{P}/#", "homeassistant/#"},  # its own discovery documents, to remove the pre-prefix ones
    "homeassistant": {f"{P}/#", "homeassistant/#"},
    "nodered": {f"{P}/#"},
}
COMMANDS = [
    *(
        f"{P}/wallbox/{name}/set"
        for name in ("max_current", "allow_charging", "reset", "phases", "car_status")
    ),
    f"{P}/relay/phases/set",
    *sorted(CONTROLLER_COMMANDS),
]
TOPICS = [
    *(topic for service in SERVICES for topic in sorted(own(service))),
    *COMMANDS,
    f"{P}/state",
    f"{P}/meter/extra",
    f"{P}/unknown/state",
    "homeassistant/select/pvcontrol_desired_mode/config",
    "homeassistant/status",
    "elsewhere/topic",
]


def allowed(rules: set[str], topic: str) -> bool:
    return any(paho.topic_matches_sub(rule, topic) for rule in rules)


def marker_topic(user: str) -> str:
    """A topic `user` may both publish and receive."""
    return f"{P}/{user}/error" if user in SERVICES else f"{P}/controller/desired_priority/set"


@dataclass
class AclBroker:
    port: int
    passwords: dict[str, str]

    @property
    def broker(self) -> Broker:
        return Broker("127.0.0.1", self.port)


@pytest.fixture(scope="module")
def acl_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AclBroker]:
    workdir = tmp_path_factory.mktemp("acl-broker")
    passwords = {user: secrets.token_urlsafe(12) for user in USERS}
    port = free_port()
    config = deployed_config(port, password_file(workdir / "passwd", passwords))
    with custom_mosquitto(config, [port], workdir):
        yield AclBroker(port, passwords)


@dataclass
class Client:
    """A logged-in MQTT client that records what it receives."""

    user: str
    received: list[tuple[str, bytes]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _paho: paho.Client | None = None

    def connect(self, broker: AclBroker) -> Client:
        client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"{self.user}-{uuid.uuid4().hex[:8]}")
        client.username_pw_set(self.user, broker.passwords[self.user])
        connected = threading.Event()
        client.on_connect = lambda *_: connected.set()
        client.on_message = lambda _c, _u, msg: self._record(msg.topic, bytes(msg.payload))
        client.connect("127.0.0.1", broker.port)
        client.loop_start()
        self._paho = client
        wait_until(connected.is_set, 10, f"{self.user} connected")
        return self

    def _record(self, topic: str, payload: bytes) -> None:
        with self._lock:
            self.received.append((topic, payload))

    def subscribe(self, *topics: str) -> None:
        assert self._paho is not None
        done = threading.Event()
        self._paho.on_subscribe = lambda *_: done.set()
        self._paho.subscribe([(topic, 1) for topic in topics])
        wait_until(done.is_set, 10, f"{self.user} subscribed")

    def publish(self, topic: str, payload: str, retain: bool = False) -> None:
        """QoS 1: back from here, the broker has delivered or dropped the message."""
        assert self._paho is not None
        self._paho.publish(topic, payload, qos=1, retain=retain).wait_for_publish(10)

    def payloads(self, topic: str | None = None) -> list[bytes]:
        with self._lock:
            return [p for t, p in self.received if topic is None or t == topic]

    def wait_for(self, payload: str) -> None:
        wait_until(lambda: payload.encode() in self.payloads(), 10, f"{payload} at {self.user}")

    def close(self) -> None:
        if self._paho is not None:
            self._paho.disconnect()
            self._paho.loop_stop()


@pytest.fixture
def clients(acl_broker: AclBroker) -> Iterator[dict[str, Client]]:
    """One connected client per user (the observer reads everything: Home Assistant's user)."""
    connected = {user: Client(user).connect(acl_broker) for user in USERS}
    connected["observer"] = Client("homeassistant").connect(acl_broker)
    connected["observer"].subscribe(f"{P}/#", "homeassistant/#")
    yield connected
    for client in connected.values():
        client.close()


def token(what: str) -> str:
    return f"{what}-{uuid.uuid4().hex[:10]}"


# --- logging in ------------------------------------------------------------------------------------


def test_anonymous_clients_and_wrong_passwords_are_refused(acl_broker: AclBroker) -> None:
    assert connect_result(acl_broker.port) == "Not authorized"
    assert connect_result(acl_broker.port, "wallbox", "guess") == "Not authorized"
    assert connect_result(acl_broker.port, "nobody", acl_broker.passwords["wallbox"]) == "Not authorized"
    assert connect_result(acl_broker.port, "wallbox", acl_broker.passwords["wallbox"]) == "Success"


# --- forged wallbox state ---------------------------------------------------------------------------


@pytest.mark.parametrize("forger", [u for u in USERS if u != "wallbox"])
def test_a_forged_wallbox_state_is_dropped(
    clients: dict[str, Client], acl_broker: AclBroker, forger: str
) -> None:
    topic = f"{P}/wallbox/state"
    observer = clients["observer"]
    genuine = token("genuine")
    clients["wallbox"].publish(topic, genuine, retain=True)

    # The forged state first, then the wallbox's own on the same topic: the forged one would come first.
    forged, marker = token("forged"), token("marker")
    clients[forger].publish(topic, forged, retain=True)
    clients["wallbox"].publish(topic, marker)
    observer.wait_for(marker)
    assert forged.encode() not in observer.payloads()

    # The same with the forger's own marker on a topic it may write (one publisher: MQTT keeps the order).
    forged_again, own_marker = token("forged"), token("marker")
    clients[forger].publish(topic, forged_again)
    clients[forger].publish(marker_topic(forger), own_marker)
    observer.wait_for(own_marker)
    assert forged_again.encode() not in observer.payloads()

    # Nor did the broker keep the forged one as the retained state a restarting service gets.
    late = Client("relay").connect(acl_broker)
    try:
        late.subscribe(topic)
        late.wait_for(genuine)
        assert late.payloads(topic) == [genuine.encode()]
    finally:
        late.close()


# --- phase relay commands -------------------------------------------------------------------------


@pytest.mark.parametrize("sender", [u for u in USERS if u != "controller"])
def test_a_phase_command_from_anyone_but_the_controller_is_dropped(
    clients: dict[str, Client], sender: str
) -> None:
    topic = f"{P}/relay/phases/set"
    relay, observer = clients["relay"], clients["observer"]
    relay.subscribe(topic)  # the relay service's own subscription
    forged, marker = token("3"), token("1")
    clients[sender].publish(topic, forged)
    clients["controller"].publish(topic, marker)
    relay.wait_for(marker)
    observer.wait_for(marker)
    assert forged.encode() not in relay.payloads() + observer.payloads()

    forged_again, own_marker = token("3"), token("marker")
    clients[sender].publish(topic, forged_again)
    clients[sender].publish(marker_topic(sender), own_marker)
    observer.wait_for(own_marker)
    assert forged_again.encode() not in observer.payloads()


# --- the whole policy -----------------------------------------------------------------------------


def test_every_user_publishes_only_where_the_policy_allows(clients: dict[str, Client]) -> None:
    observer = clients["observer"]
    run = token("write")
    for user in USERS:
        for topic in TOPICS:
            clients[user].publish(topic, f"{run}|{user}|{topic}")
        marker = token("marker")
        clients[user].publish(marker_topic(user), marker)
        observer.wait_for(marker)
    arrived = set()
    for payload in observer.payloads():
        parts = payload.decode().split("|")
        if parts[0] == run:
            arrived.add((parts[1], parts[2]))
    expected = {(user, topic) for user in USERS for topic in TOPICS if allowed(MAY_WRITE[user], topic)}
    # The observer reads pvcontrol/# and homeassistant/# only: elsewhere/topic is out of its sight.
    expected = {(user, topic) for user, topic in expected if allowed(MAY_READ["homeassistant"], topic)}
    assert arrived == expected


def test_every_user_receives_only_what_the_policy_allows(clients: dict[str, Client]) -> None:
    """Each user subscribes to everything; the broker delivers only what it may read. The broker handles
    one message after the other, so a message published (and acknowledged) before a reader's own marker
    has been delivered to it before that marker."""
    readers = {user: clients[user] for user in USERS}
    for reader in readers.values():
        reader.subscribe(f"{P}/#", "homeassistant/#", "#")
    run = token("read")
    writable = {
        topic: next(u for u in USERS if allowed(MAY_WRITE[u], topic))
        for topic in TOPICS
        if any(allowed(MAY_WRITE[u], topic) for u in USERS)
    }
    for topic, writer in writable.items():
        clients[writer].publish(topic, f"{run}|{topic}")
    for user, reader in readers.items():
        marker = token("marker")
        reader.publish(marker_topic(user), marker)
        reader.wait_for(marker)
        seen = {p.decode().split("|")[1] for p in reader.payloads() if p.decode().startswith(f"{run}|")}
        assert seen == {topic for topic in writable if allowed(MAY_READ[user], topic)}, user


# --- real services under the ACL ------------------------------------------------------------------


def test_the_services_work_with_their_own_users(acl_broker: AclBroker, tmp_path: Path) -> None:
    """The relay with its password in the URL, the wallbox with user and password from the environment (as
    deployed); the controller's commands reach them and they hear each other's state."""
    broker = acl_broker.broker
    relay_url = f"mqtt://relay:{acl_broker.passwords['relay']}@127.0.0.1:{acl_broker.port}"
    wallbox_env = {
        "PVC_MQTT__USERNAME": "wallbox",
        "PVC_MQTT__PASSWORD": acl_broker.passwords["wallbox"],
        "PVC_WALLBOX__POLL_INTERVAL": "0.2",
    }
    observer = Client("controller").connect(acl_broker)
    controller = Client("controller").connect(acl_broker)
    try:
        observer.subscribe(f"{P}/#")
        with (
            running(["wallbox"], broker, P, tmp_path, wallbox_env) as wallbox,
            running(
                ["relay", "--relay", "SimulatedPhaseRelay"],
                BrokerAt("127.0.0.1", acl_broker.port, relay_url),
                P,
                tmp_path,
                {"PVC_RELAY__IDLE_SETTLE": "0"},
            ) as relay,
        ):
            wait_json(observer, f"{P}/relay/status", lambda _: True, raw=b"online")
            wait_json(observer, f"{P}/wallbox/status", lambda _: True, raw=b"online")
            wait_json(observer, f"{P}/wallbox/state", lambda s: s["power"] == 0)
            controller.publish(f"{P}/relay/phases/set", "1")
            wait_json(observer, f"{P}/relay/state", lambda s: s["phases"] == 1)
            # The wallbox reads the relay's state: its phases follow the relay.
            wait_json(observer, f"{P}/wallbox/state", lambda s: s["phases_in"] == 1)
            controller.publish(f"{P}/wallbox/max_current/set", "10")
            wait_json(observer, f"{P}/wallbox/state", lambda s: s["max_current"] == 10)
            for process in (wallbox, relay):
                assert process.proc.poll() is None
                assert "unreachable" not in process.log()
                assert "Traceback" not in process.log()
            assert acl_broker.passwords["relay"] not in relay.log()
    finally:
        observer.close()
        controller.close()


def wait_json(client: Client, topic: str, predicate: Callable[[Any], bool], raw: bytes | None = None) -> None:
    """Wait until `client` got a message on `topic` that is `raw`, or JSON matching `predicate`."""

    def matches(payload: bytes) -> bool:
        if raw is not None:
            return payload == raw
        try:
            return bool(predicate(json.loads(payload)))
        except (ValueError, KeyError, TypeError):
            return False

    wait_until(lambda: any(matches(p) for p in client.payloads(topic)), 20, f"a matching message on {topic}")
