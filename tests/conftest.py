"""Fixtures: a real Mosquitto per session (per xdist worker), a fresh topic prefix and probe per test.

Markers set here at collection, so test files need none: `broker` on every test that uses a real
Mosquitto (the session's or its own, with a topic prefix), `process` on the modules in PROCESS_MODULES
(`scripts/test.sh --quick` leaves both out), and an
xdist group per module whose tests share a module-scoped fixture (a gateway, a Prometheus): with
`--dist loadgroup` such a module runs on one worker, so its fixture starts once, not once per worker."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.helpers import Broker, MqttProbe, free_port, own_mosquitto

# Modules whose tests start processes or tools without the shared broker (CLI exit codes, their own
# Mosquitto with TLS or an ACL, Prometheus, the Pi installer): marked `process`, not run by --quick.
PROCESS_MODULES = {
    "test_broker_acl.py",
    "test_embedded_broker_safety.py",
    "test_end_to_end.py",
    "test_mqtt_tls.py",
    "test_ops_cli_acceptance.py",
    "test_ops_home_assistant.py",
    "test_ops_monitoring.py",
    "test_ops_node_red.py",
    "test_ops_pi_install.py",
    "test_settings_and_cli.py",
    "test_safety_faults.py",
    "test_tracking_end_to_end.py",
}


# Modules that mostly wait (an installer's pip run, simulated suns, Node-RED, Prometheus) go first, so
# that under xdist they overlap with the rest instead of running alone at the end.
LONG_WAITS_FIRST = (
    "test_ops_pi_install.py",
    "test_end_to_end.py",
    "test_tracking_end_to_end.py",
    "test_ops_node_red.py",
    "test_ops_monitoring.py",
    "test_ops_cli_acceptance.py",
    "test_tracking_properties.py",
)


@pytest.hookimpl(tryfirst=True)  # before xdist's own, which reads the xdist_group marks
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.path.name not in LONG_WAITS_FIRST)  # stable: else as collected
    for item in items:
        fixture_defs = getattr(item, "_fixtureinfo", None)
        names = item.fixturenames if hasattr(item, "fixturenames") else []
        if "mqtt_broker" in names or "prefix" in names:  # a topic prefix: MQTT on some real broker
            item.add_marker(pytest.mark.broker)
        if item.path.name in PROCESS_MODULES:
            item.add_marker(pytest.mark.process)
        if fixture_defs is None or item.get_closest_marker("xdist_group"):
            continue
        shares_a_module_fixture = any(
            definition.scope in ("module", "class", "package")
            for definitions in fixture_defs.name2fixturedefs.values()
            for definition in definitions
        )
        if shares_a_module_fixture:
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::")[0]))


@pytest.fixture(scope="session")
def mqtt_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    """A real mosquitto on a free port, so the tests never touch a broker in use; one per xdist worker."""
    port = free_port()
    with own_mosquitto(port, tmp_path_factory.mktemp("mosquitto")):
        yield Broker("127.0.0.1", port)


@pytest.fixture
def prefix() -> str:
    """A topic prefix of its own for every test, so retained messages never leak between tests."""
    return f"pvctest-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def probe(mqtt_broker: Broker, prefix: str) -> Iterator[MqttProbe]:
    p = MqttProbe(mqtt_broker, prefix)
    p.start()
    yield p
    p.stop()
