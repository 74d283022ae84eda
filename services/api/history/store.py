"""The history file's queries: charging sessions and a downsampled power history in SQLite.

The schema, its migrations and how the file is opened are in `services/api/history/schema.py`.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from services.api.history.pricing import Priced
from services.api.history.schema import HistoryError, connect, schema_version
from services.api.history.sessions import Session

SESSION_COLUMNS = (
    "id, started_at, ended_at, updated_at, energy_wh, pv_wh, battery_wh, grid_wh, peak_power_w, phases, "
    "soc_start, soc_end, last_charged_energy, last_total_energy, end_estimated, priced_cost, priced_grid_wh, "
    "priced_solar_wh"
)
PRICED_KEYS = ("priced_cost", "priced_grid_wh", "priced_solar_wh")


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
            self._db = connect(path)
        except HistoryError as e:
            if not (e.corrupt and start_fresh_if_corrupt):
                raise
            aside = path.with_name(f"{path.name}.corrupt-{int(time.time())}")
            try:
                path.rename(aside)
            except OSError as moved:
                raise HistoryError(f"{e}; cannot set it aside: {moved}", transient=True) from moved
            self._db = connect(path)
            self.set_aside = aside

    @property
    def schema_version(self) -> int:
        return schema_version(self._db)

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
