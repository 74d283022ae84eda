"""The gateway keeps the history file: charging sessions and a per-minute power history.

It already receives every state document, and it serves the REST that reads the file, so one process
writes it. The open session is saved at its start and end and at most every `SAVE_INTERVAL` in between;
it carries the wallbox's energy counter, so after a restart (even `kill -9`) the next wallbox state adds
everything charged meanwhile: no energy is lost, only its split by source is approximated with the
readings of that moment.
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from prometheus_client import Counter

from pvcontrol.models import CarData, MeterData, SessionTotals, WallboxData
from pvcontrol.settings import HistorySettings
from services.history.samples import MinuteAverages
from services.history.sessions import Session, Tariff, step
from services.history.store import HistoryError, HistoryStore, PowerSample

FILE_NAME = "pvcontrol-history.sqlite"
SAVE_INTERVAL = 30.0  # s between saves of the open session
PRUNE_INTERVAL = 3600.0  # s between deletions of old power samples
DAY = 86400.0

SESSION_ENERGY = Counter(
    "pvcontrol_sessions_energy_wh",
    "Energy charged into the car in sessions, by source (counted by the gateway since its start)",
    ["source"],
)
for _source in ("pv", "battery", "grid"):
    SESSION_ENERGY.labels(_source)


class HistoryUnavailable(Exception):
    """The history cannot be read now; the message says why (for a 503)."""


@dataclass(frozen=True)
class Page:
    sessions: list[Session]
    total: int


class History:
    """Feeds the session fold and the minute averages from the state documents; reads for the REST."""

    def __init__(self, settings: HistorySettings, log: logging.Logger) -> None:
        self.settings = settings
        self.tariff = Tariff(settings.grid_price, settings.feed_in_tariff)
        self.log = log
        self.store: HistoryStore | None = None
        self.error: str | None = "history not opened yet"
        self.session: Session | None = None
        self._meter: MeterData | None = None
        self._car: CarData | None = None
        self._averages = MinuteAverages()
        self._saved_at = 0.0
        self._pruned_at = 0.0
        self._write_failing = False

    @property
    def path(self) -> Path:
        return (self.settings.data_dir or Path.cwd()) / FILE_NAME

    def open(self) -> None:
        """Open the file and resume the session that was open when the gateway stopped."""
        try:
            self.store = HistoryStore(self.path, start_fresh_if_corrupt=self.settings.start_fresh_if_corrupt)
            self.session = self.store.open_session()
        except (HistoryError, sqlite3.Error, OSError) as e:
            self.error = (
                f"no history: {e}" if isinstance(e, HistoryError) else f"no history: {self.path}: {e}"
            )
            hint = (
                ""
                if self.settings.start_fresh_if_corrupt
                else " (history.start_fresh_if_corrupt starts anew)"
            )
            self.log.error("%s; charging goes on without it%s", self.error, hint)
            self.store = None
            return
        self.error = None
        if self.store.set_aside is not None:
            self.log.warning(
                "history file was corrupt: set aside as %s, started a fresh one", self.store.set_aside
            )
        if self.session is not None:
            self.log.info(
                "resumed the open charging session %s (%.0f Wh so far)",
                self.session.id,
                self.session.energy_wh,
            )
        else:
            self.log.info("history in %s", self.path)

    def close(self) -> None:
        if self.store is None:
            return
        if self.session is not None:
            self._save(self.session)
        self.store.close()

    # --- writing -------------------------------------------------------------------------------------

    def meter(self, state: MeterData) -> None:
        if state.error:
            return
        self._meter = state
        sample = self._averages.add(
            state.ts, state.power_pv, state.power_grid, state.power_battery, state.power_consumption
        )
        if sample is not None:
            self._add_sample(sample)

    def car(self, state: CarData) -> None:
        self._car = state

    def wallbox(self, state: WallboxData) -> bool:
        """Fold one wallbox state in; True when a session started or ended with it."""
        if state.error:
            return False
        self._averages.car_power = state.power
        before = self.session
        after = step(before, state, self._meter, self._car, state.ts)
        if after is None:
            return False
        self._count(before, after)
        boundary = before is None or not before.open or after.ended_at is not None
        if boundary:
            after = self._save(after)  # started or ended: saved at once
        elif after.updated_at - self._saved_at >= SAVE_INTERVAL:
            after = self._save(after)
        self.session = None if after.ended_at is not None else after
        if after.ended_at is not None:
            self.log.info(
                "charging session ended: %.0f Wh, %.0f Wh from the grid", after.energy_wh, after.grid_wh
            )
        return boundary

    def _count(self, before: Session | None, after: Session) -> None:
        base = before if before is not None and before.open else None
        for source, value, previous in (
            ("pv", after.pv_wh, base.pv_wh if base else 0.0),
            ("battery", after.battery_wh, base.battery_wh if base else 0.0),
            ("grid", after.grid_wh, base.grid_wh if base else 0.0),
        ):
            if value > previous:
                SESSION_ENERGY.labels(source).inc(value - previous)

    def _save(self, session: Session) -> Session:
        if self.store is None:
            return session
        try:
            saved = self.store.save(session)
        except sqlite3.Error as e:
            self._write_failed(e)
            return session
        self._write_ok()
        self._saved_at = session.updated_at
        return saved

    def _add_sample(self, sample: PowerSample) -> None:
        if self.store is None:
            return
        try:
            self.store.add_sample(sample)
            if sample.ts - self._pruned_at >= PRUNE_INTERVAL:
                self.store.forget_samples_before(sample.ts - self.settings.keep_samples_days * DAY)
                self._pruned_at = sample.ts
        except sqlite3.Error as e:
            self._write_failed(e)
            return
        self._write_ok()

    def _write_failed(self, error: sqlite3.Error) -> None:
        if not self._write_failing:  # one line per outage, not one per state document
            self.log.error("cannot write the history file %s: %s; will retry", self.path, error)
        self._write_failing = True

    def _write_ok(self) -> None:
        if self._write_failing:
            self.log.info("history file writable again")
        self._write_failing = False

    # --- reading -------------------------------------------------------------------------------------

    def _readable(self) -> HistoryStore:
        if self.store is None:
            raise HistoryUnavailable(self.error or "no history")
        return self.store

    def page(self, since: float | None, until: float | None, limit: int, offset: int) -> Page:
        store = self._readable()
        try:
            sessions = store.sessions(since, until, limit, offset)
            total = store.count(since, until)
        except sqlite3.Error as e:
            raise HistoryUnavailable(f"cannot read the history file: {e}") from e
        return Page([self._live(s) for s in sessions], total)

    def _live(self, stored: Session) -> Session:
        """The open session as it is now, not as last saved."""
        live = self.session
        return live if live is not None and stored.id is not None and live.id == stored.id else stored

    def monthly_totals(self) -> list[dict[str, float | int | str]]:
        store = self._readable()
        try:
            return store.monthly_totals()
        except sqlite3.Error as e:
            raise HistoryUnavailable(f"cannot read the history file: {e}") from e

    def totals(self) -> SessionTotals | None:
        """All sessions as stored (for `P/api/state` and Home Assistant); None without the file."""
        if self.store is None:
            return None
        try:
            sums = self.store.totals()
            count = self.store.count()
        except sqlite3.Error:
            return None
        all_sessions = Session(
            started_at=0,
            energy_wh=sums["energy"],
            pv_wh=sums["pv"],
            battery_wh=sums["battery"],
            grid_wh=sums["grid"],
        )
        return SessionTotals(
            count=count,
            energy_wh=round(sums["energy"], 1),
            pv_wh=round(sums["pv"], 1),
            battery_wh=round(sums["battery"], 1),
            grid_wh=round(sums["grid"], 1),
            cost=round(all_sessions.cost(self.tariff), 2),
        )

    def samples(self, since: float) -> list[PowerSample]:
        store = self._readable()
        try:
            return store.samples(since)
        except sqlite3.Error as e:
            raise HistoryUnavailable(f"cannot read the history file: {e}") from e
