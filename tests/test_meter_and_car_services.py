"""`pvcontrol meter` and `pvcontrol car` with simulated devices over the broker; the simulated day and
the meter's handling of read failures at unit level, with an injected clock and a failing meter."""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY

from pvcontrol.broker import BrokerAddress
from pvcontrol.device import DeviceError
from pvcontrol.models import MeterData
from pvcontrol.topics import Topics
from services.meter.device import Meter
from services.meter.service import MeterPoller, MeterService
from services.meter.simulated import SimulatedMeter, SimulatedMeterConfig
from tests.helpers import Broker, MqttProbe, running

ENERGIES = ("energy_consumption", "energy_consumption_grid", "energy_consumption_pv")


def wait_online(probe: MqttProbe, prefix: str, service: str) -> None:
    probe.wait_for(f"{prefix}/{service}/status", lambda m: m.payload == b"online")


def wallbox(**values: Any) -> dict[str, Any]:
    return {"ts": time.time(), "error": 0, "car_status": 2, "phases_in": 3, "phases_out": 3, **values}


# --- meter over the broker -----------------------------------------------------------------------


@pytest.fixture
def steady_meter(mqtt_broker: Broker, prefix: str, probe: MqttProbe, tmp_path: Path) -> Iterator[None]:
    """A SimulatedMeter whose house draws a constant 500 W."""
    env = {"PVC_METER__POLL_INTERVAL": "0.1", "PVC_METER__CONSUMPTION_VARIATION": "0"}
    with running(["meter", "--meter", "SimulatedMeter"], mqtt_broker, prefix, tmp_path, env):
        wait_online(probe, prefix, "meter")
        yield


def test_meter_states_are_consistent(
    probe: MqttProbe, prefix: str, mqtt_broker: Broker, tmp_path: Path
) -> None:
    with running(["meter"], mqtt_broker, prefix, tmp_path, {"PVC_METER__POLL_INTERVAL": "0.1"}):
        probe.wait_for(f"{prefix}/meter/state", lambda _: len(probe.on(f"{prefix}/meter/state")) >= 10)
    states = [m.json() for m in probe.on(f"{prefix}/meter/state")]

    for state in states:
        parts = state["power_pv"] + state["power_grid"] + state["power_battery"]
        assert state["power_consumption"] == pytest.approx(parts, abs=0.2)
        assert 0 <= state["power_pv"] <= 3000
        assert state["power_consumption"] >= 500
        assert abs(state["power_battery"]) <= 1000
        assert 0 <= state["soc_battery"] <= 100
        assert state["error"] == 0
    for before, after in itertools.pairwise(states):
        assert after["ts"] > before["ts"]
        for energy in ENERGIES:
            assert after[energy] >= before[energy]
    assert states[-1]["energy_consumption"] > states[0]["energy_consumption"]


def test_meter_consumption_includes_the_car(probe: MqttProbe, prefix: str, steady_meter: None) -> None:
    assert probe.wait_json(f"{prefix}/meter/state", lambda s: True)["power_consumption"] == pytest.approx(500)

    mark = probe.mark()
    probe.publish_json(f"{prefix}/wallbox/state", wallbox(power=3680))
    charging = probe.wait_json(f"{prefix}/meter/state", lambda s: s["power_consumption"] > 500, after=mark)
    assert charging["power_consumption"] == pytest.approx(500 + 3680)
    parts = charging["power_pv"] + charging["power_grid"] + charging["power_battery"]
    assert charging["power_consumption"] == pytest.approx(parts, abs=0.2)

    mark = probe.mark()
    probe.publish_json(f"{prefix}/wallbox/state", wallbox(power=0, phases_out=0))
    idle = probe.wait_json(f"{prefix}/meter/state", lambda s: s["power_consumption"] < 4180, after=mark)
    assert idle["power_consumption"] == pytest.approx(500)


# --- the simulated day ---------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def pv_at(meter: SimulatedMeter, clock: Clock, t: float) -> float:
    clock.now = t
    return asyncio.run(meter.read()).power_pv


@pytest.mark.parametrize("clouds", [False, True])
def test_day_profile_has_no_pv_at_night(clouds: bool) -> None:
    clock = Clock()
    config = SimulatedMeterConfig(profile="day", day_length=1000, day_start_hour=0, clouds=clouds)
    meter = SimulatedMeter(config, clock)

    for night in (0, 100, 240, 760, 900, 999, 1000, 1100):
        assert pv_at(meter, clock, night) == 0, f"PV at t={night}"
    for day in (300, 400, 500, 600, 700, 1500):
        assert 0 < pv_at(meter, clock, day) <= 3000, f"no PV at t={day}"
    if not clouds:
        assert pv_at(meter, clock, 500) == pytest.approx(3000)
        assert pv_at(meter, clock, 300) < pv_at(meter, clock, 400) < pv_at(meter, clock, 500)


def test_sine_profile_peaks_at_pv_max() -> None:
    clock = Clock()
    meter = SimulatedMeter(SimulatedMeterConfig(pv_max=2000, pv_period=600), clock)
    assert pv_at(meter, clock, 0) == 0
    assert pv_at(meter, clock, 300) == pytest.approx(2000)
    assert pv_at(meter, clock, 600) == pytest.approx(0, abs=0.1)


# --- read failures -------------------------------------------------------------------------------


class FlakyMeter(Meter):
    """Plays back a script of readings; None is a failed read."""

    def __init__(self, script: list[MeterData | None]) -> None:
        self.script = script

    async def read(self) -> MeterData:
        reading = self.script.pop(0)
        if reading is None:
            raise DeviceError("meter does not answer")
        return reading


def error_metric() -> float | None:
    return REGISTRY.get_sample_value("pvcontrol_error", {"service": "meter"})


def test_meter_keeps_the_last_reading_for_three_failures_then_reports_zeros() -> None:
    good = MeterData(ts=1000.0, power_pv=2000, power_consumption=600, power_grid=-900, power_battery=-500)
    recovered = MeterData(ts=1050.0, power_pv=1500, power_consumption=500, power_grid=-1000)
    meter = FlakyMeter([good, None, None, None, None, None, recovered])
    service = MeterService(SimulatedMeterConfig(), meter, BrokerAddress("localhost", 1), Topics("test"))
    assert isinstance(service.poller, MeterPoller)

    async def poll(times: int) -> list[MeterData]:
        return [await service.poller.poll_once() for _ in range(times)]

    first, *kept, zeros4, zeros5 = asyncio.run(poll(6))
    assert first == good
    assert [k.error for k in kept] == [1, 2, 3]
    assert all(k.model_copy(update={"error": 0}) == good for k in kept)
    assert (zeros4.error, zeros5.error) == (4, 5)
    for zeros in (zeros4, zeros5):
        assert zeros == MeterData(ts=good.ts, error=zeros.error)
    assert error_metric() == 5

    assert asyncio.run(service.poller.poll_once()) == recovered
    assert service.poller.errors == 0
    assert error_metric() == 0


def test_meter_failing_from_the_start_reports_zeros_with_errors() -> None:
    published: list[MeterData] = []

    async def publish(data: MeterData) -> None:
        published.append(data)

    meter = FlakyMeter([None, None])
    poller = MeterPoller("meter", meter.read, publish, MeterData, logging.getLogger("test.meter"))

    async def poll_twice() -> None:
        await poller.poll_once()
        await poller.poll_once()

    asyncio.run(poll_twice())
    assert published == [MeterData(ts=0.0, error=1), MeterData(ts=0.0, error=2)]


class BuggyMeter(Meter):
    """An adapter that trips over an answer it did not foresee (not a DeviceError)."""

    async def read(self) -> MeterData:
        raise KeyError("Body")


def test_an_unexpected_adapter_error_counts_as_a_failed_read() -> None:
    published: list[MeterData] = []

    async def publish(data: MeterData) -> None:
        published.append(data)

    poller = MeterPoller("meter", BuggyMeter().read, publish, MeterData, logging.getLogger("test.meter"))
    asyncio.run(poller.poll_once())
    assert published == [MeterData(ts=0.0, error=1)]


# --- car -----------------------------------------------------------------------------------------


def test_simulated_car_soc_rises_one_percent_per_580_wh_charged(
    probe: MqttProbe, prefix: str, mqtt_broker: Broker, tmp_path: Path
) -> None:
    env = {"PVC_CAR__POLL_INTERVAL": "0.2", "PVC_CAR__INITIAL_SOC": "50"}
    with running(["car", "--car", "SimulatedCar"], mqtt_broker, prefix, tmp_path, env) as process:
        wait_online(probe, prefix, "car")
        start = probe.wait_json(f"{prefix}/car/state", lambda s: True)
        assert (start["soc"], start["error"]) == (50, 0)

        # The car sees the wallbox states in order, so each expected SOC includes every step before it;
        # the first state is only the baseline, a drop of charged_energy is a new session (adds nothing).
        steps = ((1000, 50), (2160, 52), (0, 52), (580, 53), (290, 53), (1160, 54.5))
        for charged_energy, soc in steps:
            mark = probe.mark()
            probe.publish_json(f"{prefix}/wallbox/state", wallbox(charged_energy=charged_energy))
            state = probe.wait_json(f"{prefix}/car/state", lambda s: s["soc"] == soc, after=mark)  # noqa: B023
        assert state["cruising_range"] == 218  # 54.5 % of 400 km
        assert process.proc.poll() is None


def test_no_car_publishes_an_empty_state(
    probe: MqttProbe, prefix: str, mqtt_broker: Broker, tmp_path: Path
) -> None:
    with running(["car", "--car", "NoCar"], mqtt_broker, prefix, tmp_path):
        state = probe.wait_json(f"{prefix}/car/state", lambda s: True)
        config = probe.wait_json(f"{prefix}/car/config", lambda c: True)
    assert state["soc"] == 0
    assert state["ts"] == pytest.approx(time.time(), abs=10)
    assert config["type"] == "NoCar"
