"""Charging sessions (the pure fold) and the SQLite history file (migrations, WAL, corrupt files)."""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import pytest

from pvcontrol.models import CarData, CarStatus, MeterData, WallboxData
from services.api.history.resume import resume
from services.api.history.samples import MinuteAverages
from services.api.history.schema import MIGRATIONS, HistoryError
from services.api.history.sessions import Session, Tariff, step
from services.api.history.store import HistoryStore, PowerSample
from tests.file_faults import fill, full_disk, locked, read_only

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


def test_a_wallbox_counter_restart_adds_the_new_count_once_the_count_goes_on_from_it() -> None:
    session = step(None, wb(CHARGING, 5000, 2000), meter(-3000), None, at=0)
    session = step(session, wb(CHARGING, 300, 2000), meter(-3000), None, at=30)
    session = step(session, wb(CHARGING, 310, 2000), meter(-3000), None, at=40)  # goes on from 300
    assert session is not None
    assert session.energy_wh == pytest.approx(310)


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


# --- the counters: noise is not a reset, a broken counter is not energy (issue 14, item 5 and 7) ----------


def fold(readings: Sequence[tuple[float, float]]) -> Session:
    """Plug in, one wallbox state per (at, charged_energy), unplug; the closed session."""
    session = None
    for at, charged in readings:
        state = wb(CHARGING, charged, power=11000, phases=3)
        session = step(session, state, meter(grid=11000), None, at)
    session = step(session, wb(UNPLUGGED), meter(), None, readings[-1][0] + 10)
    assert session is not None
    assert not session.open
    return session


@pytest.mark.parametrize(
    ("readings", "expected"),
    [
        pytest.param([(0, 0), (1800, 5000), (1810, 4990), (1820, 5010)], 5010, id="late-reading-10Wh-lower"),
        pytest.param([(0, 0), (1800, 5000), (1790, 4800), (1820, 5010)], 5010, id="older-timestamp"),
        pytest.param([(0, 0), (1800, 5000), (1810, 4800), (1820, 4850), (1830, 5010)], 5010, id="2-late"),
        pytest.param([(0, 0), (60, 150), (70, 60), (80, 170)], 170, id="90Wh-back-at-the-start"),
        pytest.param([(0, 0), (1800, 5000), (1830, 3), (1840, 40)], 5040, id="reset-to-near-zero"),
        pytest.param([(0, 0), (3600, 10000), (5400, 6000), (5410, 6030)], 16030, id="reset-large-drop"),
        pytest.param([(0, 0), (3600, 10000), (3630, 7000), (3640, 7030)], 10030, id="reset-to-a-new-base"),
    ],
)
def test_late_or_jittering_counters_are_noise_and_a_real_reset_adds_the_new_count(
    readings: Sequence[tuple[float, float]], expected: float
) -> None:
    assert fold(readings).energy_wh == pytest.approx(expected)


@pytest.mark.parametrize(
    "absurd", [1e308, 1.7e308, 2_000_000.0, 600_000.0], ids=["1e308", "1.7e308", "2MWh", "600kWh-in-10s"]
)
def test_a_counter_no_charger_can_produce_adds_nothing(absurd: float) -> None:
    readings = [(0, 0), (1800, 5000), (1810, absurd), (1820, 0), (1830, absurd), (1840, 5020), (1850, 5030)]
    session = fold(readings)
    # A glitch is forgotten once the count goes on from before it
    assert session.energy_wh == pytest.approx(5030)
    assert math.isfinite(session.grid_wh)


# --- after the gateway was down (issue 14, item 6) -----------------------------------------------------

# As saved before a `kill -9`: plugged in at 0 with the register at 10,000 Wh, 290 Wh by 348 s at 3 kW.
SAVED = Session(
    id=7,
    started_at=0,
    updated_at=348,
    energy_wh=290,
    grid_wh=290,
    peak_power_w=3000,
    last_charged_energy=290,
    last_total_energy=10_290,
)


def now_reads(status: CarStatus, charged: float, total: float) -> WallboxData:
    power = 3000.0 if status == CHARGING else 0.0
    return WallboxData(ts=0, car_status=status, charged_energy=charged, total_energy=total, power=power)


@pytest.mark.parametrize(
    ("charged", "total", "energy", "ended_at"),
    [
        pytest.param(0, 10_600, 600, 720, id="register-rose-310Wh-count-cleared"),
        pytest.param(600, 0, 600, 720, id="no-register-count-still-shown"),
        pytest.param(0, 0, 290, 348, id="no-register-count-cleared-not-recoverable"),
        pytest.param(0, 1e9, 290, 348, id="register-jumped-beyond-a-charger"),
    ],
)
def test_a_car_unplugged_while_the_gateway_was_down_ends_with_the_counters(
    charged: float, total: float, energy: float, ended_at: float
) -> None:
    ended, current = resume(SAVED, now_reads(UNPLUGGED, charged, total), meter(), None, at=1000)
    assert current is None
    assert ended is not None
    assert ended.id == 7
    assert (ended.energy_wh, ended.grid_wh) == pytest.approx((energy, energy))
    assert ended.ended_at == pytest.approx(ended_at)  # the last save + the missing energy at peak power
    assert ended.end_estimated


def test_the_estimated_end_is_never_after_the_gateway_saw_the_car_gone() -> None:
    ended, _ = resume(SAVED, now_reads(UNPLUGGED, 0, 10_600), meter(), None, at=400)
    assert ended is not None
    assert ended.ended_at == 400


@pytest.mark.parametrize(
    ("charged", "total", "old", "new"),
    [
        pytest.param(260, 10_860, 600, 260, id="register-says-the-count-began-anew"),
        pytest.param(5, 0, 290, 5, id="no-register-count-near-zero"),
    ],
)
def test_another_session_while_the_gateway_was_down_is_not_merged(
    charged: float, total: float, old: float, new: float
) -> None:
    ended, current = resume(SAVED, now_reads(CHARGING, charged, total), meter(), None, at=1000)
    assert ended is not None
    assert current is not None
    assert ended.energy_wh == pytest.approx(old)
    assert ended.end_estimated
    assert (current.id, current.open, current.started_at) == (None, True, 1000)
    assert (current.energy_wh, current.grid_wh) == pytest.approx((new, new))
    following = step(current, now_reads(CHARGING, charged + 10, total + 10), meter(), None, at=1010)
    assert following is not None
    assert following.energy_wh == pytest.approx(new + 10)


def test_the_same_car_still_charging_goes_on() -> None:
    ended, current = resume(SAVED, now_reads(CHARGING, 1600, 11_600), meter(grid=3000), None, at=1000)
    assert ended is None
    assert current is not None
    assert (current.id, current.open) == (7, True)
    assert current.energy_wh == pytest.approx(1600)


# --- a file that cannot be used now is not a corrupt file (issue 14, item 7) -----------------------------


def healthy_file(path: Path) -> None:
    store = HistoryStore(path)
    store.save(Session(started_at=1, ended_at=2, updated_at=2, energy_wh=1000))
    store.close()


def assert_kept_and_usable(path: Path) -> None:
    assert [p.name for p in path.parent.iterdir() if ".corrupt-" in p.name] == []
    store = HistoryStore(path)
    assert [s.energy_wh for s in store.sessions()] == [1000]
    store.close()


def test_a_full_disk_at_start_is_not_corruption(tmp_path: Path) -> None:
    with full_disk(tmp_path / "small") as filler:
        path = filler.parent / "history.sqlite"
        healthy_file(path)
        fill(filler)
        with pytest.raises(HistoryError) as refused:
            HistoryStore(path, start_fresh_if_corrupt=True)
        assert (refused.value.transient, refused.value.corrupt) == (True, False)
        filler.unlink()
        assert_kept_and_usable(path)


def test_a_read_only_file_is_not_corruption_and_opens_once_writable(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    healthy_file(path)
    with read_only(path), pytest.raises(HistoryError, match="readonly") as refused:
        # SQLite would open it read-only, and every save would fail: refused at once instead
        HistoryStore(path, start_fresh_if_corrupt=True)
    assert (refused.value.transient, refused.value.corrupt) == (True, False)
    assert_kept_and_usable(path)


def test_a_locked_file_is_not_corruption(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    healthy_file(path)
    with locked(path), pytest.raises(HistoryError, match="locked") as refused:
        HistoryStore(path, start_fresh_if_corrupt=True)
    assert (refused.value.transient, refused.value.corrupt) == (True, False)
    assert_kept_and_usable(path)


def test_a_file_from_a_newer_version_is_not_set_aside(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    with pytest.raises(HistoryError, match="newer") as refused:
        HistoryStore(path, start_fresh_if_corrupt=True)
    assert (refused.value.transient, refused.value.corrupt) == (False, False)
    assert [p.name for p in tmp_path.iterdir()] == ["history.sqlite"]


def test_a_file_of_schema_2_gains_the_counters_and_loses_sessions_of_inf(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    with sqlite3.connect(path) as db:
        db.executescript(MIGRATIONS[0] + ";" + MIGRATIONS[1] + "; PRAGMA user_version = 2;")
        db.execute("INSERT INTO sessions (started_at, updated_at, last_charged_energy) VALUES (1, 2, 30)")
        db.execute(  # what an absurd counter made of a session before
            "INSERT INTO sessions (started_at, ended_at, updated_at, energy_wh, grid_wh, "
            "last_charged_energy) VALUES (0, 1, 1, 1e308 * 10, 1e308 * 10, 1.7e308)"
        )
    store = HistoryStore(path)
    broken = store.sessions()[1]
    assert (broken.energy_wh, broken.grid_wh, broken.last_charged_energy) == (0, 0, None)
    resumed = store.open_session()
    assert resumed is not None
    assert (resumed.last_charged_energy, resumed.last_total_energy, resumed.end_estimated) == (
        30,
        None,
        False,
    )
    store.save(Session(**{**resumed.__dict__, "last_total_energy": 5000.0, "end_estimated": True}))
    assert HistoryStore(path).sessions()[0].last_total_energy == 5000
