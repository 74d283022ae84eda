"""The history file's schema and how the file is opened: checked, migrated forward, proven writable.

WAL mode, so a reader (a REST request) never blocks the writer and a power cut loses at most the last
transaction; the schema is versioned with `PRAGMA user_version` and migrated forward at open.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

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


def connect(path: Path) -> sqlite3.Connection:
    """The connection, or a HistoryError that says whether the file is corrupt or may work later."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(path, timeout=OPEN_BUSY_TIMEOUT, isolation_level=None, check_same_thread=False)
    except (OSError, sqlite3.Error) as e:
        raise HistoryError(f"history file {path} cannot be opened: {e}", transient=True) from e
    try:
        _prepare(db, path)
    except BaseException:
        db.close()
        raise
    return db


def _prepare(db: sqlite3.Connection, path: Path) -> None:
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        check = db.execute("PRAGMA quick_check").fetchone()[0]
        if check != "ok":
            raise HistoryError(f"history file {path} is corrupt: {check}", corrupt=True)
        _migrate(db)
        # A file SQLite could open only read-only, or another writer's lock, would fail every save
        # of this connection: fail now, so the caller tries again later with a new one.
        db.execute("BEGIN IMMEDIATE")
        try:
            version = schema_version(db)
            db.execute(f"PRAGMA user_version = {version}")  # a write, rolled back
        finally:
            db.execute("ROLLBACK")
        db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    except sqlite3.Error as e:
        corrupt = (getattr(e, "sqlite_errorcode", 0) or 0) & 0xFF in CORRUPTION
        kind = "is corrupt" if corrupt else "cannot be used now"
        raise HistoryError(f"history file {path} {kind}: {e}", corrupt=corrupt, transient=not corrupt) from e


def _migrate(db: sqlite3.Connection) -> None:
    version = schema_version(db)
    if version > len(MIGRATIONS):
        raise HistoryError(f"history file schema version {version} is newer than this pv-control knows")
    for number in range(version, len(MIGRATIONS)):
        # One script, one transaction: a migration is applied whole or not at all.
        db.executescript(f"BEGIN; {MIGRATIONS[number]}; PRAGMA user_version = {number + 1}; COMMIT;")


def schema_version(db: sqlite3.Connection) -> int:
    return int(db.execute("PRAGMA user_version").fetchone()[0])
