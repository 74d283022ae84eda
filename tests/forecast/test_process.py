"""`pvcontrol forecast` and `pvcontrol all` as real processes on a real Mosquitto: the forecast is
published, a bad forecast setting exits 2 with one line naming it, SIGTERM ends it cleanly."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.devices.test_service_processes import config_file
from tests.fakes.openmeteo import FakeOpenMeteo
from tests.helpers import Broker, MqttProbe, free_port, running


def test_forecast_process_publishes_open_meteo_and_stops_cleanly(
    mqtt_broker: Broker, probe: MqttProbe, prefix: str, tmp_path: Path
) -> None:
    with FakeOpenMeteo() as fake:
        forecast = {"type": "OpenMeteo", "url": fake.url, "publish_interval": 0.2}
        args = ["forecast", "-c", config_file(tmp_path, {"forecast": forecast})]
        with running(args, mqtt_broker, prefix, tmp_path) as service:
            state = probe.wait_json(f"{prefix}/forecast/state", lambda s: s["source"] == "OpenMeteo")
            probe.wait_for(f"{prefix}/forecast/status", lambda m: m.payload == b"online")
            assert service.terminate() == 0, service.log()
        assert probe.last(f"{prefix}/forecast/status").payload == b"offline"  # type: ignore[union-attr]
    assert state["error"] == 0
    assert state["energy_tomorrow"] > 0
    assert len(fake.requests_to("/v1/forecast")) == 1  # one plane, one call per poll_interval (900 s)


def test_a_bad_forecast_setting_exits_2_naming_it(tmp_path: Path) -> None:
    forecast = {"type": "ForecastSolar", "planes": [{"kwp": 3}] * 4, "poll_interval": 600}
    done = subprocess.run(
        [sys.executable, "-m", "pvcontrol", "forecast", "-c", config_file(tmp_path, {"forecast": forecast})],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "pvcontrol: invalid setting forecast: Value error, 4 planes every 600 s are 24 calls an hour, "
        "over the 12 allowed: raise poll_interval and retry_interval"
    ]


def test_all_runs_the_clear_sky_forecast_by_default(
    mqtt_broker: Broker, probe: MqttProbe, prefix: str, tmp_path: Path
) -> None:
    args = ["all", "--port", str(free_port()), "--host", "127.0.0.1"]
    with running(args, mqtt_broker, prefix, tmp_path) as system:
        state = probe.wait_json(f"{prefix}/forecast/state", lambda s: True, timeout=60)
        config = probe.wait_json(f"{prefix}/forecast/config", lambda c: True)
        assert system.terminate() == 0, system.log()
    assert state["source"] == "ClearSky"
    assert state["error"] == 0
    assert config["type"] == "ClearSky"
    assert probe.last(f"{prefix}/forecast/status").payload == b"offline"  # type: ignore[union-attr]
