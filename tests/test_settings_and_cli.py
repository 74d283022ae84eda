"""Settings precedence and validation, and what every service process does the same way: exit codes, signals,
retained status and config, client ids, reconnecting after a broker restart, and its metrics endpoint."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from pvcontrol.settings import public_config
from pvcontrol_app import cli
from pvcontrol_app.settings import load_settings
from services.wallbox.simulated import SimulatedWallboxConfig, SimulatedWallboxWithRelayConfig
from tests.helpers import (
    Broker,
    MqttProbe,
    Received,
    ServiceProcess,
    free_port,
    own_mosquitto,
    running,
    wait_until,
)

# --- precedence: command line > environment > config file > defaults -------------------------------


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No PVC_* variable of the environment the tests run in leaks into the settings."""
    for name in os.environ:
        if name.upper().startswith("PVC_"):
            monkeypatch.delenv(name)
    return monkeypatch


def write_config(path: Path, document: dict[str, Any]) -> Path:
    path.write_text(json.dumps(document) if path.suffix == ".json" else yaml.safe_dump(document))
    return path


def command_line(*args: str) -> dict[str, Any]:
    return cli.overrides(cli.parser().parse_args(list(args)))


def test_defaults(clean_env: pytest.MonkeyPatch) -> None:
    settings = load_settings(None, {})
    assert settings.controller.cycle_time == 30
    assert settings.mqtt.url == "mqtt://localhost:1883"
    assert settings.mqtt.prefix == "pvcontrol"
    assert (settings.meter.type, settings.wallbox.type) == ("SimulatedMeter", "SimulatedWallboxWithRelay")
    assert (settings.car.type, settings.relay.type) == ("SimulatedCar", "SimulatedPhaseRelay")
    assert (settings.meter.metrics_port, settings.controller.metrics_port) == (9101, 9105)


@pytest.mark.parametrize("suffix", [".yaml", ".yml", ".json"])
def test_config_file_overrides_defaults(clean_env: pytest.MonkeyPatch, tmp_path: Path, suffix: str) -> None:
    config = write_config(
        tmp_path / f"pvcontrol{suffix}",
        {
            "mqtt": {"url": "mqtt://broker.local:1884"},
            "controller": {"cycle_time": 10, "power_hysteresis": 150},
            "meter": {"type": "KostalMeter", "host": "inverter.local"},
        },
    )
    settings = load_settings(config, {})
    assert settings.mqtt.url == "mqtt://broker.local:1884"
    assert (settings.controller.cycle_time, settings.controller.power_hysteresis) == (10, 150)
    assert settings.controller.stale_after == 90  # not in the file: the default
    assert settings.meter.type == "KostalMeter"
    assert getattr(settings.meter, "host", None) == "inverter.local"


def test_environment_overrides_config_file(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "pvcontrol.yaml", {"controller": {"cycle_time": 10, "power_hysteresis": 150}}
    )
    clean_env.setenv("PVC_CONTROLLER__CYCLE_TIME", "3")
    clean_env.setenv("pvc_controller__enable_auto_phase_switching", "false")
    settings = load_settings(config, {})
    assert settings.controller.cycle_time == 3
    assert settings.controller.enable_auto_phase_switching is False
    assert settings.controller.power_hysteresis == 150  # the rest of the file's section is kept


def test_command_line_overrides_environment_and_config_file(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = write_config(
        tmp_path / "pvcontrol.yaml",
        {"mqtt": {"url": "mqtt://file:1883"}, "wallbox": {"type": "SimulatedWallbox", "phases": 1}},
    )
    clean_env.setenv("PVC_MQTT__URL", "mqtt://env:1883")
    clean_env.setenv("PVC_WALLBOX__TYPE", "SimulatedWallboxWithRelay")
    clean_env.setenv("PVC_WALLBOX__METRICS_PORT", "9200")

    assert load_settings(config, {}).mqtt.url == "mqtt://env:1883"
    overrides = command_line(
        "wallbox", "--mqtt", "mqtt://cli:1883", "-w", "SimulatedWallbox", "--metrics-port", "0"
    )
    settings = load_settings(config, overrides)
    assert settings.mqtt.url == "mqtt://cli:1883"
    assert settings.wallbox.metrics_port == 0
    assert type(settings.wallbox) is SimulatedWallboxConfig
    assert settings.wallbox.phases == 1  # from the file: the command line only chose the type


def test_environment_chooses_the_device_type(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("PVC_WALLBOX__TYPE", "SimulatedWallbox")
    assert type(load_settings(None, {}).wallbox) is SimulatedWallboxConfig
    clean_env.delenv("PVC_WALLBOX__TYPE")
    assert type(load_settings(None, {}).wallbox) is SimulatedWallboxWithRelayConfig


@pytest.mark.parametrize(
    ("section", "document"),
    [
        ("meter", {"type": "SmaTripowerMeter", "url": "https://sma.local", "password": "s3cret-value"}),
        (
            "car",
            {"type": "VolkswagenIDCar", "user": "me@example.com", "password": "s3cret-value", "vin": "V1"},
        ),
        ("car", {"type": "SkodaCar", "api_key": "s3cret-value", "vin": "V1"}),
    ],
)
def test_public_config_has_the_type_and_no_secrets(
    clean_env: pytest.MonkeyPatch, tmp_path: Path, section: str, document: dict[str, Any]
) -> None:
    settings = load_settings(write_config(tmp_path / "pvcontrol.yaml", {section: document}), {})
    public = public_config(getattr(settings, section))
    assert public["type"] == document["type"]
    assert "s3cret-value" not in json.dumps(public)
    assert "password" not in public
    assert "api_key" not in public
    assert public["poll_interval"] > 0  # the rest of the effective configuration is there


# --- a bad configuration stops the program at start ----------------------------------------------


def run_pvcontrol(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m pvcontrol <args>` to its end; a configuration accepted by mistake times out."""
    clean = {k: v for k, v in os.environ.items() if not k.upper().startswith("PVC_")}
    return subprocess.run(
        [sys.executable, "-m", "pvcontrol", *args, "--metrics-port", "0"],
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )


def bad(service: str, name: str, content: str, named: str, case: str) -> Any:
    return pytest.param(service, name, content, named, id=case)


BAD_CONFIG_FILES = [
    bad("controller", "bad.yaml", "controller:\n  bogus: 1\n", "controller.bogus", "unknown-key"),
    bad("controller", "bad.yaml", "Controller:\n  cycle_time: 1\n", "Controller", "unknown-section"),
    bad(
        "meter", "bad.yaml", "meter:\n  host: h\n  type: KostalMeter\n  Port: 1\n", "meter.Port", "device-key"
    ),
    bad("controller", "bad.yaml", "controller:\n  cycle_time: fast\n", "controller.cycle_time", "wrong-type"),
    bad("controller", "bad.yaml", "controller:\n  cycle_time: -1\n", "controller.cycle_time", "negative"),
    bad("controller", "bad.yaml", "mqtt:\n  url: http://broker:1883\n", "mqtt.url", "mqtt-url"),
    bad("meter", "bad.yaml", "meter:\n  type: FooMeter\n", "meter.type", "unknown-device-type"),
    bad("meter", "bad.yaml", "meter:\n  type: KostalMeter\n", "meter.host", "missing-required"),
    bad(
        "wallbox",
        "bad.json",
        '{"wallbox": {"max_supported_current": 99}}',
        "wallbox.max_supported_current",
        "json",
    ),
    bad("relay", "bad.yml", "relay:\n  phase_relay_type: XX\n", "relay.phase_relay_type", "enum"),
    bad("controller", "bad.yaml", "controller: [1, 2\n", "not valid JSON/YAML", "invalid-yaml"),
    bad("controller", "bad.json", '{"controller": {"cycle_time": 1}', "not valid JSON/YAML", "invalid-json"),
    bad("controller", "bad.yaml", "- controller\n", "must hold a mapping", "not-a-mapping"),
]


@pytest.mark.parametrize(("service", "name", "content", "named"), BAD_CONFIG_FILES)
def test_bad_config_file_exits_with_code_2_and_one_line_naming_it(
    tmp_path: Path, service: str, name: str, content: str, named: str
) -> None:
    config = tmp_path / name
    config.write_text(content)
    result = run_pvcontrol([service, "-c", str(config)])
    assert_rejected(result, named)


@pytest.mark.parametrize(
    ("args", "env", "named"),
    [
        (["relay"], {"PVC_RELAY__STALE_AFTER": "-5"}, "relay.stale_after"),
        (["controller"], {"PVC_CONTROLLER__CYCLE_TIME": "abc"}, "controller.cycle_time"),
        (["meter", "--meter", "FooMeter"], {}, "meter.type"),
        (["controller", "--mqtt", "mqtt://"], {}, "mqtt.url"),
    ],
)
def test_bad_environment_or_command_line_exits_with_code_2(
    args: list[str], env: dict[str, str], named: str
) -> None:
    assert_rejected(run_pvcontrol(args, env), named)


def test_unreadable_config_file_exits_with_code_2(tmp_path: Path) -> None:
    assert_rejected(run_pvcontrol(["controller", "-c", str(tmp_path / "missing.yaml")]), "cannot read")
    assert_rejected(run_pvcontrol(["controller", "-c", str(tmp_path)]), "cannot read")
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfe\x00controller")
    assert_rejected(run_pvcontrol(["controller", "-c", str(binary)]), "not UTF-8")


def assert_rejected(result: subprocess.CompletedProcess[str], named: str) -> None:
    assert result.returncode == 2, result.stderr
    message = result.stderr.strip()
    assert "\n" not in message, message
    assert message.startswith("pvcontrol: ")
    assert named in message
    assert "Traceback" not in result.stderr


# --- running services ----------------------------------------------------------------------------


def retained(broker: Broker, prefix: str, topic: str, timeout: float = 5) -> Received:
    """What a client subscribing now gets as the retained message of `topic`."""
    late = MqttProbe(broker, prefix)
    late.start()
    try:
        return late.wait_for(topic, lambda m: m.retain, timeout=timeout)
    finally:
        late.stop()


def wait_online(probe: MqttProbe, prefix: str, service: str) -> None:
    probe.wait_for(f"{prefix}/{service}/status", lambda m: m.payload == b"online")


@pytest.mark.parametrize(
    ("service", "sig"),
    [
        ("meter", signal.SIGTERM),
        ("wallbox", signal.SIGTERM),
        ("car", signal.SIGTERM),
        ("relay", signal.SIGINT),
    ],
)
def test_signal_stops_the_service_cleanly(
    probe: MqttProbe, prefix: str, mqtt_broker: Broker, tmp_path: Path, service: str, sig: int
) -> None:
    with running([service], mqtt_broker, prefix, tmp_path) as process:
        wait_online(probe, prefix, service)
        probe.wait_for(f"{prefix}/{service}/state")
        started = time.monotonic()
        assert process.terminate(sig) == 0
        assert time.monotonic() - started < 5
    assert retained(mqtt_broker, prefix, f"{prefix}/{service}/status").payload == b"offline"
    assert retained(mqtt_broker, prefix, f"{prefix}/{service}/state").json()["ts"] > 0
    assert "Traceback" not in process.log()


def test_publishes_its_effective_config_retained(
    probe: MqttProbe, prefix: str, mqtt_broker: Broker, tmp_path: Path
) -> None:
    config_file = write_config(tmp_path / "pvcontrol.yaml", {"meter": {"pv_max": 4000, "poll_interval": 9}})
    env = {"PVC_METER__POLL_INTERVAL": "0.5"}
    with running(["meter", "-c", str(config_file)], mqtt_broker, prefix, tmp_path, env):
        wait_online(probe, prefix, "meter")
        config = retained(mqtt_broker, prefix, f"{prefix}/meter/config").json()
    assert config["type"] == "SimulatedMeter"
    assert (config["pv_max"], config["poll_interval"]) == (4000, 0.5)


def test_config_of_a_real_meter_is_published_without_its_password(
    probe: MqttProbe, prefix: str, mqtt_broker: Broker, tmp_path: Path
) -> None:
    """No inverter answers (nothing listens on the port), so the meter reports read failures."""
    env = {
        "PVC_METER__TYPE": "SmaTripowerMeter",
        "PVC_METER__URL": f"https://127.0.0.1:{free_port()}",
        "PVC_METER__PASSWORD": "s3cret-value",
        "PVC_METER__POLL_INTERVAL": "0.5",
        "PVC_METER__TIMEOUT": "1",
    }
    with running(["meter"], mqtt_broker, prefix, tmp_path, env) as process:
        failing = probe.wait_json(f"{prefix}/meter/state", lambda s: s["error"] >= 2)
        config = retained(mqtt_broker, prefix, f"{prefix}/meter/config")
        assert process.proc.poll() is None
    assert config.json()["type"] == "SmaTripowerMeter"
    assert b"s3cret" not in config.payload
    assert failing["power_pv"] == 0
    assert "s3cret" not in process.log()


def test_each_process_has_its_own_client_id(
    probe: MqttProbe, prefix: str, mqtt_broker: Broker, tmp_path: Path
) -> None:
    pattern = re.compile(rf"connected to {re.escape(mqtt_broker.url)} as (pvcontrol-meter-[0-9a-z]+)\n")
    env = {"PVC_METER__POLL_INTERVAL": "0.2"}
    with (
        running(["meter"], mqtt_broker, prefix, tmp_path, env) as first,
        running(["meter"], mqtt_broker, prefix, tmp_path, env) as second,
    ):
        ids = [client_id(pattern, process) for process in (first, second)]
        assert ids[0] != ids[1]
        # A duplicate id would make the broker drop the older connection: both stay connected.
        mark = probe.mark()
        probe.wait_for(
            f"{prefix}/meter/state", lambda _: len(probe.since(mark, f"{prefix}/meter/state")) >= 4
        )
        assert "disconnected" not in first.log() + second.log()
        assert "unreachable" not in first.log() + second.log()


def client_id(pattern: re.Pattern[str], process: ServiceProcess) -> str:
    found = wait_until(lambda: pattern.search(process.log()), 15, "the connected line in the log")
    return found.group(1)


# --- reconnecting -------------------------------------------------------------------------------


def test_reconnects_after_a_broker_restart_and_publishes_everything_again(
    prefix: str, tmp_path: Path
) -> None:
    broker = Broker("127.0.0.1", free_port())
    env = {"PVC_RELAY__PUBLISH_INTERVAL": "3600"}  # the state after the restart can only be a re-publish
    with (
        own_mosquitto(broker.port, tmp_path) as mosquitto,
        running(["relay", "--relay", "SimulatedPhaseRelay"], broker, prefix, tmp_path, env) as relay,
    ):
        probe = MqttProbe(broker, prefix)
        probe.start()
        try:
            wait_online(probe, prefix, "relay")
            probe.publish_json(f"{prefix}/wallbox/state", {"ts": time.time(), "phases_out": 0, "power": 0})
            probe.publish(f"{prefix}/relay/phases/set", "3")
            probe.wait_json(f"{prefix}/relay/state", lambda s: s["phases"] == 3)
        finally:
            probe.stop()
        mosquitto.kill()
        mosquitto.wait(10)

        with own_mosquitto(broker.port, tmp_path):
            # The service may be back before or after this probe subscribes: live or retained, both count.
            after = MqttProbe(broker, prefix)
            after.start()
            try:
                after.wait_for(f"{prefix}/relay/status", lambda m: m.payload == b"online", timeout=35)
                after.wait_json(f"{prefix}/relay/state", lambda s: s["phases"] == 3)
                after.wait_json(f"{prefix}/relay/config", lambda c: c["type"] == "SimulatedPhaseRelay")
            finally:
                after.stop()
            for topic in ("status", "state", "config"):
                retained(broker, prefix, f"{prefix}/relay/{topic}")
            assert relay.proc.poll() is None
    assert "unreachable" in relay.log()


# --- metrics -------------------------------------------------------------------------------------


def metrics_with(port: int, sample: str) -> str | None:
    """The metrics text of the service on `port` once it has `sample`."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as response:
            text: str = response.read().decode()
    except OSError:
        return None
    return text if sample in text else None


def test_serves_prometheus_metrics(
    probe: MqttProbe, prefix: str, mqtt_broker: Broker, tmp_path: Path
) -> None:
    port = free_port()
    sent = 'pvcontrol_mqtt_messages_total{direction="out",service="meter"}'
    env = {"PVC_METER__POLL_INTERVAL": "0.2"}
    with running(["meter", "--metrics-port", str(port)], mqtt_broker, prefix, tmp_path, env):
        probe.wait_for(f"{prefix}/meter/state")
        text = wait_until(lambda: metrics_with(port, sent), 15, "metrics of messages sent")
    assert 'pvcontrol_mqtt_connected{service="meter"} 1.0' in text
    assert re.search(r'^pvcontrol_meter_power_watts\{source="pv"\} [0-9.e+-]+$', text, re.M)
    assert re.search(r"^pvcontrol_meter_power_consumption_total_watts [1-9]", text, re.M)
    assert 'pvcontrol_error{service="meter"} 0.0' in text


def test_metrics_port_in_use_is_logged_once_and_the_service_keeps_running(
    probe: MqttProbe, prefix: str, mqtt_broker: Broker, tmp_path: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))  # where the metrics server binds
        taken.listen()
        port = taken.getsockname()[1]
        env = {"PVC_METER__POLL_INTERVAL": "0.2"}
        with running(["meter", "--metrics-port", str(port)], mqtt_broker, prefix, tmp_path, env) as meter:
            wait_online(probe, prefix, "meter")
            probe.wait_for(f"{prefix}/meter/state", lambda _: len(probe.on(f"{prefix}/meter/state")) >= 3)
            assert meter.proc.poll() is None
            assert meter.log().count(f"metrics port {port} not available") == 1
