"""Log throttling: a flood of the same problem is one line a minute, an episode is two lines."""

from __future__ import annotations

import logging

import pytest

from pvcontrol.throttle import Episode, LogThrottle


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_a_flood_on_one_key_is_one_line_per_interval_with_a_count(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    throttle = LogThrottle(logging.getLogger("t"), interval=60, clock=clock)
    with caplog.at_level(logging.WARNING):
        logged = [throttle.warning("a", "bad %s", i) for i in range(1000)]
        clock.t += 61
        throttle.warning("a", "bad %s", "late")
    assert logged.count(True) == 1
    assert [r.getMessage() for r in caplog.records] == [
        "bad 0",
        "bad late (and 999 more like it in the last 61 s)",
    ]


def test_keys_are_throttled_apart(caplog: pytest.LogCaptureFixture) -> None:
    throttle = LogThrottle(logging.getLogger("t"), clock=Clock())
    with caplog.at_level(logging.WARNING):
        throttle.warning("a", "on a")
        throttle.warning("b", "on b")
        throttle.warning("a", "on a again")
    assert [r.getMessage() for r in caplog.records] == ["on a", "on b"]


def test_an_episode_logs_its_start_and_its_end_once(caplog: pytest.LogCaptureFixture) -> None:
    episode = Episode(logging.getLogger("t"), "implausible meter reading")
    with caplog.at_level(logging.INFO):
        for _ in range(50):
            episode.seen("power_grid -1000000 W")
        episode.over()
        episode.over()
        episode.seen("again")
    assert [r.getMessage() for r in caplog.records] == [
        "implausible meter reading: power_grid -1000000 W",
        "implausible meter reading: over after 50 occurrences",
        "implausible meter reading: again",
    ]
