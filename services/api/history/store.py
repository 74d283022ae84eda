"""The history file: charging sessions and a downsampled power history in SQLite.

WAL mode, so a reader (a REST request) never blocks the writer and a power cut loses at most the last
transaction; the schema is versioned with `PRAGMA user_version` and migrated forward at open.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from services.api.history.pricing import Priced
from services.api.history.sessions import Session

# Migration i brings the file from user_version i to i + 1. Append, never edit.
MIGRATIONS: Sequence[str] = (
    """
    CREATE TABLE sessions (
        id INTEGER PRIMARY KEY,
        started_at REAL NOT NULL,
        ended_at REAL,
        updated_at REAL NOT NULL,
        energy_wh REAL NOT NULL DEFAULT 0,
        pv_wh REAL NOT NULL DEFAULT 0,
        battery_wh REAL NOT NULL DEFAULT 0,
        grid_wh REAL NOT NULL DEFAULT 0,
        peak_power_w REAL NOT NULL DEFAULT 0,
        phases TEXT NOT NULL DEFAULT '',
        soc_start REAL,
        soc_end REAL,
        last_charged_energy REAL
    );
    CREATE INDEX sessions_by_start ON sessions (started_at);
    """,
    """
    CREATE TABLE power_samples (
        ts INTEGER PRIMARY KEY,
        power_pv REAL NOT NULL,
        power_grid REAL NOT NULL,
        power_battery REAL NOT NULL,
        power_consumption REAL NOT NULL,
        power_car REAL NOT NULL
    );
    """,
    """
    ALTER TABLE sessions ADD COLUMN last_total_energy REAL;
    ALTER TABLE sessions ADD COLUMN end_estimated INTEGER NOT NULL DEFAULT 0;
    -- Earlier versions added absurd counters up to inf, which no JSON can carry: such a session's
    -- energy is unknown, recorded as 0 rather than answered with an error forever.
    UPDATE sessions SET energy_wh = 0, pv_wh = 0, battery_wh = 0, grid_wh = 0, last_charged_energy = NULL
        WHERE abs(energy_wh) > 1e12 OR abs(pv_wh) > 1e12 OR abs(battery_wh) > 1e12 OR abs(grid_wh) > 1e12;
    UPDATE sessions SET peak_power_w = 0 WHERE abs(peak_power_w) > 1e12;
    """,
    # The part of a session's energy priced at its minutes' tariff (services/api/history/pricing.py); the
    # sessions before it have none, so their cost stays that of the flat prices.
    """
    ALTER TABLE sessions ADD COLUMN priced_cost REAL NOT NULL DEFAULT 0;
    ALTER TABLE sessions ADD COLUMN priced_grid_wh REAL NOT NULL DEFAULT 0;
    ALTER TABLE sessions ADD COLUMN priced_solar_wh REAL NOT NULL DEFAULT 0;
    """,
)

SESSION_COLUMNS = (
    "id, started_at, ended_at, updated_at, energy_wh, pv_wh, battery_wh, grid_wh, peak_power_w, phases, "
    "soc_start, soc_end, last_charged_energy, last_total_energy, end_estimated, priced_cost, priced_grid_wh, "
    "priced_solar_wh"
)
PRICED_KEYS = ("priced_cost", "priced_grid_wh", "priced_solar_wh")
# SQLite's own verdict that the file is damaged; every other error (locked, read-only, disk full, I/O,
# permissions) says nothing about the file and may pass.
CORRUPTION = frozenset({sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB})
OPEN_BUSY_TIMEOUT = 0.2  # s: a locked file is retried by the caller, not waited for while states queue up
BUSY_TIMEOUT_MS = 2000  # once open: how long a write waits for another connection


class HistoryError(Exception):
    """The history file cannot be used; the message says why.

    `corrupt`: the file is damaged (only then may it be set aside). `transient`: it may work later
    (locked, read-only, disk full, I/O error). Neither: a file from a newer version."""

    def __init__(self, message: str, *, corrupt: bool = False, transient: bool = False) -> None:
        super().__init__(message)
        self.corrupt = corrupt
        self.transient = transient


@dataclass(frozen=True)
class PowerSample:
    ts: int
    power_pv: float
    power_grid: float
    power_battery: float
    power_consumption: float
    power_car: float


class HistoryStore:
    def __init__(self, path: Path, *, start_fresh_if_corrupt: bool = False) -> None:
        self.path = path
        self.set_aside: Path | None = None  # where a corrupt file was moved, if it was
        try:
            self._db = self._open()
        except HistoryError as e:
            if not (e.corrupt and start_fresh_if_corrupt):
                raise
            aside = path.with_name(f"{path.name}.corrupt-{int(time.time())}")
            try:
                path.rename(aside)
            except OSError as moved:
                raise HistoryError(f"{e}; cannot set it aside: {moved}", transient=True) from moved
            self._db = self._open()
            self.set_aside = aside

    def _open(self) -> sqlite3.Connection:
        """The connection, or a HistoryError that says whether the file is corrupt or may work later."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(
                self.path, timeout=OPEN_BUSY_TIMEOUT, isolation_level=None, check_same_thread=False
            )
        except (OSError, sqlite3.Error) as e:
            raise HistoryError(f"history file {self.path} cannot be opened: {e}", transient=True) from e
        try:
            self._prepare(db)
        except BaseException:
            db.close()
            raise
        return db

    def _prepare(self, db: sqlite3.Connection) -> None:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            check = db.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                raise HistoryError(f"history file {self.path} is corrupt: {check}", corrupt=True)
            self._migrate(db)
            # A file SQLite could open only read-only, or another writer's lock, would fail every save
            # of this connection: fail now, so the caller tries again later with a new one.
            db.execute("BEGIN IMMEDIATE")
            try:
                version = int(db.execute("PRAGMA user_version").fetchone()[0])
                db.execute(f"PRAGMA user_version = {version}")  # a write, rolled back
            finally:
                db.execute("ROLLBACK")
            db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        except sqlite3.Error as e:
            corrupt = (getattr(e, "sqlite_errorcode", 0) or 0) & 0xFF in CORRUPTION
            kind = "is corrupt" if corrupt else "cannot be used now"
            raise HistoryError(
                f"history file {self.path} {kind}: {e}", corrupt=corrupt, transient=not corrupt
            ) from e

    @staticmethod
    def _migrate(db: sqlite3.Connection) -> None:
        version = int(db.execute("PRAGMA user_version").fetchone()[0])
        if version > len(MIGRATIONS):
            raise HistoryError(f"history file schema version {version} is newer than this pv-control knows")
        for number in range(version, len(MIGRATIONS)):
            # One script, one transaction: a migration is applied whole or not at all.
            db.executescript(f"BEGIN; {MIGRATIONS[number]}; PRAGMA user_version = {number + 1}; COMMIT;")

    @property
    def schema_version(self) -> int:
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def close(self) -> None:
        self._db.close()

    # --- sessions ----------------------------------------------------------------------------------

    def save(self, session: Session) -> Session:
        values = (
            session.started_at,
            session.ended_at,
            session.updated_at,
            session.energy_wh,
            session.pv_wh,
            session.battery_wh,
            session.grid_wh,
            session.peak_power_w,
            ",".join(str(p) for p in sorted(session.phases)),
            session.soc_start,
            session.soc_end,
            session.last_charged_energy,
            session.last_total_energy,
            int(session.end_estimated),
            session.priced.cost,
            session.priced.grid_wh,
            session.priced.solar_wh,
        )
        with _transaction(self._db):
            if session.id is None:
                cursor = self._db.execute(
                    f"INSERT INTO sessions ({SESSION_COLUMNS.removeprefix('id, ')}) "  # noqa: S608 - constants
                    f"VALUES ({', '.join('?' * len(values))})",
                    values,
                )
                return _with_id(session, cursor.lastrowid)
            self._db.execute(
                "UPDATE sessions SET started_at=?, ended_at=?, updated_at=?, energy_wh=?, pv_wh=?, "
                "battery_wh=?, grid_wh=?, peak_power_w=?, phases=?, soc_start=?, soc_end=?, "
                "last_charged_energy=?, last_total_energy=?, end_estimated=?, priced_cost=?, "
                "priced_grid_wh=?, priced_solar_wh=? WHERE id=?",
                (*values, session.id),
            )
        return session

    def open_session(self) -> Session | None:
        """The session that was open when this service last stopped (or lost power): it goes on."""
        row = self._db.execute(
            f"SELECT {SESSION_COLUMNS} FROM sessions WHERE ended_at IS NULL "  # noqa: S608 - constants
            "ORDER BY started_at DESC LIMIT 1"
        ).fetchone()
        return _session(row) if row else None

    def sessions(
        self, since: float | None = None, until: float | None = None, limit: int = 50, offset: int = 0
    ) -> list[Session]:
        where, args = _period(since, until)
        rows = self._db.execute(
            # Only constant fragments are formatted in; every value is a bound parameter.
            f"SELECT {SESSION_COLUMNS} FROM sessions {where} "  # noqa: S608
            "ORDER BY started_at DESC LIMIT ? OFFSET ?",
            (*args, limit, offset),
        ).fetchall()
        return [_session(row) for row in rows]

    def count(self, since: float | None = None, until: float | None = None) -> int:
        where, args = _period(since, until)
        query = f"SELECT COUNT(*) FROM sessions {where}"  # noqa: S608 - constant fragments, bound values
        return int(self._db.execute(query, args).fetchone()[0])

    def monthly_totals(self) -> list[dict[str, Any]]:
        """Energy by source (and its priced part) per calendar month (local time), newest first."""
        rows = self._db.execute(
            "SELECT strftime('%Y-%m', started_at, 'unixepoch', 'localtime') AS month, COUNT(*), "
            "SUM(energy_wh), SUM(pv_wh), SUM(battery_wh), SUM(grid_wh), "
            "SUM(priced_cost), SUM(priced_grid_wh), SUM(priced_solar_wh) "
            "FROM sessions GROUP BY month ORDER BY month DESC"
        ).fetchall()
        keys = ("month", "sessions", "energy_wh", "pv_wh", "battery_wh", "grid_wh", *PRICED_KEYS)
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def totals(self) -> dict[str, float]:
        row = self._db.execute(
            "SELECT SUM(energy_wh), SUM(pv_wh), SUM(battery_wh), SUM(grid_wh), "
            "SUM(priced_cost), SUM(priced_grid_wh), SUM(priced_solar_wh) FROM sessions"
        )
        keys = ("energy", "pv", "battery", "grid", *PRICED_KEYS)
        return {key: value or 0.0 for key, value in zip(keys, row.fetchone(), strict=True)}

    # --- power history -----------------------------------------------------------------------------

    def add_sample(self, sample: PowerSample) -> None:
        with _transaction(self._db):
            self._db.execute(
                "INSERT OR REPLACE INTO power_samples VALUES (?, ?, ?, ?, ?, ?)",
                (
                    sample.ts,
                    sample.power_pv,
                    sample.power_grid,
                    sample.power_battery,
                    sample.power_consumption,
                    sample.power_car,
                ),
            )

    def samples(self, since: float) -> list[PowerSample]:
        rows = self._db.execute("SELECT * FROM power_samples WHERE ts >= ? ORDER BY ts", (since,)).fetchall()
        return [PowerSample(*row) for row in rows]

    def forget_samples_before(self, ts: float) -> None:
        with _transaction(self._db):
            self._db.execute("DELETE FROM power_samples WHERE ts < ?", (ts,))


@contextlib.contextmanager
def _transaction(db: sqlite3.Connection) -> Iterator[None]:
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _period(since: float | None, until: float | None) -> tuple[str, tuple[float, ...]]:
    clauses, args = [], []
    if since is not None:
        clauses.append("started_at >= ?")
        args.append(since)
    if until is not None:
        clauses.append("started_at < ?")
        args.append(until)
    return ("WHERE " + " AND ".join(clauses) if clauses else ""), tuple(args)


def priced(sums: dict[str, Any]) -> Priced:
    """The priced part of a month's or all sessions' sums (`monthly_totals`, `totals`)."""
    cost, grid, solar = (sums[key] or 0.0 for key in PRICED_KEYS)
    return Priced(cost, grid, solar)


def _session(row: tuple[Any, ...]) -> Session:
    (id_, started, ended, updated, energy, pv, battery, grid, peak, phases, soc_start, soc_end, *counts) = row
    last_charged, last_total, estimated, priced_cost, priced_grid, priced_solar = counts
    return Session(
        id=id_,
        started_at=started,
        ended_at=ended,
        updated_at=updated,
        energy_wh=energy,
        pv_wh=pv,
        battery_wh=battery,
        grid_wh=grid,
        peak_power_w=peak,
        phases=frozenset(int(p) for p in phases.split(",") if p),
        soc_start=soc_start,
        soc_end=soc_end,
        last_charged_energy=last_charged,
        last_total_energy=last_total,
        end_estimated=bool(estimated),
        priced=Priced(priced_cost, priced_grid, priced_solar),
    )


def _with_id(session: Session, row_id: int | None) -> Session:
    return replace(session, id=row_id)
