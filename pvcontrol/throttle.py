"""Log lines that cannot flood: one per key per interval, and one at the start and end of an episode."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

REPEAT_INTERVAL = 60.0


@dataclass
class LogThrottle:
    """At most one line per key every `interval` s; the next line says how many were held back.

    A flood of bad commands (or of forged documents) must not flood the log, but the owner must still
    learn that it goes on.
    """

    log: logging.Logger
    interval: float = REPEAT_INTERVAL
    clock: Callable[[], float] = time.monotonic
    _last: dict[str, float] = field(default_factory=dict)
    _held: dict[str, int] = field(default_factory=dict)

    def warning(self, key: str, message: str, *args: object) -> bool:
        """Log `message` for `key` unless one was logged less than `interval` ago; True if logged."""
        at = self.clock()
        last = self._last.get(key)
        if last is not None and at - last < self.interval:
            self._held[key] = self._held.get(key, 0) + 1
            return False
        held = self._held.pop(key, 0)
        self._last[key] = at
        if held and last is not None:
            self.log.warning(message + " (and %d more like it in the last %.0f s)", *args, held, at - last)
        else:
            self.log.warning(message, *args)
        return True


@dataclass
class Episode:
    """A condition that comes and goes (an implausible reading, a failing cycle): logged once when it
    starts and once when it ends, however many times it is seen in between."""

    log: logging.Logger
    what: str
    active: bool = False
    count: int = 0

    def seen(self, detail: str, *, exc_info: bool = False) -> None:
        self.count += 1
        if not self.active:
            self.active = True
            self.log.warning("%s: %s", self.what, detail, exc_info=exc_info)

    def over(self) -> None:
        if self.active:
            self.log.info("%s: over after %d occurrences", self.what, self.count)
        self.active = False
        self.count = 0
