"""Charging sessions (the pure fold) and the SQLite history file (migrations, WAL, corrupt files)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from pvcontrol.models import CarData, CarStatus, MeterData, WallboxData
from services.history.samples import MinuteAverages
from services.history.sessions import Session, Tariff, step
from services.history.store import MIGRATIONS, HistoryError, HistoryStore, PowerSample

PLUGGED, CHARGING, UNPLUGGED = CarStatus.WaitingForVehicle, CarStatus.Charging, CarStatus.NoVehicle


def wb(status: CarStatus, charged: float = 0.0, power: float = 0.0, phases: int = 0) -> WallboxData:
    return WallboxData(ts=0, car_status=status, charged_energy=charged, power=power, phases_out=phases)


def meter(grid: float = 0.0, battery: float = 0.0) -> MeterData:
    return MeterData(ts=0, power_grid=grid, power_battery=battery)


@pytest.mark.parametrize(
    ("grid", "battery", "expected"),
    [
        pytest.param(-500, 0, (1000, 0, 0), id="exporting-all-1000Wh-pv"),
        pytest.param(1000, 0, (500, 0, 500), id="importing-1000W-of-2000W-half-grid"),
        pytest.param(3000, 0, (0, 0, 1000), id="importing-more-than-the-car-all-grid"),
        pytest.param(0, 500, (750, 250, 0), id="battery-500W-of-2000W-quarter-battery"),
        pytest.param(1000, 1500, (0, 500, 500), id="grid-first-then-battery"),
        pytest.param(0, -1000, (1000, 0, 0), id="battery-charging-is-not-a-source"),
    ],
)
def test_energy_is_split_by_the_power_flows_of_the_moment(
    grid: float, battery: float, expected: tuple[float, float, float]
) -> None:
    session = step(None, wb(CHARGING, charged=0, power=2000, phases=1), meter(), None, at=0)
    charged = wb(CHARGING, charged=1000, power=2000, phases=1)
    session = step(session, charged, meter(grid, battery), None, at=1800)
    assert session is not None
    assert (session.pv_wh, session.battery_wh, session.grid_wh) == pytest.approx(expected)
    assert session.energy_wh == pytest.approx(1000)


def test_a_session_runs_from_plug_in_to_unplug() -> None:
    car = CarData(ts=0, soc=40)
    assert step(None, wb(UNPLUGGED), meter(), car, at=0) is None
    session = step(None, wb(PLUGGED), meter(), car, at=10)
    assert session is not None
    assert (session.started_at, session.soc_start, session.energy_wh) == (10, 40, 0)
    session = step(session, wb(CHARGING, 0, 11000, 3), meter(-2000), car, at=20)
    session = step(session, wb(CHARGING, 2000, 11000, 3), meter(-2000), CarData(ts=0, soc=44), at=700)
    session = step(session, wb(CHARGING, 2100, 1400, 1), meter(-100), CarData(ts=0, soc=44), at=730)
    session = step(session, wb(UNPLUGGED, 0), meter(), CarData(ts=0, soc=44.5), at=800)
    assert session is not None
    assert not session.open
    assert session.ended_at == 800
    assert session.energy_wh == pytest.approx(2100)
    assert session.peak_power_w == 11000
    assert session.phases == {1, 3}
    assert (session.soc_start, session.soc_end) == (40, 44.5)
    assert step(session, wb(UNPLUGGED), meter(), None, at=900) is None


def test_a_wallbox_counter_restart_adds_the_new_count() -> None:
    session = step(None, wb(CHARGING, 5000, 2000), meter(-3000), None, at=0)
    session = step(session, wb(CHARGING, 300, 2000), meter(-3000), None, at=30)
    assert session is not None
    assert session.energy_wh == pytest.approx(300)


def test_without_a_meter_reading_energy_counts_as_bought() -> None:
    session = step(None, wb(CHARGING, 0, 2000), None, None, at=0)
    session = step(session, wb(CHARGING, 100, 2000), None, None, at=30)
    assert session is not None
    assert session.grid_wh == pytest.approx(100)


@pytest.mark.parametrize(
    ("pv", "battery", "grid", "expected"),
    [
        pytest.param(10_000, 0, 0, 0.8, id="10kWh-pv-forgoes-0.80"),
        pytest.param(0, 0, 10_000, 3.0, id="10kWh-grid-costs-3.00"),
        pytest.param(5000, 2000, 3000, 1.46, id="mixed-1.46"),
    ],
)
def test_cost_is_grid_bought_plus_feed_in_forgone(
    pv: float, battery: float, grid: float, expected: float
) -> None:
    session = Session(started_at=0, pv_wh=pv, battery_wh=battery, grid_wh=grid, energy_wh=pv + battery + grid)
    assert session.cost(Tariff(grid_price=0.30, feed_in_tariff=0.08)) == pytest.approx(expected)


# --- the SQLite file -------------------------------------------------------------------------------


def test_sessions_are_stored_and_the_open_one_is_resumed(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    store = HistoryStore(path)
    done = store.save(Session(started_at=100, ended_at=200, updated_at=200, energy_wh=5000, pv_wh=5000))
    running = store.save(Session(started_at=300, updated_at=310, energy_wh=10, last_charged_energy=10))
    assert done.id != running.id
    store.save(Session(**{**running.__dict__, "energy_wh": 20.0, "updated_at": 320}))
    store.close()

    reopened = HistoryStore(path)
    resumed = reopened.open_session()
    assert resumed is not None
    assert (resumed.id, resumed.started_at, resumed.energy_wh, resumed.last_charged_energy) == (
        running.id,
        300,
        20.0,
        10,
    )
    assert [s.started_at for s in reopened.sessions()] == [300, 100]
    assert reopened.count(since=250) == 1
    assert reopened.totals()["pv"] == 5000


def test_the_file_is_in_wal_mode_at_the_newest_schema(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path / "history.sqlite")
    assert store.schema_version == len(MIGRATIONS)
    with sqlite3.connect(tmp_path / "history.sqlite") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_an_old_file_is_migrated_forward_keeping_its_sessions(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    with sqlite3.connect(path) as db:  # a file written by a version that knew only migration 1
        db.executescript(MIGRATIONS[0] + "; PRAGMA user_version = 1;")
        db.execute("INSERT INTO sessions (started_at, updated_at, energy_wh) VALUES (1, 2, 3000)")
    store = HistoryStore(path)
    assert store.schema_version == len(MIGRATIONS)
    assert store.sessions()[0].energy_wh == 3000
    store.add_sample(PowerSample(60, 1, 2, 3, 4, 5))
    assert store.samples(since=0) == [PowerSample(60, 1, 2, 3, 4, 5)]


def test_a_corrupt_file_is_an_error_unless_told_to_start_fresh(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(HistoryError, match="is corrupt"):
        HistoryStore(path)
    assert path.read_bytes().startswith(b"this is not")  # untouched
    store = HistoryStore(path, start_fresh_if_corrupt=True)
    assert store.set_aside is not None
    assert store.set_aside.read_bytes().startswith(b"this is not")
    assert store.sessions() == []


def test_a_file_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    with pytest.raises(HistoryError, match="newer"):
        HistoryStore(path, start_fresh_if_corrupt=False)


def test_minute_averages() -> None:
    averages = MinuteAverages()
    assert averages.add(0, pv=1000, grid=0, battery=0, consumption=500) is None
    averages.car_power = 1380
    assert averages.add(30, pv=2000, grid=-100, battery=0, consumption=600) is None
    sample = averages.add(61, pv=0, grid=0, battery=0, consumption=0)
    assert sample == PowerSample(0, 1500, -50, 0, 550, 690)
