"""SunSpecMeter (a real pymodbus server with a SunSpec map), ShellyMeter (an HTTP server answering like a
Shelly) and MqttMeter (a real Mosquitto): decoding, and the meter service process through every fault."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from pymodbus.constants import ExcCodes

from pvcontrol.broker import BrokerAddress
from pvcontrol.device import DeviceError
from pvcontrol.models import MeterData
from pvcontrol.mqtt_values import MqttValue, extract
from pvcontrol.topics import Topics
from services.meter.service import MeterService
from services.meter.shelly import ShellyMeter, ShellyMeterConfig
from services.meter.sunspec import SunSpecMeter, SunSpecMeterConfig
from tests.devices.test_implausible_sources import serving
from tests.devices.test_service_processes import config_file, state
from tests.devices.test_service_processes_http import (
    FAULTS,
    KEPT_BY_THE_METER,
    POLL,
    TIMEOUT,
    assert_alive,
    assert_balanced,
    assert_kept,
    failures_after,
)
from tests.fakes.shelly import FakeShelly
from tests.fakes.sunspec import FakeSunSpec
from tests.helpers import Broker, MqttProbe, running, wait_until

# --- SunSpec ------------------------------------------------------------------------------------


def read(meter: Any) -> MeterData:
    async def once() -> MeterData:
        try:
            data: MeterData = await meter.read()
            return data
        finally:
            await meter.close()

    return asyncio.run(once())


def test_sunspec_decodes_inverter_meter_and_battery_with_their_scale_factors() -> None:
    with FakeSunSpec() as fake:
        data = read(SunSpecMeter(SunSpecMeterConfig(host=fake.host, port=fake.port, timeout=1)))
    assert (data.power_pv, data.power_grid, data.power_battery) == (4800.0, -2200.0, -1500.0)
    assert (data.power_consumption, data.soc_battery) == (1100.0, 64.0)
    assert data.energy_consumption_grid == 2_345_600.0  # TotWhImp 23456 x 10^2
    assert data.energy_consumption_pv == 7_654_300.0 - 3_210_000.0  # WH - TotWhExp
    assert data.energy_consumption == data.energy_consumption_grid + data.energy_consumption_pv


def test_sunspec_float_models_of_a_hybrid_inverter_without_a_battery_model() -> None:
    """Models 1, 113 (inverter), 120 (nameplate), 213 (meter), all float32: the AC power includes the
    battery's, which the map does not tell apart."""
    with FakeSunSpec(layout="float") as fake:
        data = read(SunSpecMeter(SunSpecMeterConfig(host=fake.host, port=fake.port, timeout=1)))
    assert (data.power_pv, data.power_grid, data.power_battery) == (3300.0, -2200.0, 0.0)
    assert data.power_consumption == pytest.approx(1100.0)
    assert data.energy_consumption_grid == 2_345_600.0
    assert data.energy_consumption_pv == 7_654_300.0 - 3_210_000.0


def sunspec_service(fake: FakeSunSpec, broker: Broker, prefix: str) -> MeterService:
    config = SunSpecMeterConfig(host=fake.host, port=fake.port, timeout=1, poll_interval=0.05)
    return MeterService(config, SunSpecMeter(config), BrokerAddress.parse(broker.url), Topics(prefix))


def test_sunspec_rediscovers_a_register_map_that_changes_under_the_running_service(
    mqtt_broker: Broker, probe: MqttProbe, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The device moves its map (no SunS marker any more): the cached addresses are not read as values
    (they gave power_pv -6.8 GW with error 0); it is a read error until the map is back, in another
    layout (float models), which a new scan finds."""
    topic = f"{prefix}/meter/state"
    with FakeSunSpec() as fake, caplog.at_level(logging.INFO, "pvcontrol.meter"):
        service = sunspec_service(fake, mqtt_broker, prefix)
        with serving(service):
            first = probe.wait_json(topic, lambda s: s["error"] == 0)
            assert (first["power_pv"], first["power_battery"]) == (4800.0, -1500.0)
            mark = probe.mark()
            fake.layout = "shifted"
            probe.wait_json(topic, lambda s: s["error"] >= 4, after=mark)  # kept, then zeros (stale ts)
            moved = probe.mark()
            fake.layout = "float"
            back = probe.wait_json(topic, lambda s: s["error"] == 0, after=moved)
            assert (back["power_pv"], back["power_grid"], back["power_battery"]) == (3300.0, -2200.0, 0.0)
            fake.set_powers(pv=4000.0, home=1000.0, battery=0.0, soc=0.0)
            # models are read one by one: wait for a reading after both changed
            later = probe.wait_json(topic, lambda s: s["power_grid"] == -3000.0, after=moved)
            assert later["power_pv"] == 4000.0
            for state in (m.json() for m in probe.since(mark, topic)):
                assert abs(state["power_pv"]) <= 50_000
                assert abs(state["power_grid"]) <= 50_000
                if state["error"] == 0:  # the int map's, then the float map's values, nothing else
                    assert state["power_pv"] in (4800.0, 3300.0, 4000.0)
    messages = [r.message for r in caplog.records]
    # the marker, or a model's own ID if the map moved between the marker and that model's read
    assert any("SunSpec: the register map changed (" in m for m in messages), messages
    assert not any("implausible" in m for m in messages)  # caught by the map check, not afterwards


def test_sunspec_signs_can_be_flipped_for_meters_that_count_export_positive() -> None:
    with FakeSunSpec() as fake:
        config = SunSpecMeterConfig(host=fake.host, port=fake.port, timeout=1, grid_sign=-1)
        data = read(SunSpecMeter(config))
    assert data.power_grid == 2200.0
    assert data.energy_consumption_grid == 3_210_000.0  # TotWhExp is then the import


@pytest.mark.parametrize("fault", ["exception", "stopped", "wrong unit"])
def test_sunspec_failures_are_device_errors(fault: str) -> None:
    with FakeSunSpec() as fake:
        config = SunSpecMeterConfig(host=fake.host, port=fake.port, timeout=0.5)
        if fault == "exception":
            fake.fault = ExcCodes.DEVICE_BUSY
        elif fault == "stopped":
            fake.stop()
        else:
            config = config.model_copy(update={"unit_id": 9})
        with pytest.raises(DeviceError, match="SunSpec"):
            read(SunSpecMeter(config))


def test_meter_process_with_sunspec(
    mqtt_broker: Broker, probe: MqttProbe, prefix: str, tmp_path: Path
) -> None:
    with FakeSunSpec() as fake:
        meter = {"type": "SunSpecMeter", "host": fake.host, "port": fake.port, "poll_interval": POLL}
        args = ["meter", "-c", config_file(tmp_path, {"meter": meter | {"timeout": TIMEOUT}})]
        with running(args, mqtt_broker, prefix, tmp_path) as service:
            first = state(probe, prefix, "meter", lambda s: s["error"] == 0)
            assert (first["power_pv"], first["power_grid"], first["soc_battery"]) == (4800.0, -2200.0, 64.0)
            assert_balanced(first)

            for fault in ("exception", "slow", "stopped"):
                mark = probe.mark()
                if fault == "exception":
                    fake.fault = ExcCodes.DEVICE_FAILURE
                elif fault == "slow":
                    fake.hang()
                else:
                    fake.stop()
                good, failures = failures_after(probe, prefix, "meter", mark, 2)
                assert_kept(good, failures[:KEPT_BY_THE_METER])
                fake.heal()
                if fault == "stopped":
                    fake.start()
                fake.set_powers(pv=3000.0 + len(fault), home=900.0, battery=0.0, soc=65.0)
                back = state(probe, prefix, "meter", lambda s: s["error"] == 0, probe.mark())
                assert back["power_pv"] == 3000.0 + len(fault)
                assert_balanced(back)
                assert_alive(service)
            assert "Traceback" not in service.log()


# --- Shelly -------------------------------------------------------------------------------------


def test_shelly_pro_3em_at_the_grid_point() -> None:
    with FakeShelly("EM") as fake:
        data = read(ShellyMeter(ShellyMeterConfig(url=fake.url)))
    assert (data.power_grid, data.power_pv, data.power_consumption) == (-1234.5, 0.0, -1234.5)
    assert (data.energy_consumption_grid, data.energy_consumption) == (4_321_000.0, 4_321_000.0)
    assert [r.path for r in fake.requests] == ["/rpc/EM.GetStatus", "/rpc/EMData.GetStatus"]
    assert fake.requests[0].query == {"id": "0"}


def test_shelly_pro_em_with_a_pv_channel() -> None:
    with FakeShelly("EM1") as fake:
        data = read(ShellyMeter(ShellyMeterConfig(url=fake.url, profile="EM1", pv_channel=1)))
    assert (data.power_grid, data.power_pv) == (-1234.5, 3456.7)  # the PV clamp reads negative
    assert data.power_consumption == pytest.approx(3456.7 - 1234.5)
    assert data.energy_consumption_pv == 6_543_000.0 - 1_234_000.0  # produced - exported
    assert data.energy_consumption == pytest.approx(4_321_000.0 + 6_543_000.0 - 1_234_000.0)


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        (lambda f: setattr(f, "errors", ["power_meter_failure"]), "power_meter_failure"),
        (lambda f: setattr(f, "profile", "EM1"), "HTTP 404"),  # a Pro EM configured as a Pro 3EM
    ],
)
def test_shelly_bad_answers_are_device_errors(setup: Any, reason: str) -> None:
    with FakeShelly("EM") as fake:
        setup(fake)
        with pytest.raises(DeviceError, match=reason):
            read(ShellyMeter(ShellyMeterConfig(url=fake.url)))


def test_shelly_unknown_channel_is_a_device_error() -> None:
    with FakeShelly("EM1") as fake, pytest.raises(DeviceError, match="HTTP 500"):
        read(ShellyMeter(ShellyMeterConfig(url=fake.url, profile="EM1", grid_id=5)))


def test_meter_process_with_shelly(
    mqtt_broker: Broker, probe: MqttProbe, prefix: str, tmp_path: Path
) -> None:
    with FakeShelly("EM1") as fake:
        meter = {"type": "ShellyMeter", "url": fake.url, "profile": "EM1", "pv_channel": 1}
        meter |= {"poll_interval": POLL, "timeout": TIMEOUT}
        with running(
            ["meter", "-c", config_file(tmp_path, {"meter": meter})], mqtt_broker, prefix, tmp_path
        ) as service:
            first = state(probe, prefix, "meter", lambda s: s["error"] == 0)
            assert (first["power_grid"], first["power_pv"]) == (-1234.5, 3456.7)
            assert_balanced(first)
            pv = 1000.0
            for fault in FAULTS:
                mark = probe.mark()
                fake.fail(fault)
                good, failures = failures_after(probe, prefix, "meter", mark, 2)
                assert_kept(good, failures)
                pv += 111.0
                fake.set_powers(grid=200.0, pv=pv)
                mark = probe.mark()
                fake.heal()
                back = state(probe, prefix, "meter", lambda s: s["error"] == 0, mark)
                assert back["power_pv"] == pytest.approx(pv), fault
                assert_balanced(back)
                assert_alive(service)


# --- MQTT ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "path", "scale", "value"),
    [
        (b"2345.6", "", 1.0, 2345.6),
        (b'"17.5"', "", 1.0, 17.5),  # Home Assistant statestream sends quoted numbers
        (
            b'{"Time":"2024-06-01T12:00:00","SML":{"Power_curr":-512,"Total_in":1234.5}}',
            "SML.Power_curr",
            1.0,
            -512,
        ),
        (b'{"Time":"t","SML":{"Total_in":1234.5}}', "SML.Total_in", 1000.0, 1_234_500.0),  # kWh -> Wh
        (
            b'{"inverters":[{"AC":{"0":{"Power":{"v":812.3,"u":"W"}}}}]}',
            "inverters.0.AC.0.Power.v",
            1.0,
            812.3,
        ),
        (b"-1500", "", -1.0, 1500.0),
    ],
)
def test_mqtt_values_from_json_paths(payload: bytes, path: str, scale: float, value: float) -> None:
    assert extract(payload, MqttValue(topic="t", path=path, scale=scale)) == pytest.approx(value)


@pytest.mark.parametrize(
    ("payload", "path"),
    [
        (b"on", ""),
        (b"NaN", ""),
        (b'{"SML":{}}', "SML.Power_curr"),
        (b'{"a":true}', "a"),
        (b"\xff\xfe", ""),
        (b"[1]", "5"),
    ],
)
def test_mqtt_bad_values_are_refused(payload: bytes, path: str) -> None:
    with pytest.raises(ValueError, match=r"JSON|no |not a number"):
        extract(payload, MqttValue(topic="t", path=path))


def test_meter_process_with_mqtt_values(
    mqtt_broker: Broker, probe: MqttProbe, prefix: str, tmp_path: Path
) -> None:
    """A Tasmota SML reader for the grid and OpenDTU for the PV; the PV stops publishing and turns stale."""
    sml, dtu = f"{prefix}-tasmota/tele/smartmeter/SENSOR", f"{prefix}-opendtu/solar/ac/power"
    meter = {
        "type": "MqttMeter",
        "url": mqtt_broker.url,
        "poll_interval": POLL,
        "stale_after": 1.5,
        "power_grid": {"topic": sml, "path": "SML.Power_curr"},
        "energy_consumption_grid": {"topic": sml, "path": "SML.Total_in", "scale": 1000},
        "power_pv": {"topic": dtu},
    }

    def tasmota(power: float) -> None:
        document = {
            "Time": "2024-06-01T12:00:00",
            "SML": {"Total_in": 4321.0, "Total_out": 1234.0, "Power_curr": power},
        }
        probe.publish(sml, json.dumps(document))

    with running(
        ["meter", "-c", config_file(tmp_path, {"meter": meter})], mqtt_broker, prefix, tmp_path
    ) as service:
        probe.wait_for(f"{prefix}/meter/status", lambda m: m.payload == b"online")
        waiting = state(probe, prefix, "meter", lambda s: s["error"] > 0)  # nothing received yet
        assert waiting["power_grid"] == 0
        tasmota(-800.0)
        probe.publish(dtu, "2500.5")
        first = state(probe, prefix, "meter", lambda s: s["error"] == 0)
        assert (first["power_grid"], first["power_pv"], first["power_consumption"]) == (
            -800.0,
            2500.5,
            1700.5,
        )
        assert first["energy_consumption_grid"] == 4_321_000.0
        config = probe.wait_json(f"{prefix}/meter/config", lambda c: c["type"] == "MqttMeter")
        assert config["power_grid"] == {"topic": sml, "path": "SML.Power_curr", "scale": 1.0}

        # a malformed message: one counted error, the last data kept
        mark = probe.mark()
        probe.publish(dtu, "offline")
        bad = state(probe, prefix, "meter", lambda s: s["error"] > 0, mark)
        assert bad["power_pv"] == 2500.5

        # the grid keeps coming, the PV does not: stale after 1.5 s
        mark = probe.mark()
        tasmota(-700.0)
        probe.publish(dtu, "2400.0")
        state(probe, prefix, "meter", lambda s: s["error"] == 0 and s["power_grid"] == -700.0, mark)
        mark = probe.mark()

        def grid_goes_on_pv_turns_stale() -> bool:
            tasmota(-650.0)
            return any(m.json()["error"] > 0 for m in probe.since(mark, f"{prefix}/meter/state"))

        wait_until(grid_goes_on_pv_turns_stale, what="the PV value turning stale")
        stale = state(probe, prefix, "meter", lambda s: s["error"] > 0, mark)
        assert stale["power_pv"] in (2400.0, 0.0)
        probe.publish(dtu, "2300.0")
        tasmota(-600.0)
        back = state(
            probe, prefix, "meter", lambda s: s["error"] == 0 and s["power_pv"] == 2300.0, probe.mark()
        )
        assert back["power_consumption"] == 1700.0
        assert_alive(service)
        log = service.log()
        assert f"power_pv from {dtu} is" in log
        assert "Traceback" not in log
