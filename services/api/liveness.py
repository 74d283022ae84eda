"""Which services are really alive, re-learnt after every (re)connect to the broker.

A retained `online` proves nothing after the broker was down: a service that died meanwhile never had
its last will sent, so its `online` stays retained forever. A service therefore counts as online only
when its status is `online` *and* it has shown life since the gateway's last (re)connect:

- the first state message after a (re)connect may be the broker's retained copy, so it counts only
  with a recent `ts` (and not one from the future);
- every later state message on the topic is live (the broker sends a retained copy once, on subscribe);
- life expires after two publishing intervals plus a margin: these services publish their state at
  least that often (`cycle_time`, `publish_interval` or `poll_interval` of their retained config).

The car is the exception: a cloud car publishes only when something happens (it must not wake the
car), so its silence says nothing and its status alone counts. No command goes to the car.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Literal

Liveness = Literal["online", "offline", "unknown"]

# The key of each service's retained config that says how often it publishes its state.
INTERVAL_KEYS = {
    "controller": "cycle_time",
    "relay": "publish_interval",
    "meter": "poll_interval",
    "wallbox": "poll_interval",
    "forecast": "publish_interval",
}
DEFAULT_INTERVAL = 60.0  # until the service's config is known
MISSED_INTERVALS = 2
MARGIN_SECONDS = 5.0
FUTURE_TOLERANCE = 5.0  # clocks of different hosts disagree a little


class LivenessTracker:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._status: dict[str, str] = {}
        self._messages: dict[str, int] = {}
        self._last_life: dict[str, float] = {}
        self._intervals: dict[str, float] = {}

    def reconnected(self) -> None:
        """Forget every sign of life: after a (re)connect each service must show it again."""
        self._messages.clear()
        self._last_life.clear()

    def status_received(self, service: str, status: str) -> None:
        self._status[service] = status

    def config_received(self, service: str, config: dict[str, Any]) -> None:
        interval = config.get(INTERVAL_KEYS.get(service, ""))
        if isinstance(interval, int | float) and not isinstance(interval, bool) and interval > 0:
            self._intervals[service] = float(interval)

    def state_received(self, service: str, ts: float | None) -> None:
        """A state message arrived (valid or not: either way the service is publishing)."""
        seen = self._messages.get(service, 0)
        self._messages[service] = seen + 1
        now = self._clock()
        if seen > 0:
            self._last_life[service] = now
        elif ts is not None and now - self.window(service) <= ts <= now + FUTURE_TOLERANCE:
            self._last_life[service] = min(ts, now)

    def window(self, service: str) -> float:
        return MISSED_INTERVALS * self._intervals.get(service, DEFAULT_INTERVAL) + MARGIN_SECONDS

    def liveness(self, service: str) -> Liveness:
        if self._status.get(service) != "online":
            return "offline"
        if service not in INTERVAL_KEYS:
            return "online"  # publishes irregularly: only its status can tell
        life = self._last_life.get(service)
        if life is None or self._clock() - life > self.window(service):
            return "unknown"
        return "online"

    def reason(self, service: str) -> str | None:
        """Why commands to `service` cannot be delivered now, or None when it is online."""
        liveness = self.liveness(service)
        if liveness == "online":
            return None
        if liveness == "offline":
            return f"{service} is offline"
        if service not in self._last_life:
            return f"{service} status unknown: no state from it since the gateway connected to the broker"
        return f"{service} is not responding: no state from it in the last {self.window(service):.0f} s"
