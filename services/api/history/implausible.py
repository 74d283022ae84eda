"""Runs of implausible readings, one log line at the start and one at the end of each, per kind.

A run ends after `CALM` of plausible readings, so a source flapping between good and absurd is not a
line each.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

CALM = 60.0  # s of plausible readings that end a run of implausible ones


class ImplausibleRuns:
    def __init__(self, log: logging.Logger, clock: Callable[[], float]) -> None:
        self.log = log
        self.clock = clock
        self._last: dict[str, float] = {}  # kind -> when the last implausible one came

    def report(self, kind: str, reason: str | None) -> None:
        """One reading of `kind`: implausible for `reason`, or plausible (None)."""
        now = self.clock()
        if reason is not None:
            if kind not in self._last:
                self.log.warning("history ignores implausible %s readings: %s", kind, reason)
            self._last[kind] = now
        elif kind in self._last and now - self._last[kind] >= CALM:
            del self._last[kind]
            self.log.info("history takes %s readings again", kind)
