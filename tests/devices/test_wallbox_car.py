"""WallboxCar: no car API, the SOC unknown (`soc_known` false), the session's energy as the wallbox counts
it. The adapter at unit level with injected clocks, the car service's gauge, Home Assistant's SOC sensor,
and `pvcontrol car --car WallboxCar` as a process following wallbox states published on a real Mosquitto."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY, generate_latest

from pvcontrol.broker import BrokerAddress
from pvcontrol.device import DeviceError
from pvcontrol.models import CarData, CarStatus, WallboxData
from pvcontrol.topics import Topics
from pvcontrol_app.settings import load_settings
from services.api.discovery import documents
from services.api.history.sessions import step
from services.car.factory import create_car
from services.car.service import CarService
from services.car.simulated import NoCar
from services.car.wallbox_car import WallboxCar, WallboxCarConfig
from tests.helpers import Broker, MqttProbe, running, wait_until

NOW = 1_800_000_000.0


class Clocks:
    def __init__(self) -> None:
        self.wall = NOW
        self.mono = 100.0

    def advance(self, seconds: float) -> None:
        self.wall += seconds
        self.mono += seconds


def car(clocks: Clocks, **settings: Any) -> WallboxCar:
    return WallboxCar(WallboxCarConfig(**settings), lambda: clocks.wall, lambda: clocks.mono)


def wallbox(clocks: Clocks, **values: Any) -> WallboxData:
    return WallboxData(**{"ts": clocks.wall, "car_status": CarStatus.Charging, **values})


def read(adapter: WallboxCar) -> CarData:
    return asyncio.run(adapter.read())


# --- the adapter ------------------------------------------------------------------------------------


def test_the_soc_is_unknown_and_the_session_energy_follows_the_wallbox() -> None:
    clocks = Clocks()
    adapter = car(clocks)
    assert not adapter.wakes_the_car
    before = read(adapter)  # no wallbox state yet: nothing known, no error either
    assert (before.soc_known, before.session_energy, before.error, before.ts) == (False, None, 0, NOW)

    for charged in (0.0, 1250.5, 4000.0, 0.0, 300.0):  # 0.0: a new session, reset by the wallbox
        adapter.on_wallbox_state(wallbox(clocks, charged_energy=charged))
        clocks.advance(5)
        data = read(adapter)
        assert (data.soc_known, data.session_energy, data.soc) == (False, charged, 0.0)
    assert '"soc_known":false' in data.model_dump_json()


def test_a_bad_or_failing_wallbox_state_changes_nothing_and_is_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clocks = Clocks()
    adapter = car(clocks)
    adapter.on_wallbox_state(wallbox(clocks, charged_energy=2000.0))
    caplog.set_level(logging.INFO, "pvcontrol.car.wallbox")
    for _ in range(3):  # one line when the problem changes, not one per state
        adapter.on_wallbox_state(wallbox(clocks, charged_energy=-50.0))
    for _ in range(3):
        adapter.on_wallbox_state(wallbox(clocks, charged_energy=9999.0, error=2))
    adapter.on_wallbox_state(wallbox(clocks, charged_energy=7777.0, ts=clocks.wall + 60))
    assert read(adapter).session_energy == 2000.0
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 3
    assert "charged_energy -50 Wh is negative" in warnings[0]
    assert "the wallbox reports 2 failed reads" in warnings[1]
    assert "60 s in the future" in warnings[2]

    caplog.clear()
    adapter.on_wallbox_state(wallbox(clocks, charged_energy=2100.0))
    adapter.on_wallbox_state(wallbox(clocks, charged_energy=2200.0))
    assert [r.getMessage() for r in caplog.records] == ["wallbox state usable again"]
    assert read(adapter).session_energy == 2200.0


def test_a_silent_wallbox_is_a_read_error_until_it_speaks_again() -> None:
    clocks = Clocks()
    adapter = car(clocks, stale_after=30)
    adapter.on_wallbox_state(wallbox(clocks, charged_energy=500.0))
    clocks.advance(30)
    assert read(adapter).session_energy == 500.0
    clocks.advance(1)
    with pytest.raises(DeviceError, match="no good wallbox state for 31 s"):
        read(adapter)
    adapter.on_wallbox_state(wallbox(clocks, charged_energy=0.0, error=1))  # not a good one
    with pytest.raises(DeviceError):
        read(adapter)
    adapter.on_wallbox_state(wallbox(clocks, charged_energy=600.0))
    assert read(adapter).session_energy == 600.0


def test_settings_select_it_by_name() -> None:
    settings = load_settings(None, {"car": {"type": "WallboxCar", "stale_after": 120}})
    assert isinstance(settings.car, WallboxCarConfig)
    assert (settings.car.poll_interval, settings.car.stale_after) == (5.0, 120.0)
    assert isinstance(create_car(settings.car), WallboxCar)
    with pytest.raises(ValueError, match="stale_after"):
        load_settings(None, {"car": {"type": "WallboxCar", "stale_after": 0}})


def test_no_car_says_its_soc_is_unknown_too() -> None:
    data = asyncio.run(NoCar(clock=lambda: NOW).read())
    assert (data.soc_known, data.session_energy) == (False, None)


# --- what the state document means to its readers ---------------------------------------------------


@pytest.mark.parametrize(
    ("document", "known"),
    [
        pytest.param('{"soc": 0}', False, id="original-contract-0-means-unknown"),
        pytest.param('{"soc": 64.5}', True, id="original-contract-soc"),
        pytest.param('{"soc": 0, "soc_known": true}', True, id="a-real-empty-battery"),
        pytest.param('{"soc": 0, "soc_known": false, "session_energy": 1200}', False, id="wallbox-car"),
    ],
)
def test_a_car_document_says_whether_its_soc_is_known(document: str, known: bool) -> None:
    assert CarData.model_validate_json(document).soc_known is known


def test_a_negative_session_energy_is_no_car_document() -> None:
    with pytest.raises(ValueError, match="session_energy"):
        CarData.model_validate_json('{"soc_known": false, "session_energy": -1}')


def test_a_charging_session_records_no_soc_the_car_does_not_know() -> None:
    unknown = CarData(ts=NOW, soc=55, soc_known=False, session_energy=0)
    plugged = WallboxData(ts=NOW, car_status=CarStatus.WaitingForVehicle)
    session = step(None, plugged, None, unknown, at=NOW)
    assert session is not None
    assert (session.soc_start, session.soc_end) == (None, None)
    session = step(session, plugged, None, CarData(ts=NOW, soc=55), at=NOW + 30)
    assert session is not None
    assert (session.soc_start, session.soc_end) == (55, 55)


def test_the_soc_and_range_gauges_are_nan_when_the_soc_is_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    """Not 0 (an empty battery) nor the last known SOC: no value (NaN, which Grafana shows as none)."""
    config = WallboxCarConfig()
    service = CarService(config, WallboxCar(config), BrokerAddress("127.0.0.1", 1), Topics("test-gauge"))
    published: list[CarData] = []

    async def publish_state(state: CarData) -> None:
        published.append(state)

    monkeypatch.setattr(service, "publish_state", publish_state)

    def gauge() -> float | None:
        return REGISTRY.get_sample_value("pvcontrol_car_soc_ratio")

    asyncio.run(service._publish(CarData(ts=NOW, soc=64.0)))
    assert gauge() == pytest.approx(0.64)
    asyncio.run(service._publish(CarData(ts=NOW, soc_known=False, session_energy=800.0)))
    value = gauge()
    assert value is not None
    assert math.isnan(value)
    assert "\npvcontrol_car_soc_ratio NaN\n" in generate_latest(REGISTRY).decode()
    assert "\npvcontrol_car_cruising_range_km NaN\n" in generate_latest(REGISTRY).decode()
    asyncio.run(service._publish(CarData(ts=NOW, soc=65.0)))
    assert gauge() == pytest.approx(0.65)
    assert len(published) == 3


def test_home_assistant_shows_an_unknown_soc_as_unknown() -> None:
    configs = dict(documents(Topics("P"), phase_select=False))
    soc = configs["homeassistant/sensor/P/pvcontrol_car_soc/config"]  # per-prefix discovery topics
    # Home Assistant's MQTT sensor sets its state to unknown when the template renders None.
    assert soc["value_template"] == "{{ value_json.soc if value_json.soc_known | default(true) else none }}"
    assert soc["state_topic"] == "P/car/state"
    power = configs["homeassistant/sensor/P/pvcontrol_power_pv/config"]
    assert power["value_template"] == "{{ value_json.power_pv }}"


# --- the car service process -------------------------------------------------------------------------


def test_car_process_reports_the_session_energy_and_an_unknown_soc(
    mqtt_broker: Broker, probe: MqttProbe, prefix: str, tmp_path: Path
) -> None:
    env = {"PVC_CAR__POLL_INTERVAL": "0.2", "PVC_CAR__STALE_AFTER": "2"}
    wallbox_topic, car_topic = f"{prefix}/wallbox/state", f"{prefix}/car/state"

    def publish_wallbox(charged: float, status: CarStatus = CarStatus.Charging) -> None:
        document = {"ts": time.time(), "car_status": status, "charged_energy": charged}
        probe.publish_json(wallbox_topic, document)

    with running(["car", "--car", "WallboxCar"], mqtt_broker, prefix, tmp_path, env) as service:
        first = probe.wait_json(car_topic, lambda s: True)
        assert (first["soc_known"], first["session_energy"], first["error"]) == (False, None, 0)
        config = probe.wait_json(f"{prefix}/car/config", lambda c: True)
        assert (config["type"], config["stale_after"]) == ("WallboxCar", 2.0)

        # a session: the energy follows the wallbox, a plug-in starts again from 0
        for charged, status in ((0.0, CarStatus.WaitingForVehicle), (1500.0, CarStatus.Charging),
                                (6200.5, CarStatus.ChargingFinished), (0.0, CarStatus.WaitingForVehicle),
                                (250.0, CarStatus.Charging)):  # fmt: skip
            mark = probe.mark()
            publish_wallbox(charged, status)
            seen = probe.wait_json(
                car_topic,
                lambda s: s["session_energy"] == charged and s["error"] == 0,  # noqa: B023
                after=mark,
            )
            assert (seen["soc_known"], seen["soc"]) == (False, 0.0)

        # a wallbox gone silent: the car counts read errors and keeps the last session energy
        mark = probe.mark()
        stale = probe.wait_json(car_topic, lambda s: s["error"] > 0, after=mark)
        assert (stale["session_energy"], stale["soc_known"]) == (250.0, False)

        mark = probe.mark()

        def back() -> bool:
            publish_wallbox(400.0)
            return any(m.json()["error"] == 0 for m in probe.since(mark, car_topic))

        wait_until(back, what="the car's error cleared by a fresh wallbox state")
        assert probe.wait_json(car_topic, lambda s: s["error"] == 0, after=mark)["session_energy"] == 400.0
        assert service.proc.poll() is None
        log = service.log()
        assert "no good wallbox state for" in log
        assert "Traceback" not in log
