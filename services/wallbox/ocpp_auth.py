"""Failed OCPP logins (security profile 1, HTTP Basic auth): throttled per source address.

Guessing the password must be slow, and a guesser must not flood the log: after `max_failures` wrong
passwords in a row a source is refused with 429 for `ban` s without its credentials being checked; the log
gets at most one line a minute about failed logins and one about bans, each saying how many it held back.
A login without credentials (a charger not yet configured) is refused and logged the same way, but is
no guess and bans nobody.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from pvcontrol.throttle import LogThrottle

MAX_FAILURES = 5
BAN_SECONDS = 60.0
MAX_SOURCES = 1024  # addresses remembered; the oldest are forgotten first


@dataclass
class _Source:
    failures: int = 0
    banned_until: float = 0.0


class LoginGuard:
    def __init__(
        self,
        log: logging.Logger,
        clock: Callable[[], float] = time.monotonic,
        max_failures: int = MAX_FAILURES,
        ban: float = BAN_SECONDS,
    ) -> None:
        self.clock = clock
        self.max_failures = max_failures
        self.ban = ban
        self._lines = LogThrottle(log, clock=clock)
        self._sources: OrderedDict[str, _Source] = OrderedDict()
        self.refused = 0  # logins refused for a ban, without checking
        self.failed_logins = 0

    def banned(self, source: str) -> bool:
        entry = self._sources.get(source)
        if entry is None or entry.banned_until <= self.clock():
            return False
        self.refused += 1
        return True

    def failed(self, source: str, username: str, *, guess: bool = True) -> None:
        self.failed_logins += 1
        if not guess:
            self._lines.warning("missing", "OCPP: refused a login from %s without credentials", source)
            return
        entry = self._sources.pop(source, None) or _Source()
        self._sources[source] = entry  # most recent last
        while len(self._sources) > MAX_SOURCES:
            self._sources.popitem(last=False)
        entry.failures += 1
        self._lines.warning(
            "failed",
            "OCPP: refused a login from %s as %r: wrong charge point id or password",
            source,
            username[:40],
        )
        if entry.failures >= self.max_failures:
            entry.failures = 0
            entry.banned_until = self.clock() + self.ban
            self._lines.warning(
                "ban",
                "OCPP: %s refused for %.0f s after %d failed logins in a row",
                source,
                self.ban,
                self.max_failures,
            )

    def succeeded(self, source: str) -> None:
        self._sources.pop(source, None)
