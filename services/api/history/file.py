"""The history file kept usable: opened (and the open session resumed), retried with backoff while it
cannot be opened, written with one log line per outage, read with errors that say why (for a 503).

A file that cannot be opened now (locked, read-only, disk full) is retried with backoff, doubling from
`FIRST_RETRY` to `LAST_RETRY`; only a corrupt one may be set aside (`history.start_fresh_if_corrupt`).
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from services.api.history.schema import HistoryError
from services.api.history.sessions import Session
from services.api.history.store import HistoryStore, PowerSample
from services.api.settings import HistorySettings

FILE_NAME = "pvcontrol-history.sqlite"
PRUNE_INTERVAL = 3600.0  # s between deletions of old power samples
DAY = 86400.0
FIRST_RETRY = 1.0  # s until a file that could not be opened is tried again, doubling up to
LAST_RETRY = 60.0

T = TypeVar("T")


class HistoryUnavailable(Exception):
    """The history cannot be read now; the message says why (for a 503)."""


class HistoryFile:
    """The store while the file is usable (`store` is None while it is not) and why it is not (`error`)."""

    def __init__(self, settings: HistorySettings, log: logging.Logger, clock: Callable[[], float]) -> None:
        self.settings = settings
        self.log = log
        self.clock = clock
        self.store: HistoryStore | None = None
        self.error: str | None = "history not opened yet"
        self.resumed: Session | None = None  # the session that was open in the file when it was opened
        self.saved_at = 0.0  # `updated_at` of the session last saved
        self._pruned_at = 0.0
        self._write_failing = False
        self._retry_at: float | None = None  # when to try opening the file again (None: not again)
        self._retry_wait = FIRST_RETRY
        self._unavailable_since: float | None = None

    @property
    def path(self) -> Path:
        return (self.settings.data_dir or Path.cwd()) / FILE_NAME

    def open(self) -> bool:
        """Open the file and read the session that was open when the gateway stopped (`resumed`);
        False when it cannot be opened now (a later `open_if_due` tries again) or at all."""
        try:
            store = HistoryStore(self.path, start_fresh_if_corrupt=self.settings.start_fresh_if_corrupt)
        except HistoryError as e:
            self._not_opened(e)
            return False
        try:
            session = store.open_session()
        except sqlite3.Error as e:
            store.close()
            self._not_opened(
                HistoryError(f"history file {self.path} cannot be read now: {e}", transient=True)
            )
            return False
        self.store, self.resumed, self.error = store, session, None
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
        return True

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

    def open_if_due(self) -> bool:
        """True when the file, not open so far, opened now."""
        if self.store is None and self._retry_at is not None and self.clock() >= self._retry_at:
            return self.open()
        return False

    def close(self) -> None:
        if self.store is not None:
            self.store.close()

    # --- writing -------------------------------------------------------------------------------------

    def save(self, session: Session) -> Session:
        """`session` as saved (with its row id), or as it was when it cannot be saved now."""
        if self.store is None:
            return session
        try:
            saved = self.store.save(session)
        except sqlite3.Error as e:
            self._write_failed(e)
            return session
        self._write_ok()
        self.saved_at = session.updated_at
        return saved

    def add_sample(self, sample: PowerSample) -> None:
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

    def read(self, query: Callable[[HistoryStore], T]) -> T:
        """`query`'s answer from the store, or HistoryUnavailable saying why there is none."""
        if self.store is None:
            raise HistoryUnavailable(self.error or "no history")
        try:
            return query(self.store)
        except sqlite3.Error as e:
            raise HistoryUnavailable(f"cannot read the history file: {e}") from e
