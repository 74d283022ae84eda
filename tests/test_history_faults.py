"""Issue 14's charging-history faults, injected for real: late meter values and absurd counters through
the real broker, `kill -9` of the gateway, a read-only or locked history file, out-of-range dates.

A real gateway process against a real Mosquitto (the process is the point for `kill -9`); the wallbox
is played by a probe publishing the state documents a wallbox service publishes.
"""

from __future__ import annotations

import contextlib
import csv
import io
import logging
import signal
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from pvcontrol.models import CarStatus, MeterData, WallboxData
from services.api.history.file import FILE_NAME, HistoryUnavailable
from services.api.history.recorder import History
from services.api.history.sessions import Session
from services.api.history.store import HistoryStore
from services.api.settings import HistorySettings
from tests.file_faults import locked, read_only
from tests.helpers import Broker, MqttProbe, wait_until
from tests.test_api_history import API, closed_session, gateway, gateway_process, meter, only_session

PLUGGED, CHARGING, UNPLUGGED = (
    int(CarStatus.WaitingForVehicle),
    int(CarStatus.Charging),
    int(CarStatus.NoVehicle),
)


def wallbox(probe: MqttProbe, ts: float, status: int, charged: float, total: float = 0.0) -> None:
    """A wallbox state as a wallbox service publishes it (retained)."""
    power = 3000.0 if status == CHARGING else 0.0
    probe.publish_json(
        f"{probe.prefix}/wallbox/state",
        {
            "ts": ts,
            "car_status": status,
            "charged_energy": charged,
            "total_energy": total,
            "power": power,
            "phases_out": 3 if power else 0,
            "phases_in": 3,
        },
    )


def all_sessions(url: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{url}{API}/sessions")
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["sessions"]
    return found


def test_a_late_meter_value_is_noise_not_a_new_count(
    mqtt_broker: Broker, prefix: str, tmp_path: Path, probe: MqttProbe
) -> None:
    """Item 5: an OCPP charge point's late MeterValues (10 Wh lower) published as the newest state."""
    t0 = time.time() - 2000
    meter(probe, pv=0, grid=11000)
    with gateway(mqtt_broker, prefix, tmp_path) as url:
        wallbox(probe, t0, CHARGING, 0)
        wait_until(lambda: only_session(url, 0))
        wallbox(probe, t0 + 1800, CHARGING, 5000)
        wait_until(lambda: only_session(url, 5000))
        wallbox(probe, t0 + 1810, CHARGING, 4990)  # the late one
        wallbox(probe, t0 + 1820, CHARGING, 5010)
        wallbox(probe, t0 + 1830, UNPLUGGED, 0)
        done = wait_until(lambda: closed_session(url, 5010), what="a closed 5010 Wh session")
        assert done["grid_wh"] == 5010


def charge_then_kill(broker: Broker, prefix: str, data_dir: Path, probe: MqttProbe, t0: float) -> int:
    """Plugged in at t0 (register 10,000 Wh), 290 Wh saved at t0 + 348, 300 Wh in memory only, kill -9."""
    meter(probe, pv=0, grid=3000)
    with gateway_process(broker, prefix, data_dir) as (url, process):
        wallbox(probe, t0, CHARGING, 0, 10_000)
        first = wait_until(lambda: only_session(url, 0))
        wallbox(probe, t0 + 348, CHARGING, 290, 10_290)
        wait_until(lambda: only_session(url, 290))
        wallbox(probe, t0 + 360, CHARGING, 300, 10_300)  # 12 s after the last save: in memory only
        wait_until(lambda: only_session(url, 300))
        process.terminate(signal.SIGKILL)
    stored = HistoryStore(data_dir / FILE_NAME).open_session()
    assert stored is not None
    assert stored.energy_wh == 290  # what the kill left in the file
    session_id: int = first["id"]
    return session_id


def test_kill_9_then_the_car_unplugged_before_the_restart(
    mqtt_broker: Broker, prefix: str, tmp_path: Path, probe: MqttProbe
) -> None:
    """Item 6: the session ends with the register's rise and an estimated end, not 290 Wh at restart."""
    t0 = time.time() - 2000
    session_id = charge_then_kill(mqtt_broker, prefix, tmp_path, probe, t0)
    wallbox(probe, t0 + 720, CHARGING, 600, 10_600)  # nobody listening
    wallbox(probe, t0 + 800, UNPLUGGED, 0, 10_600)  # an OCPP wallbox clears the count at unplug

    with gateway_process(mqtt_broker, prefix, tmp_path) as (url, process):
        done = wait_until(lambda: closed_session(url, 600), what="the session closed with 600 Wh")
        assert done["id"] == session_id
        assert done["end_estimated"] is True
        assert done["ended_at"] == pytest.approx(t0 + 720)  # last save + 310 Wh at 3 kW, not the restart
        assert done["grid_wh"] == 600
        assert "ended while the gateway was down: 600 Wh" in process.log()


def test_kill_9_then_another_car_charged_before_the_restart(
    mqtt_broker: Broker, prefix: str, tmp_path: Path, probe: MqttProbe
) -> None:
    """Item 6: 600 Wh for the first car and 260 Wh for the second, not one merged 550 Wh session."""
    t0 = time.time() - 2000
    session_id = charge_then_kill(mqtt_broker, prefix, tmp_path, probe, t0)
    wallbox(probe, t0 + 720, CHARGING, 600, 10_600)
    wallbox(probe, t0 + 800, UNPLUGGED, 0, 10_600)
    wallbox(probe, t0 + 900, CHARGING, 0, 10_600)  # the second car
    wallbox(probe, t0 + 1212, CHARGING, 260, 10_860)

    with gateway_process(mqtt_broker, prefix, tmp_path) as (url, _):
        found = wait_until(lambda: (s := all_sessions(url))[1:] and s, what="two sessions")
        second, first = found
        assert (first["id"], first["energy_wh"], first["open"]) == (session_id, 600, False)
        assert first["ended_at"] == pytest.approx(t0 + 720)
        assert (second["energy_wh"], second["open"], second["started_at"]) == (260, True, t0 + 1212)
        wallbox(probe, t0 + 1222, CHARGING, 270, 10_870)
        wait_until(lambda: all_sessions(url)[0]["energy_wh"] == 270, what="the second one going on")


def test_a_history_file_read_only_at_start_is_retried(
    mqtt_broker: Broker, prefix: str, tmp_path: Path, probe: MqttProbe
) -> None:
    """Item 7: read-only for the first seconds: 503, then sessions are recorded again."""
    path = tmp_path / FILE_NAME
    HistoryStore(path).close()
    with contextlib.ExitStack() as fault:
        fault.enter_context(read_only(path))
        with gateway_process(mqtt_broker, prefix, tmp_path) as (url, process):
            response = httpx.get(f"{url}{API}/sessions")
            assert response.status_code == 503
            assert "readonly" in response.json()["detail"]
            fault.close()  # writable again
            wait_until(lambda: httpx.get(f"{url}{API}/sessions").status_code == 200, what="the file retried")
            now = time.time()
            wallbox(probe, now - 100, CHARGING, 0)
            wait_until(lambda: only_session(url, 0))
            wallbox(probe, now - 50, CHARGING, 40)
            wallbox(probe, now, UNPLUGGED, 0)
            wait_until(lambda: closed_session(url, 40))
            assert process.terminate() == 0
            log = process.log()
    assert len([line for line in log.splitlines() if "no history" in line]) == 1
    assert len([line for line in log.splitlines() if "usable again after" in line]) == 1
    assert "start_fresh_if_corrupt" not in log  # it is not corrupt
    assert [s.energy_wh for s in HistoryStore(path).sessions()] == [40]


def test_a_history_file_locked_at_start_is_retried_with_backoff(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Item 7, in process with a frozen clock: locked by another writer, tried again after 1 s, 2 s, ..."""
    caplog.set_level(logging.INFO)
    path = tmp_path / FILE_NAME
    store = HistoryStore(path)
    store.save(Session(started_at=0, updated_at=100, energy_wh=50, last_charged_energy=50))
    store.close()
    clock = [0.0]
    history = History(HistorySettings(data_dir=tmp_path), logging.getLogger("test.history"), lambda: clock[0])

    def charging(ts: float, charged: float) -> WallboxData:
        return WallboxData(ts=ts, car_status=CarStatus.Charging, charged_energy=charged, power=3000)

    with locked(path):
        history.open()
        with pytest.raises(HistoryUnavailable, match="locked"):
            history.page(None, None, 50, 0)
        clock[0] = 1.0  # the first retry: still locked, the next one in 2 s
        assert not history.wallbox(charging(200, 100))
        assert history.store is None
    clock[0] = 2.5
    assert not history.wallbox(charging(210, 110))
    assert history.store is None  # not tried before 3 s
    clock[0] = 3.0
    history.wallbox(charging(220, 120))
    assert history.store is not None
    [resumed] = history.page(None, None, 50, 0).sessions
    assert resumed.energy_wh == 120  # the counter tells what was charged meanwhile
    messages = [r.getMessage() for r in caplog.records]
    assert len([m for m in messages if "no history" in m]) == 1
    assert len([m for m in messages if "usable again after 3 s" in m]) == 1
    assert not any("start_fresh_if_corrupt" in m for m in messages)


def test_an_absurd_charged_energy_never_gives_sessions_of_inf(
    mqtt_broker: Broker, prefix: str, tmp_path: Path, probe: MqttProbe
) -> None:
    """Item 7: an OCPP register of 1e308, 0, 1.7e308 Wh."""
    t0 = time.time() - 2000
    meter(probe, pv=0, grid=3000)
    with gateway_process(mqtt_broker, prefix, tmp_path) as (url, process):
        wallbox(probe, t0, CHARGING, 0)
        wait_until(lambda: only_session(url, 0))
        wallbox(probe, t0 + 600, CHARGING, 500)
        for offset, charged in ((610, 1e308), (620, 0), (630, 1.7e308), (640, 1e308)):
            wallbox(probe, t0 + offset, CHARGING, charged)
        wallbox(probe, t0 + 650, CHARGING, 510)
        wallbox(probe, t0 + 660, CHARGING, 520)
        wallbox(probe, t0 + 670, UNPLUGGED, 0)
        done = wait_until(lambda: closed_session(url, 520), what="the session closed with 520 Wh")
        assert done["grid_wh"] == 520  # the glitch (a 0 between the absurd ones) is forgotten
        text = httpx.get(f"{url}{API}/sessions.csv").text
        assert "inf" not in text
        assert "nan" not in text
        [row] = list(csv.DictReader(io.StringIO(text)))
        assert row["energy_wh"] == "520.0"
        warnings = [line for line in process.log().splitlines() if "implausible wallbox" in line]
        assert len(warnings) == 1  # one for the run, not one per absurd reading


@pytest.mark.parametrize("path", ["sessions", "sessions.csv"])
def test_out_of_range_dates_are_422(mqtt_broker: Broker, prefix: str, tmp_path: Path, path: str) -> None:
    """Item 12."""
    with gateway(mqtt_broker, prefix, tmp_path) as url:
        for query in ({"to": "9999-12-31"}, {"from": "0001-01-01"}, {"from": "1970-01-01"}):
            response = httpx.get(f"{url}{API}/{path}", params=query)
            assert response.status_code == 422, (query, response.text)
            assert "out of range: 1970-01-02 to 9999-12-30" in response.json()["detail"]
        widest = httpx.get(f"{url}{API}/{path}", params={"from": "1970-01-02", "to": "9999-12-30"})
        assert widest.status_code == 200


def test_implausible_meter_readings_stay_out_of_the_power_history(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Item 7 (plausibility of what the history receives): a meter's 1e308 W is not averaged in."""
    minute = int(time.time() // 60) * 60 - 120
    history = History(HistorySettings(data_dir=tmp_path), logging.getLogger("test.history"))
    history.open()
    for offset, pv in ((1, 1000.0), (20, 1e308), (40, 3000.0), (61, 5e6), (80, 500.0)):
        history.meter(MeterData(ts=minute + offset, power_pv=pv, power_consumption=500))
    history.meter(MeterData(ts=minute + 121, power_pv=0, power_consumption=500))
    samples = history.samples(0)
    assert [(s.ts, s.power_pv) for s in samples] == [(minute, 2000), (minute + 60, 500)]
    assert len([r for r in caplog.records if "implausible meter" in r.getMessage()]) == 1
