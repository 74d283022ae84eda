"""The gateway keeps the history file: sessions from the state documents, REST over it, the car's goals.

A real gateway process against a real Mosquitto; the other services are played by a probe publishing
their state documents.
"""

from __future__ import annotations

import csv
import io
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from pvcontrol.broker import BrokerAddress
from pvcontrol.topics import Topics
from pvcontrol_app.cli import build
from pvcontrol_app.settings import load_settings
from services.api.history.file import FILE_NAME
from services.api.history.store import HistoryStore, PowerSample
from services.api.service import ApiService
from tests.helpers import (
    Broker,
    MqttProbe,
    ServiceProcess,
    running_gateway,
    wait_until,
)

API = "/api/pvcontrol"
DAY = 86400
JSON = {"content-type": "application/json"}


@contextmanager
def gateway(
    broker: Broker, prefix: str, data_dir: Path, port: int | None = None, env: dict[str, str] | None = None
) -> Iterator[str]:
    with gateway_process(broker, prefix, data_dir, port, env) as (url, _):
        yield url


@contextmanager
def gateway_process(
    broker: Broker, prefix: str, data_dir: Path, port: int | None = None, env: dict[str, str] | None = None
) -> Iterator[tuple[str, ServiceProcess]]:
    env = {"PVC_HISTORY__DATA_DIR": str(data_dir), "PVC_API__UI_DIR": str(data_dir), **(env or {})}
    with running_gateway(broker, prefix, data_dir, env, port) as (url, process):
        yield url, process


def meter(probe: MqttProbe, *, pv: float, grid: float, ts: float | None = None, battery: float = 0.0) -> None:
    consumption = pv + grid + battery
    probe.publish_json(
        f"{probe.prefix}/meter/state",
        {
            "ts": ts or time.time(),
            "power_pv": pv,
            "power_grid": grid,
            "power_battery": battery,
            "power_consumption": consumption,
        },
    )


def wallbox(
    probe: MqttProbe,
    *,
    car_status: int,
    energy: float,
    power: float = 0.0,
    phases: int = 0,
    ago: float = 0.0,
) -> None:
    """A wallbox state stamped `ago` s in the past (energy rises must be ones a charger can make)."""
    probe.publish_json(
        f"{probe.prefix}/wallbox/state",
        {
            "ts": time.time() - ago,
            "car_status": car_status,
            "charged_energy": energy,
            "power": power,
            "phases_out": phases,
            "phases_in": phases,
        },
    )


def sessions(url: str, **params: Any) -> dict[str, Any]:
    response = httpx.get(f"{url}{API}/sessions", params=params)
    assert response.status_code == 200, response.text
    document: dict[str, Any] = response.json()
    return document


def only_session(url: str, energy: float) -> dict[str, Any] | None:
    found = sessions(url)["sessions"]
    return found[0] if len(found) == 1 and found[0]["energy_wh"] == energy else None


def closed_session(url: str, energy: float) -> dict[str, Any] | None:
    found = only_session(url, energy)
    return found if found is not None and not found["open"] else None


def test_a_session_from_plug_in_to_unplug(
    mqtt_broker: Broker, prefix: str, tmp_path: Path, probe: MqttProbe
) -> None:
    with gateway(mqtt_broker, prefix, tmp_path) as url:
        probe.publish_json(f"{prefix}/car/state", {"ts": time.time(), "soc": 40})
        meter(probe, pv=6000, grid=0)
        wait_until(lambda: httpx.get(f"{url}{API}").json()["meter"]["power_pv"] == 6000)
        wallbox(probe, car_status=2, energy=0, power=4000, phases=3, ago=300)
        wait_until(lambda: only_session(url, 0))
        wallbox(probe, car_status=2, energy=1000, power=4000, phases=3, ago=200)  # all solar
        wait_until(lambda: only_session(url, 1000))
        meter(probe, pv=1000, grid=3000)
        wait_until(lambda: httpx.get(f"{url}{API}").json()["meter"]["power_grid"] == 3000)
        probe.publish_json(f"{prefix}/car/state", {"ts": time.time(), "soc": 55})
        wallbox(probe, car_status=2, energy=2000, power=4000, phases=1, ago=100)  # 3/4 from the grid
        wait_until(lambda: only_session(url, 2000))
        wallbox(probe, car_status=1, energy=2000)
        done = wait_until(lambda: closed_session(url, 2000))

        assert done["pv_wh"] == 1250
        assert done["grid_wh"] == 750
        assert done["battery_wh"] == 0
        assert done["solar_share"] == 0.625
        assert done["cost"] == pytest.approx(0.75 * 0.30 + 1.25 * 0.08)  # bought + feed-in forgone
        assert (done["soc_start"], done["soc_end"]) == (40, 55)
        assert done["phases"] == [1, 3]
        assert done["peak_power_w"] == 4000
        assert done["ended_at"] >= done["started_at"]

        rows = list(csv.DictReader(io.StringIO(httpx.get(f"{url}{API}/sessions.csv").text)))
        assert len(rows) == 1
        assert rows[0]["energy_wh"] == "2000.0"
        assert rows[0]["grid_wh"] == "750.0"
        assert rows[0]["phases"] == "1 3"

        totals = httpx.get(f"{url}{API}/sessions/totals").json()
        assert totals["months"][0]["month"] == time.strftime("%Y-%m")
        assert totals["months"][0]["sessions"] == 1
        assert totals["total"]["energy_wh"] == 2000

        metrics = httpx.get(f"{url}/metrics").text
        assert 'pvcontrol_sessions_energy_wh_total{source="pv"} 1250.0' in metrics
        assert 'pvcontrol_sessions_energy_wh_total{source="grid"} 750.0' in metrics

    today = time.strftime("%Y-%m-%d")
    with gateway(mqtt_broker, prefix, tmp_path) as url:  # stored, not kept in memory
        assert sessions(url, **{"from": today, "to": today})["total"] == 1
        assert sessions(url, **{"from": "2000-01-01", "to": "2000-12-31"})["total"] == 0


def test_a_session_survives_kill_9_of_the_gateway(
    mqtt_broker: Broker, prefix: str, tmp_path: Path, probe: MqttProbe
) -> None:
    meter(probe, pv=0, grid=5000)
    with gateway_process(mqtt_broker, prefix, tmp_path) as (url, process):
        wallbox(probe, car_status=2, energy=100, power=3000, phases=3, ago=300)
        first = wait_until(lambda: only_session(url, 0))
        wallbox(probe, car_status=2, energy=600, power=3000, phases=3, ago=200)
        wait_until(lambda: only_session(url, 500))  # in memory; saved only every 30 s
        process.terminate(signal.SIGKILL)

    wallbox(probe, car_status=2, energy=1600, power=3000, phases=3)  # charged while the gateway was dead
    with gateway_process(mqtt_broker, prefix, tmp_path) as (url, process):
        resumed = wait_until(lambda: only_session(url, 1500))
        assert resumed["id"] == first["id"]
        assert resumed["open"]
        wallbox(probe, car_status=1, energy=1600)
        closed = wait_until(lambda: closed_session(url, 1500))
        assert closed["grid_wh"] == 1500
        assert "resumed the open charging session" in process.log()


def test_power_history_per_minute(mqtt_broker: Broker, prefix: str, tmp_path: Path, probe: MqttProbe) -> None:
    minute = int(time.time() // 60) * 60 - 180
    with gateway(mqtt_broker, prefix, tmp_path) as url:
        wallbox(probe, car_status=2, energy=0, power=1400, phases=1)
        wait_until(lambda: httpx.get(f"{url}{API}").json()["wallbox"]["power"] == 1400)
        for offset, pv in ((1, 1000), (30, 2000), (61, 500), (121, 0)):
            meter(probe, pv=pv, grid=0, ts=minute + offset)
        history = wait_until(lambda: (h := httpx.get(f"{url}{API}/history?hours=1").json())["ts"][-2:] and h)
        assert history["ts"] == [minute, minute + 60]
        assert history["power_pv"] == [1500, 500]
        assert history["power_car"] == [1400, 1400]
        assert httpx.get(f"{url}{API}/history").status_code == 200  # 24 h by default


def test_old_power_samples_are_forgotten(
    mqtt_broker: Broker, prefix: str, tmp_path: Path, probe: MqttProbe
) -> None:
    minute = int(time.time() // 60) * 60
    store = HistoryStore(tmp_path / FILE_NAME)
    for ts in (minute - 2 * DAY, minute - DAY // 2):
        store.add_sample(PowerSample(ts, 1, 0, 0, 1, 0))
    store.close()
    env = {"PVC_HISTORY__KEEP_SAMPLES_DAYS": "1"}
    with gateway(mqtt_broker, prefix, tmp_path, env=env) as url:
        meter(probe, pv=100, grid=0, ts=minute - 61)
        meter(probe, pv=100, grid=0, ts=minute - 1)  # a new minute: the one before is stored
        history = wait_until(
            lambda: (h := httpx.get(f"{url}{API}/history?hours=168").json())["ts"][-1] == minute - 120 and h
        )
        assert history["ts"] == [minute - DAY // 2, minute - 120]  # the two-day-old one is gone
    kept = HistoryStore(tmp_path / FILE_NAME)
    assert [s.ts for s in kept.samples(since=0)] == [minute - DAY // 2, minute - 120]
    kept.close()


@pytest.mark.parametrize(
    "query",
    [
        "sessions?page=0",
        "sessions?page_size=201",
        "sessions?page=x",
        "sessions?from=2026-13-01",
        "sessions?from=2026-05-02&to=2026-05-01",
        "sessions.csv?to=yesterday",
        "history?hours=0",
        "history?hours=169",
        "history?hours=nan",
    ],
)
def test_bad_queries_are_422(mqtt_broker: Broker, prefix: str, tmp_path: Path, query: str) -> None:
    with gateway(mqtt_broker, prefix, tmp_path) as url:
        response = httpx.get(f"{url}{API}/{query}")
        assert response.status_code == 422
        assert response.json()["detail"]


def announce_controller(probe: MqttProbe, **state: Any) -> None:
    probe.publish_json(f"{probe.prefix}/controller/config", {"type": "ChargeController"})
    probe.publish(f"{probe.prefix}/controller/status", "online", retain=True)
    probe.publish_json(f"{probe.prefix}/controller/state", {"ts": time.time(), **state})


def put(url: str, name: str, body: object) -> httpx.Response:
    return httpx.put(f"{url}{API}/controller/{name}", json=body)


def test_goals_are_published_and_bad_ones_refused(
    mqtt_broker: Broker, prefix: str, tmp_path: Path, probe: MqttProbe
) -> None:
    with gateway(mqtt_broker, prefix, tmp_path) as url:
        assert put(url, "min_soc", 30).status_code == 503  # no controller yet: nothing is sent
        announce_controller(probe, min_soc=60, limit_soc=90)
        wait_until(lambda: put(url, "min_soc", 30).status_code == 204, what="controller online")
        assert probe.wait_for(f"{prefix}/controller/min_soc/set").payload == b"30"
        mark = probe.mark()
        for name, body in (
            ("min_soc", 101),
            ("min_soc", -1),
            ("min_soc", "50"),
            ("min_soc", 50.0),
            ("min_soc", True),
            ("min_soc", 95),  # above the limit of 90
            ("limit_soc", 0),
            ("limit_soc", 101),
            ("limit_soc", 50),  # below the minimum of 60
            ("plan", {"soc": 80, "time": "25:00"}),
            ("plan", {"soc": 0, "time": "07:00"}),
            ("plan", {"soc": 80, "time": "07:00", "days": ["monday"]}),
            ("plan", {"soc": 80, "time": "07:00", "when": "soon"}),
            ("plan", "07:00"),
            ("plan", [80, "07:00"]),
            ("price_limit", "0.1"),
            ("price_limit", True),
            ("price_limit", 25),  # cents, not per kWh
            ("price_limit", 1e300),
            ("price_limit", {"limit": 0.1}),
        ):
            response = put(url, name, body)
            assert response.status_code == 422, (name, body, response.text)
            assert response.json()["detail"]
        assert put(url, "limit_soc", 100).status_code == 204  # 100 = no limit
        assert put(url, "min_soc", 0).status_code == 204  # 0 = no minimum
        assert put(url, "plan", {"soc": 80, "time": "07:00", "days": ["fri", "mon"]}).status_code == 204
        assert httpx.put(f"{url}{API}/controller/plan", content=b"null", headers=JSON).status_code == 204
        assert put(url, "price_limit", 0.15).status_code == 204
        assert put(url, "price_limit", -0.02).status_code == 204
        assert (
            httpx.put(f"{url}{API}/controller/price_limit", content=b"null", headers=JSON).status_code == 204
        )

        def price_limits() -> list[bytes] | None:
            payloads = [m.payload for m in probe.since(mark, f"{prefix}/controller/price_limit/set")]
            return payloads if len(payloads) == 3 else None

        assert wait_until(price_limits) == [b"0.15", b"-0.02", b""]
        topic = f"{prefix}/controller/plan/set"
        plans = wait_until(lambda: (p := [m.payload for m in probe.since(mark, topic)])[1:] and p)
        assert plans == [b'{"soc": 80, "time": "07:00", "days": ["mon", "fri"]}', b""]
        assert [m.payload for m in probe.since(mark, f"{prefix}/controller/limit_soc/set")] == [b"100"]
        assert [m.payload for m in probe.since(mark, f"{prefix}/controller/min_soc/set")] == [b"0"]


def test_a_corrupt_file_answers_503_and_the_rest_works(
    mqtt_broker: Broker, prefix: str, tmp_path: Path, probe: MqttProbe
) -> None:
    (tmp_path / FILE_NAME).write_bytes(b"this is not a database" * 100)
    with gateway_process(mqtt_broker, prefix, tmp_path) as (url, process):
        for path in ("sessions", "sessions.csv", "sessions/totals", "history?hours=24"):
            response = httpx.get(f"{url}{API}/{path}")
            assert response.status_code == 503
            assert "not a database" in response.json()["detail"]
        meter(probe, pv=1234, grid=0)
        wait_until(lambda: httpx.get(f"{url}{API}").json()["meter"]["power_pv"] == 1234)
        wallbox(probe, car_status=2, energy=10, power=1000, phases=1)  # nothing to write to: no harm
        announce_controller(probe)
        wait_until(lambda: put(url, "min_soc", 20).status_code == 204, what="commands still work")
        errors = [line for line in process.log().splitlines() if "no history" in line]
        assert len(errors) == 1
        assert "start_fresh_if_corrupt" in errors[0]
        assert "Traceback" not in process.log()
    assert (tmp_path / FILE_NAME).read_bytes().startswith(b"this is not")  # left as it was


def test_the_history_file_lives_beside_the_config_file(tmp_path: Path) -> None:
    config = tmp_path / "conf" / "pvcontrol.yaml"
    config.parent.mkdir()
    config.write_text("history:\n  grid_price: 0.25\n")
    settings = load_settings(config, {})
    settings.history.data_dir = None  # as without PVC_HISTORY__DATA_DIR
    broker = BrokerAddress.from_settings(settings.mqtt)
    service = build("api", settings, broker, Topics("x"), "host", config)
    assert isinstance(service, ApiService)
    assert service.history is not None
    assert service.history.path == config.parent / FILE_NAME
    assert service.history.tariff.grid_price == 0.25


def test_session_totals_on_the_gateway_state_and_home_assistant(
    mqtt_broker: Broker, prefix: str, tmp_path: Path
) -> None:
    ha = MqttProbe(mqtt_broker, prefix)
    ha.start(extra_topics=("homeassistant/#",))
    try:
        with gateway(mqtt_broker, prefix, tmp_path):
            ha.wait_json(f"{prefix}/api/state", lambda s: s["sessions"] == {**EMPTY_TOTALS})
            meter(ha, pv=0, grid=2000)
            wallbox(ha, car_status=2, energy=0, power=2000, phases=1, ago=200)
            wallbox(ha, car_status=2, energy=1000, power=2000, phases=1, ago=100)
            wallbox(ha, car_status=1, energy=1000)
            state = ha.wait_json(f"{prefix}/api/state", lambda s: s["sessions"]["energy_wh"] == 1000)
            assert state["sessions"] == {
                **EMPTY_TOTALS,
                "count": 1,
                "energy_wh": 1000,
                "grid_wh": 1000,
                "cost": 0.3,
            }

            def config(kind: str, object_id: str) -> dict[str, Any]:
                """Our gateway's document, on its prefix's own topic."""
                document: dict[str, Any] = ha.wait_json(
                    f"homeassistant/{kind}/{prefix}/pvcontrol_{object_id}/config", bool
                )
                return document

            energy = config("sensor", "sessions_energy_grid")
            assert energy["state_topic"] == f"{prefix}/api/state"
            assert energy["availability_topic"] == f"{prefix}/api/status"
            assert "value_json.sessions.grid_wh" in energy["value_template"]
            assert (energy["device_class"], energy["state_class"]) == ("energy", "total_increasing")
            minimum = config("number", "min_soc")
            assert minimum["command_topic"] == f"{prefix}/controller/min_soc/set"
            assert (minimum["min"], minimum["max"], minimum["unit_of_measurement"]) == (0, 100, "%")
            assert config("number", "limit_soc")["command_topic"] == f"{prefix}/controller/limit_soc/set"
            price_limit = config("number", "price_limit")
            assert price_limit["command_topic"] == f"{prefix}/controller/price_limit/set"
            assert "value_json.price_limit" in price_limit["value_template"]
            plan = config("text", "plan")
            assert plan["command_topic"] == f"{prefix}/controller/plan/set"
            assert config("sensor", "plan_finish")["device_class"] == "timestamp"
            full_at = config("sensor", "home_battery_full_at")
            assert (full_at["device_class"], full_at["state_topic"]) == (
                "timestamp",
                f"{prefix}/controller/state",
            )
            assert "value_json.home_battery.full_at" in full_at["value_template"]
    finally:
        ha.stop()


EMPTY_TOTALS = {"count": 0, "energy_wh": 0, "pv_wh": 0, "battery_wh": 0, "grid_wh": 0, "cost": 0}
