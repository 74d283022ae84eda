"""A free tier's call limit: at most `limit` calls in any `period` s."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from pvcontrol.device import DeviceError


@dataclass
class CallBudget:
    limit: int
    period: float
    clock: Callable[[], float]
    _calls: deque[float] = field(default_factory=deque)

    def spend(self, calls: int = 1) -> None:
        """Count `calls` about to be made; DeviceError (and no call) when they would exceed the limit."""
        now = self.clock()
        while self._calls and self._calls[0] <= now - self.period:
            self._calls.popleft()
        if len(self._calls) + calls > self.limit:
            wait = self._calls[0] + self.period - now if self._calls else self.period
            raise DeviceError(f"{self.limit} calls in {self.period:.0f} s used up; next in {wait:.0f} s")
        self._calls.extend([now] * calls)
