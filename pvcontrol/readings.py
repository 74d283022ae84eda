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
    switch). Such an episode is logged once when it starts and once when it ends."""

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

    def receive(self, payload: bytes) -> D | None:
        document = validate_document(self.model, payload)
        reason = document if isinstance(document, str) else None
        if not isinstance(document, str):
            reason = plausibility.problem(document, self.clock(), self.power_limit)
        if reason is not None:
            self.episode.seen(reason)
            self.latest = None
            return None
        assert not isinstance(document, str)
        self.episode.over()
        self.latest = document
        return document
