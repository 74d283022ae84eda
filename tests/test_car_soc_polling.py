"""SOC polling that spares the car: when the cloud is asked (simulated days with the pure schedule),
and the real car service process against the fake car cloud (calls counted, estimate checked)."""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from pvcontrol.models import CarData, CarStatus, WallboxData
from services.car.soc_polling import BACKOFF_CAP, PollSchedule, SocEstimate
from tests.fakes import carcloud
from tests.helpers import Broker, MqttProbe, ServiceProcess, running, wait_until

DAY = 24 * 3600
STEP = 5.0  # s between wallbox states, as the wallbox service publishes them
ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Clock:
    t: float = 0.0

    def __call__(self) -> float:
        return self.t


def wallbox(status: CarStatus, **values: Any) -> WallboxData:
    return WallboxData(ts=0, car_status=status, **values)


def simulate(plan: list[tuple[float, CarStatus]], interval: float = 300.0, fail: bool = False) -> list[float]:
    """One day of wallbox states every 5 s, following `plan` ((from second, status), ...): the times
    at which the car service would ask the cloud."""
    clock = Clock()
    schedule = PollSchedule(interval, clock)
    polls: list[float] = []
    while clock.t < DAY:
        status = [s for start, s in plan if start <= clock.t][-1]
        schedule.on_wallbox(wallbox(status, power=7000.0 if status == CarStatus.Charging else 0.0))
        if schedule.due():
            polls.append(clock.t)
            if fail:
                schedule.failed()
            else:
                schedule.succeeded()
        clock.t += STEP
    return polls


UNPLUGGED, WAITING, CHARGING, DONE = (
    CarStatus.NoVehicle,
    CarStatus.WaitingForVehicle,
    CarStatus.Charging,
    CarStatus.ChargingFinished,
)


@pytest.mark.parametrize(
    ("plan", "expected"),
    [
        pytest.param([(0, UNPLUGGED)], 0, id="unplugged-all-day-0-calls"),
        pytest.param([(0, UNPLUGGED), (8 * 3600, WAITING)], 1, id="plugged-in-at-8-not-charging-1-call"),
        # plug-in and start at 10:00 (1), every 300 s until the stop at 12:00 (24, the last one
        # is the stop's), none while finished or unplugged
        pytest.param(
            [(0, UNPLUGGED), (10 * 3600, CHARGING), (12 * 3600, DONE), (13 * 3600, UNPLUGGED)],
            1 + 24,
            id="charging-10-to-12-25-calls",
        ),
        # plugged in at 0 (1); a 10-minute charge: start, +300 s, stop at +600 s (3)
        pytest.param(
            [(0, WAITING), (9 * 3600, CHARGING), (9 * 3600 + 600, WAITING), (17 * 3600, UNPLUGGED)],
            1 + 3,
            id="plugged-in-all-day-10-min-charge-4-calls",
        ),
    ],
)
def test_calls_per_simulated_day(plan: list[tuple[float, CarStatus]], expected: int) -> None:
    assert len(simulate(plan)) == expected


def test_first_call_comes_with_the_plug_in() -> None:
    polls = simulate([(0, UNPLUGGED), (8 * 3600, WAITING)])
    assert polls == [8 * 3600]


def test_failures_back_off_exponentially_up_to_30_minutes() -> None:
    polls = simulate([(0, UNPLUGGED), (6 * 3600, CHARGING)], interval=300, fail=True)
    gaps = [b - a for a, b in itertools.pairwise(polls)][:7]
    assert gaps == [300, 600, 1200, BACKOFF_CAP, BACKOFF_CAP, BACKOFF_CAP, BACKOFF_CAP]


def test_unplugging_stops_the_retries() -> None:
    polls = simulate([(0, CHARGING), (3600, UNPLUGGED)], interval=300, fail=True)
    assert max(polls) < 3600


def test_a_repeated_old_wallbox_reading_does_not_count_as_a_plug_in() -> None:
    schedule = PollSchedule(300, Clock())
    schedule.on_wallbox(WallboxData(ts=0, error=2, car_status=CarStatus.Charging))
    assert not schedule.due()


@pytest.mark.parametrize(
    ("soc", "charged_since", "expected"),
    [
        pytest.param(50.0, 0.0, 50.0, id="nothing-charged-50"),
        pytest.param(50.0, 5800.0, 59.0, id="5.8kWh-x0.9-on-58kWh-plus-9"),
        pytest.param(95.0, 10_000.0, 100.0, id="capped-at-100"),
    ],
)
def test_estimate_adds_what_the_wallbox_charged(soc: float, charged_since: float, expected: float) -> None:
    estimate = SocEstimate(capacity_wh=58_000, efficiency=0.9)
    estimate.real(CarData(ts=0, soc=soc), charged_energy=1000.0)
    assert estimate.estimate(1000.0 + charged_since) == pytest.approx(expected)


def test_estimate_follows_a_new_wallbox_session() -> None:
    estimate = SocEstimate(capacity_wh=58_000, efficiency=1.0)
    estimate.real(CarData(ts=0, soc=40.0), charged_energy=9000.0)
    assert estimate.estimate(580.0) == pytest.approx(41.0)  # the counter restarted at 0


# --- the real car service process against the fake cloud ------------------------------------------


@dataclass
class CloudCar:
    process: ServiceProcess
    cloud: carcloud.Cloud
    cloud_file: Path

    def calls(self) -> int:
        return carcloud.fetch_count(self.cloud_file)


@pytest.fixture
def cloud_car(mqtt_broker: Broker, prefix: str, probe: MqttProbe, tmp_path: Path) -> Iterator[CloudCar]:
    cloud_file = tmp_path / "cloud.json"
    cloud = carcloud.Cloud()
    carcloud.save(cloud, cloud_file)
    env = {
        "FAKE_CAR_CLOUD": str(cloud_file),
        "PYTHONPATH": f"{ROOT / 'tests' / 'fakes' / 'carcloud_path'}{os.pathsep}{ROOT}",
        "PVC_CAR__PASSWORD": carcloud.PASSWORD,
    }
    car = {
        "type": "VolkswagenIDCar",
        "user": carcloud.USER,
        "vin": carcloud.VIN,
        "poll_interval": 1.0,
        "battery_capacity": 58.0,
        "charging_efficiency": 0.9,
    }
    config = tmp_path / "car.yaml"
    config.write_text(yaml.safe_dump({"car": car}))
    with running(["car", "-c", str(config)], mqtt_broker, prefix, tmp_path, env) as process:
        probe.wait_for(f"{prefix}/car/status", lambda m: m.payload == b"online")
        yield CloudCar(process, cloud, cloud_file)


def publish_wallbox(probe: MqttProbe, prefix: str, status: int, charged: float = 0.0) -> None:
    power = 7000.0 if status == 2 else 0.0
    document = {"ts": time.time(), "car_status": status, "power": power, "charged_energy": charged}
    probe.publish_json(f"{prefix}/wallbox/state", document, retain=False)


def test_no_call_while_unplugged_and_one_right_after_plug_in(
    probe: MqttProbe, prefix: str, cloud_car: CloudCar
) -> None:
    for _ in range(20):  # 4 s of wallbox states, car away: 4 poll intervals
        publish_wallbox(probe, prefix, status=1)
        time.sleep(0.2)  # the pace of a wallbox service, not a wait for a result
    car_states = probe.on(f"{prefix}/car/state")
    assert cloud_car.calls() == 0
    assert car_states == []
    plugged_at = time.time()
    publish_wallbox(probe, prefix, status=3)
    state = probe.wait_json(f"{prefix}/car/state", lambda s: s["soc"] == 62.0)
    assert state["soc_estimated"] is False
    assert time.time() - plugged_at < 60
    assert cloud_car.calls() == 1


def test_estimate_between_polls_is_within_3_percent_of_the_next_real_reading(
    probe: MqttProbe, prefix: str, cloud_car: CloudCar
) -> None:
    """The car really stores 88 % of what is charged; the service assumes 90 %."""
    publish_wallbox(probe, prefix, status=3, charged=0.0)
    probe.wait_json(f"{prefix}/car/state", lambda s: s["soc"] == 62.0)
    mark = probe.mark()
    charged = 0.0
    last_estimate: float | None = None
    real_soc = 62.0
    while last_estimate is None or last_estimate < 70:
        charged += 580.0
        real_soc = 62.0 + charged * 0.88 / 58_000 * 100
        cloud_car.cloud.vehicles[carcloud.VIN].soc = round(real_soc, 1)
        carcloud.save(cloud_car.cloud, cloud_car.cloud_file)
        publish_wallbox(probe, prefix, status=2, charged=charged)
        estimates = [m.json() for m in probe.since(mark, f"{prefix}/car/state") if m.json()["soc_estimated"]]
        if estimates:
            last_estimate = estimates[-1]["soc"]
        time.sleep(0.05)  # the pace of the simulated charge
    # The next real reading after the estimate:
    estimate_mark = probe.mark()
    real = probe.wait_json(f"{prefix}/car/state", lambda s: not s["soc_estimated"], after=estimate_mark)
    assert abs(real["soc"] - last_estimate) <= 3
    wait_until(lambda: cloud_car.calls() >= 2, 10, "polls while charging")
