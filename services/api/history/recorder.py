"""The gateway keeps the history file: charging sessions and a per-minute power history.

It already receives every state document, and it serves the REST that reads the file, so one process
writes it. The open session is saved at its start and end and at most every `SAVE_INTERVAL` in between;
it carries the wallbox's energy counters, so after a restart (even `kill -9`) the next wallbox state
accounts for everything charged meanwhile (`services/api/history/resume.py` says what can and cannot be
recovered). A file that cannot be opened now is retried (`services/api/history/file.py`) and the outage
is handled like a restart. Readings that cannot be true (`pvcontrol.plausibility`, and counters no
charger can produce) are ignored (`services/api/history/implausible.py` logs the runs of them). Energy is
priced at the prices of the minutes it was charged in, from the last valid `P/tariff/state`
(`services/api/history/pricing.py`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from prometheus_client import Counter

from pvcontrol.models import CarData, MeterData, SessionTotals, StateDocument, TariffData, WallboxData
from pvcontrol.plausibility import problem
from services.api.history.counters import counter_problem
from services.api.history.file import HistoryFile, HistoryUnavailable
from services.api.history.implausible import ImplausibleRuns
from services.api.history.pricing import price_step, tariff_problem
from services.api.history.resume import resume
from services.api.history.samples import MinuteAverages
from services.api.history.sessions import Session, Tariff, rise_problem, step
from services.api.history.store import HistoryStore, PowerSample, priced
from services.api.settings import HistorySettings

SAVE_INTERVAL = 30.0  # s between saves of the open session

SESSION_ENERGY = Counter(
    "pvcontrol_sessions_energy_wh",
    "Energy charged into the car in sessions, by source (counted by the gateway since its start)",
    ["source"],
)
for _source in ("pv", "battery", "grid"):
    SESSION_ENERGY.labels(_source)


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
        self.wall_clock = wall_clock
        self.file = HistoryFile(settings, log, clock)
        self.session: Session | None = None
        self._resuming = False  # the session came from the file: the next wallbox state tells what happened
        self._meter: MeterData | None = None
        self._car: CarData | None = None
        self.prices: TariffData | None = None  # the last valid P/tariff/state
        self._averages = MinuteAverages()
        self._implausible = ImplausibleRuns(log, clock)

    @property
    def path(self) -> Path:
        return self.file.path

    @property
    def store(self) -> HistoryStore | None:
        return self.file.store

    def open(self) -> None:
        """Open the file and resume the session that was open when the gateway stopped."""
        if self.file.open():
            self._resume_from_file()

    def _usable(self) -> HistoryStore | None:
        """The store, the file tried again first if that is due."""
        if self.file.open_if_due():
            self._resume_from_file()
        return self.file.store

    def _resume_from_file(self) -> None:
        self.session = self.file.resumed
        self._resuming = self.session is not None

    def close(self) -> None:
        if self.file.store is None:
            return
        if self.session is not None:
            self.file.save(self.session)
        self.file.close()

    # --- writing -------------------------------------------------------------------------------------

    def meter(self, state: MeterData) -> None:
        if state.error or not self._plausible("meter", state):
            return
        self._meter = state
        sample = self._averages.add(
            state.ts, state.power_pv, state.power_grid, state.power_battery, state.power_consumption
        )
        if sample is not None:
            self.file.add_sample(sample)

    def car(self, state: CarData) -> None:
        if self._plausible("car", state):
            self._car = state

    def tariff_state(self, state: TariffData) -> None:
        """Keep the newest valid prices; an invalid document leaves the ones before it in force."""
        reason = problem(state, self.wall_clock()) or tariff_problem(state)
        self._implausible.report("tariff", reason)
        if reason is None:
            self.prices = state

    def wallbox(self, state: WallboxData) -> bool:
        """Fold one wallbox state in; True when a session started or ended with it."""
        if state.error or not self._plausible("wallbox", state):
            return False
        self._averages.car_power = state.power
        if self._usable() is None:
            return False  # nothing to keep it in: the counters tell what happened once the file opens
        before = self.session
        ended: Session | None = None
        if before is not None and self._resuming:
            self._resuming = False
            ended, after = resume(before, state, self._meter, self._car, state.ts)
            if ended is not None:
                self._count(before, ended)
                self._ended(self.file.save(ended))
                before = None
        else:
            self._implausible.report("wallbox energy", rise_problem(before, state, state.ts))
            after = step(before, state, self._meter, self._car, state.ts)
            if after is not None:
                after = self._priced(before, after)
        if after is None:
            self.session = None
            return ended is not None
        self._count(before, after)
        boundary = ended is not None or before is None or not before.open or after.ended_at is not None
        if boundary:
            after = self.file.save(after)  # started or ended: saved at once
        elif after.updated_at - self.file.saved_at >= SAVE_INTERVAL:
            after = self.file.save(after)
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
        self._implausible.report(kind, reason)
        return reason is None

    def _count(self, before: Session | None, after: Session) -> None:
        base = before if before is not None and before.open else None
        for source, value, previous in (
            ("pv", after.pv_wh, base.pv_wh if base else 0.0),
            ("battery", after.battery_wh, base.battery_wh if base else 0.0),
            ("grid", after.grid_wh, base.grid_wh if base else 0.0),
        ):
            if value > previous:
                SESSION_ENERGY.labels(source).inc(value - previous)

    # --- reading -------------------------------------------------------------------------------------

    def page(self, since: float | None, until: float | None, limit: int, offset: int) -> Page:
        self._usable()
        sessions, total = self.file.read(
            lambda store: (store.sessions(since, until, limit, offset), store.count(since, until))
        )
        return Page([self._live(s) for s in sessions], total)

    def _live(self, stored: Session) -> Session:
        """The open session as it is now, not as last saved."""
        live = self.session
        return live if live is not None and stored.id is not None and live.id == stored.id else stored

    def monthly_totals(self) -> list[dict[str, Any]]:
        self._usable()
        return self.file.read(HistoryStore.monthly_totals)

    def totals(self) -> SessionTotals | None:
        """All sessions as stored (for `P/api/state` and Home Assistant); None without the file."""
        self._usable()
        try:
            sums, count = self.file.read(lambda store: (store.totals(), store.count()))
        except HistoryUnavailable:
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
        self._usable()
        return self.file.read(lambda store: store.samples(since))
