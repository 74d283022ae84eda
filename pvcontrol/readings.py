"""The latest trusted reading of another service, as the controller and the relay keep it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Generic, TypeVar

from pvcontrol import plausibility
from pvcontrol.models import StateDocument, now
from pvcontrol.service import validate_document
from pvcontrol.throttle import Episode

D = TypeVar("D", bound=StateDocument)


class TrustedReading(Generic[D]):
    """An invalid or implausible document does not leave the previous reading in place: it replaces
    it with None, which every consumer treats like a missing reading (stop PV charging, no relay
    switch). Such an episode is logged once when it starts and once when it ends.

    The sources' rules apply (pvcontrol/plausibility.py), the energy counters' too, timed by the
    documents' `ts`: a counter that rises faster than the plant limit allows, or drops without a reset,
    makes the document implausible; a small step back (noise) is held at the previous value. A document
    with `error` > 0 repeats old values and moves no counter."""

    def __init__(
        self,
        model: type[D],
        source: str,
        log: logging.Logger,
        power_limit: float = plausibility.DEFAULT_POWER_LIMIT,
        clock: Callable[[], float] = now,
    ) -> None:
        self.model = model
        self.power_limit = power_limit
        self.clock = clock
        self.latest: D | None = None
        self.episode = Episode(log, f"untrusted {source} reading, treated as missing")
        self.counters = plausibility.CounterTracker(power_limit)
        self.log = log

    def receive(self, payload: bytes) -> D | None:
        document = validate_document(self.model, payload)
        if isinstance(document, str):
            reason: str | None = document
        else:
            reason = plausibility.problem(document, self.clock(), self.power_limit)
            if reason is None:
                document, reason = self._counted(document)
        if reason is not None or isinstance(document, str):
            self.episode.seen(reason or "invalid")
            self.latest = None
            return None
        self.episode.over()
        self.latest = document
        return document

    def _counted(self, document: D) -> tuple[D, str | None]:
        names = plausibility.counters_of(document)
        if not names or document.error:
            return document, None
        verdict = self.counters.check({name: getattr(document, name) for name in names}, document.ts)
        if verdict.problem is not None:
            return document, verdict.problem
        for name in verdict.rebased:
            self.log.warning("%s ran off its series: taken as a new count", name)
        held = {name: value for name, value in verdict.values.items() if value != getattr(document, name)}
        return (document.model_copy(update=held) if held else document), None
