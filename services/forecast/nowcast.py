"""The nowcast correction: how far the meter's PV power fell short of (or beat) the forecast lately."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field


@dataclass
class Nowcast:
    """Pairs of (measured, forecast) PV power over the last `window` s; their ratio, within [low, high],
    scales the rest of today's forecast.

    No correction (1.0) while the readings span less than half the window or the forecast there is too
    small to compare against (`min_forecast`, mean W: dawn, dusk, night).
    """

    window: float
    low: float
    high: float
    min_forecast: float
    _samples: deque[tuple[float, float, float]] = field(default_factory=deque)

    def add(self, ts: float, measured: float, forecast: float) -> None:
        if self._samples and ts <= self._samples[-1][0]:
            return  # a repeated or out-of-order reading
        self._samples.append((ts, measured, forecast))
        while self._samples and self._samples[0][0] < ts - self.window:
            self._samples.popleft()

    def factor(self, now: float) -> float:
        recent = [s for s in self._samples if now - self.window <= s[0] <= now]
        if len(recent) < 2 or recent[-1][0] - recent[0][0] < self.window / 2:
            return 1.0
        measured = sum(s[1] for s in recent)
        forecast = sum(s[2] for s in recent)
        if forecast < self.min_forecast * len(recent):
            return 1.0
        return min(max(measured / forecast, self.low), self.high)
