"""The HTTP adapters as real `pvcontrol` processes against their fakes and a real Mosquitto: FroniusMeter,
SolarWattMeter, SmaTripowerMeter (HTTPS, self-signed certificate), GoeWallbox speaking API v1, and SkodaCar
with only the manufacturer's cloud faked.

Every fault (HTTP 500, garbage instead of JSON, a reply slower than `timeout`, a dropped connection, a
stopped device, unknown go-e codes, a failing cloud) must count `error` up on `P/<service>/state` one by
one while the document keeps the last good reading, leave the process running, and end with `error` 0 and
fresh values once the device is well again.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pvcontrol.models import MeterData
from tests.devices.test_service_processes import config_file, state
from tests.fakes import carcloud
from tests.fakes.fronius import FakeFronius
from tests.fakes.goe import FakeGoe
from tests.fakes.http import FakeHttpDevice, Fault
from tests.fakes.sma import PASSWORD as SMA_PASSWORD
from tests.fakes.sma import FakeSma
from tests.fakes.solarwatt import LOCATION_GUID, FakeSolarWatt
from tests.helpers import Broker, MqttProbe, ServiceProcess, running, wait_until

ROOT = Path(__file__).resolve().parents[2]
FAKES = ROOT / "tests" / "fakes"

POLL = 0.2  # s between reads
TIMEOUT = 0.5  # s; the fakes' slow replies take 3 s
FAULTS = (Fault.HTTP_500, Fault.GARBAGE, Fault.SLOW, Fault.CLOSE)
KEPT_BY_THE_METER = 3  # consecutive errors with the last values; then zeros (services/meter/service.py)

Document = dict[str, Any]


# --- the failure sequence on P/<service>/state -----------------------------------------------------


def failures_after(
    probe: MqttProbe, prefix: str, service: str, mark: int, count: int
) -> tuple[Document, list[Document]]:
    """Wait for `count` consecutive failed reads after `mark`; return the last good document before the
    first failure and the failure documents (in order) published so far."""
    topic = f"{prefix}/{service}/state"
    state(probe, prefix, service, lambda s: s["error"] >= count, mark)
    documents = [m.json() for m in probe.on(topic)]
    start = len(documents) - len(probe.since(mark, topic))
    first = next(i for i in range(start, len(documents)) if documents[i]["error"] > 0)
    good = documents[first - 1]
    assert good["error"] == 0
    failures: list[Document] = []
    for document in documents[first:]:
        if document["error"] == 0:
            break
        failures.append(document)
    assert [f["error"] for f in failures] == list(range(1, len(failures) + 1))  # counts up, one by one
    assert len(failures) >= count
    return good, failures


def assert_kept(good: Document, failures: list[Document]) -> None:
    """The last good reading, only `error` differs (its `ts` too: the data is not new)."""
    for failure in failures:
        assert failure == good | {"error": failure["error"]}


def assert_alive(service: ServiceProcess) -> None:
    assert service.proc.poll() is None, service.log()


# --- meters ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MeterKind:
    make_fake: Callable[[], FakeHttpDevice]
    config: Callable[[FakeHttpDevice], Document]
    expected: dict[str, float]  # the first reading on P/meter/state
    set_pv: Callable[[Any], Callable[[float], None]]  # fake -> set the PV power it reports


def _fronius_pv(fake: FakeFronius) -> Callable[[float], None]:
    return lambda pv: fake.set_powers(pv=pv, load=fake.load, battery=fake.battery, soc=fake.soc)


def _solarwatt_pv(fake: FakeSolarWatt) -> Callable[[float], None]:
    return lambda pv: fake.set_powers(pv, fake.consumed, fake.buffered, fake.released)


def _sma_pv(fake: FakeSma) -> Callable[[float], None]:
    def set_pv(pv: float) -> None:
        with fake.lock:
            fake.values["6100_0046C200"] = pv

    return set_pv


METERS = {
    "fronius": MeterKind(
        FakeFronius,
        lambda fake: {"type": "FroniusMeter", "url": fake.url},
        {
            "power_pv": 2847.0,
            "power_grid": -1234.5,  # P_Grid: feeding in
            "power_battery": -512.3,  # P_Akku: charging
            "power_consumption": 1100.2,
            "soc_battery": 67.5,
        },
        _fronius_pv,
    ),
    "solarwatt": MeterKind(
        FakeSolarWatt,
        lambda fake: {"type": "SolarWattMeter", "url": fake.url, "location_guid": LOCATION_GUID},
        {
            "power_pv": 3210.0,
            "power_grid": -840.0,  # PowerConsumedFromGrid 0 - PowerOut 840
            "power_battery": -1500.0,  # PowerReleased 0 - PowerBuffered 1500
            "power_consumption": 870.0,
            "energy_consumption": 9_876_543.0,
            "energy_consumption_grid": 4_321_000.0,
            "energy_consumption_pv": 4_743_543.0,
        },
        _solarwatt_pv,
    ),
    "sma": MeterKind(
        FakeSma,
        # The password comes from the environment (see below); verify_ssl: the fake's cert is self-signed.
        lambda fake: {"type": "SmaTripowerMeter", "url": fake.url, "verify_ssl": False},
        {
            "power_pv": 4120.0,
            "power_grid": -1830.0,  # absorbed 0 - supplied 1830
            "power_battery": -1200.0,  # discharge 0 - charge 1200
            "power_consumption": 1090.0,
            "soc_battery": 63.0,
            "energy_consumption_grid": 2_104_300.0,
            "energy_consumption_pv": 8_210_300.0,  # yield - supplied - charged + discharged
            "energy_consumption": 10_314_600.0,
        },
        _sma_pv,
    ),
}


@pytest.fixture(params=list(METERS))
def meter_kind(request: pytest.FixtureRequest) -> MeterKind:
    return METERS[request.param]


@pytest.fixture
def meter_fake(meter_kind: MeterKind) -> Iterator[FakeHttpDevice]:
    with meter_kind.make_fake() as fake:
        yield fake


def assert_balanced(data: Document) -> None:
    assert data["power_consumption"] == pytest.approx(
        data["power_pv"] + data["power_grid"] + data["power_battery"]
    )


def test_meter_process_with_http_meter(
    mqtt_broker: Broker,
    probe: MqttProbe,
    prefix: str,
    tmp_path: Path,
    meter_kind: MeterKind,
    meter_fake: FakeHttpDevice,
) -> None:
    meter = meter_kind.config(meter_fake) | {"poll_interval": POLL, "timeout": TIMEOUT}
    args = ["meter", "-c", config_file(tmp_path, {"meter": meter}), "--log-level", "DEBUG"]
    env = {"PVC_METER__PASSWORD": SMA_PASSWORD} if isinstance(meter_fake, FakeSma) else {}
    set_pv = meter_kind.set_pv(meter_fake)
    with running(args, mqtt_broker, prefix, tmp_path, env) as service:
        first = state(probe, prefix, "meter", lambda s: s["error"] == 0)
        assert {key: first[key] for key in meter_kind.expected} == pytest.approx(meter_kind.expected)
        assert_balanced(first)
        config = probe.wait_json(f"{prefix}/meter/config", lambda c: c["type"] == meter["type"])
        assert (config["url"], config["timeout"]) == (meter_fake.url, TIMEOUT)
        assert "password" not in config

        pv = 1000.0
        for fault in FAULTS:
            mark = probe.mark()
            meter_fake.fail(fault)
            good, failures = failures_after(probe, prefix, "meter", mark, 2)
            assert_kept(good, failures)
            pv += 111.0
            set_pv(pv)
            mark = probe.mark()
            meter_fake.heal()
            back = state(probe, prefix, "meter", lambda s: s["error"] == 0, mark)
            assert back["power_pv"] == pytest.approx(pv), fault
            assert_balanced(back)
            assert_alive(service)

        # A stopped device: the last values for 3 errors, then zeros with the last good `ts` (stale).
        mark = probe.mark()
        meter_fake.stop()
        good, failures = failures_after(probe, prefix, "meter", mark, KEPT_BY_THE_METER + 2)
        assert_kept(good, failures[:KEPT_BY_THE_METER])
        for failure in failures[KEPT_BY_THE_METER:]:
            assert failure == MeterData(ts=good["ts"], error=failure["error"]).model_dump(mode="json")
        set_pv(777.0)
        mark = probe.mark()
        meter_fake.start()
        back = state(probe, prefix, "meter", lambda s: s["error"] == 0, mark)
        assert back["power_pv"] == pytest.approx(777.0)
        assert back["ts"] > good["ts"]
        assert_balanced(back)
        assert_alive(service)
        log = service.log()
        assert "read failed (1 in a row)" in log
        assert SMA_PASSWORD not in log


# --- go-e, API v1 ----------------------------------------------------------------------------------


def _override(**raw: Any) -> Callable[[FakeGoe], None]:
    return lambda goe: goe.override(**raw)


def _fault(fault: Fault) -> Callable[[FakeGoe], None]:
    return lambda goe: goe.fail(fault)


GOE_FAILURES: dict[str, Callable[[FakeGoe], None]] = {
    **{fault.value: _fault(fault) for fault in FAULTS},
    "unknown car code": _override(car="7"),
    "unknown err code": _override(err="42"),
}


def test_wallbox_process_with_goe_api_v1(
    mqtt_broker: Broker, probe: MqttProbe, prefix: str, tmp_path: Path
) -> None:
    with FakeGoe(api="v1") as goe:
        wallbox = {"type": "GoeWallbox", "url": goe.url, "poll_interval": POLL, "timeout": TIMEOUT}
        args = ["wallbox", "-c", config_file(tmp_path, {"wallbox": wallbox})]
        with running(args, mqtt_broker, prefix, tmp_path) as service:
            first = state(probe, prefix, "wallbox", lambda s: s["error"] == 0)
            assert (first["car_status"], first["wb_error"], first["allow_charging"]) == (2, 0, True)
            assert (first["max_current"], first["phases_in"], first["phases_out"]) == (16, 3, 3)
            assert first["power"] == 11_040.0  # nrg[11] = 1104 (x 10 W)
            assert first["temperature"] == 24.5  # min(tma), not tmp
            assert first["total_energy"] == pytest.approx(1_234_500.0, abs=100)  # eto x 100 Wh
            # auto-detection: API v2 probed, 404, then API v1 only
            assert (goe.requests[0].path, goe.requests[0].query) == ("/api/status", {"filter": "alw"})
            assert {r.path for r in goe.requests[1:]} == {"/status"}

            mark = probe.mark()
            probe.publish(f"{prefix}/wallbox/max_current/set", "10")
            wait_until(lambda: ("amx", "10") in goe.writes, what="amx=10 on the charger")
            probe.publish(f"{prefix}/wallbox/allow_charging/set", "false")
            wait_until(lambda: ("alw", "0") in goe.writes, what="alw=0 on the charger")
            stopped = state(probe, prefix, "wallbox", lambda s: not s["allow_charging"], mark)
            assert (stopped["max_current"], stopped["power"], stopped["phases_out"]) == (10, 0, 0)
            assert stopped["car_status"] == 4  # charged a little, still plugged in
            probe.publish(f"{prefix}/wallbox/allow_charging/set", "false")  # unchanged: no write
            probe.publish(f"{prefix}/wallbox/reset/set", "1")
            wait_until(lambda: ("rst", "1") in goe.writes, what="rst=1 on the charger")
            mark = probe.mark()
            probe.publish(f"{prefix}/wallbox/max_current/set", "10")  # unchanged: no write
            probe.publish(f"{prefix}/wallbox/max_current/set", "11")
            probe.publish(f"{prefix}/wallbox/allow_charging/set", "true")
            wait_until(lambda: ("alw", "1") in goe.writes, what="alw=1 on the charger")
            assert goe.writes == [("amx", "10"), ("alw", "0"), ("rst", "1"), ("amx", "11"), ("alw", "1")]
            payloads = [r.query["payload"] for r in goe.requests_to("/mqtt")]
            assert payloads == ["amx=10", "alw=0", "rst=1", "amx=11", "alw=1"]  # ?payload=<key>=<value>
            assert goe.state.reboots == 1
            charging = state(probe, prefix, "wallbox", lambda s: s["allow_charging"] and s["power"] > 0, mark)
            assert (charging["max_current"], charging["power"], charging["car_status"]) == (11, 7590.0, 2)

            for amp, (name, fail) in enumerate(GOE_FAILURES.items(), start=6):
                mark = probe.mark()
                fail(goe)
                good, failures = failures_after(probe, prefix, "wallbox", mark, 2)
                assert_kept(good, failures)
                with goe.lock:
                    goe.state.amp = amp  # turned in the app meanwhile: the next reading shows it
                mark = probe.mark()
                goe.heal()
                goe.clear_override()
                back = state(probe, prefix, "wallbox", lambda s: s["error"] == 0, mark)
                assert (back["max_current"], back["power"], back["car_status"]) == (amp, amp * 690.0, 2), name
                assert_alive(service)

            mark = probe.mark()
            goe.stop()
            good, failures = failures_after(probe, prefix, "wallbox", mark, 3)
            assert_kept(good, failures)
            goe.set_supply_phases(1)  # the relay switched while the charger was unreachable
            mark = probe.mark()
            goe.start()
            back = state(probe, prefix, "wallbox", lambda s: s["error"] == 0, mark)
            assert (back["phases_in"], back["phases_out"]) == (1, 1)
            assert back["power"] == good["max_current"] * 230.0
            assert_alive(service)


# --- Škoda -----------------------------------------------------------------------------------------


def save_cloud(cloud: carcloud.Cloud, path: Path) -> None:
    """Atomically: the service process must never read a half-written cloud."""
    part = path.with_suffix(".part")
    carcloud.save(cloud, part)
    part.replace(path)


def test_car_process_with_skoda(mqtt_broker: Broker, probe: MqttProbe, prefix: str, tmp_path: Path) -> None:
    """Only the cloud is fake: the connector packages are shadowed by tests/fakes/carcloud_path."""
    cloud_file = tmp_path / "cloud.json"
    cloud = carcloud.Cloud()
    save_cloud(cloud, cloud_file)
    env = {"FAKE_CAR_CLOUD": str(cloud_file), "PYTHONPATH": f"{FAKES / 'carcloud_path'}{os.pathsep}{ROOT}"}
    car = {"type": "SkodaCar", "api_key": carcloud.PASSWORD, "vin": carcloud.VIN, "poll_interval": POLL}
    args = ["car", "-c", config_file(tmp_path, {"car": car}), "--log-level", "DEBUG"]
    # The cloud is asked only while the car is plugged in: a charging car, polled every poll_interval.
    probe.publish_json(f"{prefix}/wallbox/state", {"ts": time.time(), "car_status": 2, "power": 7000})
    with running(args, mqtt_broker, prefix, tmp_path, env) as service:
        first = state(probe, prefix, "car", lambda s: s["error"] == 0)
        assert (first["soc"], first["cruising_range"], first["mileage"]) == (62.0, 248.0, 18_342.0)
        assert first["data_captured_at"] == "2024-06-01T11:58:20+00:00"
        config = probe.wait_json(f"{prefix}/car/config", lambda c: c["type"] == "SkodaCar")
        assert config["vin"] == carcloud.VIN
        assert "api_key" not in config
        assert carcloud.PASSWORD not in json.dumps(config)

        soc = 62.0
        for minute, down in enumerate(("retrieval", "connection", "auth"), start=1):
            mark = probe.mark()
            cloud.down = down
            save_cloud(cloud, cloud_file)
            good, failures = failures_after(probe, prefix, "car", mark, 2)
            assert_kept(good, failures)
            soc += 2.5
            cloud.down = None
            cloud.vehicles[carcloud.VIN].soc = soc
            cloud.vehicles[carcloud.VIN].captured_at = f"2024-06-01T12:0{minute}:00+00:00"
            mark = probe.mark()
            save_cloud(cloud, cloud_file)
            back = state(probe, prefix, "car", lambda s: s["error"] == 0, mark)
            assert (back["soc"], back["data_captured_at"]) == (soc, f"2024-06-01T12:0{minute}:00+00:00")
            assert_alive(service)
        log = service.log()
        assert "read failed (1 in a row)" in log
        assert carcloud.PASSWORD not in log
