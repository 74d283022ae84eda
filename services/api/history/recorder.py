"""The gateway keeps the history file: charging sessions and a per-minute power history.

It already receives every state document, and it serves the REST that reads the file, so one process
writes it. The open session is saved at its start and end and at most every `SAVE_INTERVAL` in between;
it carries the wallbox's energy counters, so after a restart (even `kill -9`) the next wallbox state
accounts for everything charged meanwhile (`services/api/history/resume.py` says what can and cannot be
recovered). A file that cannot be opened now (locked, read-only, disk full) is retried with backoff and
the outage is handled like a restart; only a corrupt one may be set aside. Readings that cannot be true
(`pvcontrol.plausibility`, and counters no charger can produce) are ignored, one log line at the start
and end of a run of them. Energy is priced at the prices of the minutes it was charged in, from the
last valid `P/tariff/state` (`services/api/history/pricing.py`).
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from prometheus_client import Counter

from pvcontrol.models import CarData, MeterData, SessionTotals, StateDocument, TariffData, WallboxData
from pvcontrol.plausibility import problem
from services.api.history.counters import counter_problem
from services.api.history.pricing import price_step, tariff_problem
from services.api.history.resume import resume
from services.api.history.samples import MinuteAverages
from services.api.history.sessions import Session, Tariff, rise_problem, step
from services.api.history.store import HistoryError, HistoryStore, PowerSample, priced
from services.api.settings import HistorySettings

FILE_NAME = "pvcontrol-history.sqlite"
SAVE_INTERVAL = 30.0  # s between saves of the open session
PRUNE_INTERVAL = 3600.0  # s between deletions of old power samples
DAY = 86400.0
FIRST_RETRY = 1.0  # s until a file that could not be opened is tried again, doubling up to
LAST_RETRY = 60.0
CALM = 60.0  # s of plausible readings that end a run of implausible ones

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

    def __init__(
        self,
        settings: HistorySettings,
        log: logging.Logger,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.tariff = Tariff(settings.grid_price, settings.feed_in_tariff)
        self.log = log
        self.clock = clock
        self.wall_clock = wall_clock
        self.store: HistoryStore | None = None
        self.error: str | None = "history not opened yet"
        self.session: Session | None = None
        self._resuming = False  # the session came from the file: the next wallbox state tells what happened
        self._meter: MeterData | None = None
        self._car: CarData | None = None
        self.prices: TariffData | None = None  # the last valid P/tariff/state
        self._averages = MinuteAverages()
        self._saved_at = 0.0
        self._pruned_at = 0.0
        self._write_failing = False
        self._retry_at: float | None = None  # when to try opening the file again (None: not again)
        self._retry_wait = FIRST_RETRY
        self._unavailable_since: float | None = None
        self._implausible: dict[str, float] = {}  # kind -> when the last implausible one came

    @property
    def path(self) -> Path:
        return (self.settings.data_dir or Path.cwd()) / FILE_NAME

    def open(self) -> None:
        """Open the file and resume the session that was open when the gateway stopped."""
        self._try_open()

    def _try_open(self) -> None:
        try:
            store = HistoryStore(self.path, start_fresh_if_corrupt=self.settings.start_fresh_if_corrupt)
        except HistoryError as e:
            self._not_opened(e)
            return
        try:
            session = store.open_session()
        except sqlite3.Error as e:
            store.close()
            self._not_opened(
                HistoryError(f"history file {self.path} cannot be read now: {e}", transient=True)
            )
            return
        self.store, self.session, self._resuming, self.error = store, session, session is not None, None
        self._retry_at, self._retry_wait = None, FIRST_RETRY
        if self._unavailable_since is not None:
            self.log.info(
                "history file %s usable again after %.0f s", self.path, self.clock() - self._unavailable_since
            )
            self._unavailable_since = None
        if store.set_aside is not None:
            self.log.warning(
                "history file was corrupt: set aside as %s, started a fresh one", store.set_aside
            )
        if session is not None:
            self.log.info(
                "resumed the open charging session %s (%.0f Wh so far)", session.id, session.energy_wh
            )
        else:
            self.log.info("history in %s", self.path)

    def _not_opened(self, e: HistoryError) -> None:
        self.error = f"no history: {e}"
        if e.transient:
            if self._unavailable_since is None:  # one line per outage, not one per attempt
                self._unavailable_since = self.clock()
                self.log.error("%s; charging goes on, trying again with backoff", self.error)
            else:
                self._retry_wait = min(self._retry_wait * 2, LAST_RETRY)
            self._retry_at = self.clock() + self._retry_wait
            return
        self._retry_at = None
        hint = (
            " (history.start_fresh_if_corrupt starts anew)"
            if e.corrupt and not self.settings.start_fresh_if_corrupt
            else ""
        )
        self.log.error("%s; charging goes on without it%s", self.error, hint)

    def _retry_if_due(self) -> None:
        if self.store is None and self._retry_at is not None and self.clock() >= self._retry_at:
            self._try_open()

    def close(self) -> None:
        if self.store is None:
            return
        if self.session is not None:
            self._save(self.session)
        self.store.close()

    # --- writing -------------------------------------------------------------------------------------

    def meter(self, state: MeterData) -> None:
        if state.error or not self._plausible("meter", state):
            return
        self._meter = state
        sample = self._averages.add(
            state.ts, state.power_pv, state.power_grid, state.power_battery, state.power_consumption
        )
        if sample is not None:
            self._add_sample(sample)

    def car(self, state: CarData) -> None:
        if self._plausible("car", state):
            self._car = state

    def tariff_state(self, state: TariffData) -> None:
        """Keep the newest valid prices; an invalid document leaves the ones before it in force."""
        reason = problem(state, self.wall_clock()) or tariff_problem(state)
        self._report("tariff", reason)
        if reason is None:
            self.prices = state

    def wallbox(self, state: WallboxData) -> bool:
        """Fold one wallbox state in; True when a session started or ended with it."""
        if state.error or not self._plausible("wallbox", state):
            return False
        self._averages.car_power = state.power
        self._retry_if_due()
        if self.store is None:
            return False  # nothing to keep it in: the counters tell what happened once the file opens
        before = self.session
        ended: Session | None = None
        if before is not None and self._resuming:
            self._resuming = False
            ended, after = resume(before, state, self._meter, self._car, state.ts)
            if ended is not None:
                self._count(before, ended)
                self._ended(self._save(ended))
                before = None
        else:
            self._report("wallbox energy", rise_problem(before, state, state.ts))
            after = step(before, state, self._meter, self._car, state.ts)
            if after is not None:
                after = self._priced(before, after)
        if after is None:
            self.session = None
            return ended is not None
        self._count(before, after)
        boundary = ended is not None or before is None or not before.open or after.ended_at is not None
        if boundary:
            after = self._save(after)  # started or ended: saved at once
        elif after.updated_at - self._saved_at >= SAVE_INTERVAL:
            after = self._save(after)
        self.session = None if after.ended_at is not None else after
        if after.ended_at is not None:
            self._ended(after)
        return boundary

    def _priced(self, before: Session | None, after: Session) -> Session:
        """`after` with the energy of this step priced at the tariff of the minutes it spans."""
        same_session = before is not None and before.open and before.started_at == after.started_at
        base = before if same_session else None
        grid = after.grid_wh - (base.grid_wh if base else 0.0)
        solar = after.pv_wh + after.battery_wh - (base.pv_wh + base.battery_wh if base else 0.0)
        start = base.updated_at if base else after.started_at
        step_priced = price_step(grid, solar, start, after.updated_at, self.prices)
        return replace(after, priced=after.priced + step_priced)

    def _ended(self, session: Session) -> None:
        self.log.info(
            "charging session ended%s: %.0f Wh, %.0f Wh from the grid",
            " while the gateway was down" if session.end_estimated else "",
            session.energy_wh,
            session.grid_wh,
        )

    def _plausible(self, kind: str, state: StateDocument) -> bool:
        """False for a reading that cannot be true."""
        reason = problem(state, self.wall_clock())
        if reason is None and isinstance(state, WallboxData):
            reason = counter_problem(state)
        self._report(kind, reason)
        return reason is None

    def _report(self, kind: str, reason: str | None) -> None:
        """One log line at the start and one at the end of a run of implausible readings (a run ends after
        `CALM` of plausible ones, so a source flapping between good and absurd is not a line each)."""
        now = self.clock()
        if reason is not None:
            if kind not in self._implausible:
                self.log.warning("history ignores implausible %s readings: %s", kind, reason)
            self._implausible[kind] = now
        elif kind in self._implausible and now - self._implausible[kind] >= CALM:
            del self._implausible[kind]
            self.log.info("history takes %s readings again", kind)

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
        self._retry_if_due()
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

    def monthly_totals(self) -> list[dict[str, Any]]:
        store = self._readable()
        try:
            return store.monthly_totals()
        except sqlite3.Error as e:
            raise HistoryUnavailable(f"cannot read the history file: {e}") from e

    def totals(self) -> SessionTotals | None:
        """All sessions as stored (for `P/api/state` and Home Assistant); None without the file."""
        self._retry_if_due()
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
            priced=priced(sums),
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
