"""The wallbox's failsafe watchdog (services/wallbox/failsafe.py) on a fake clock."""

from __future__ import annotations

import logging

import pytest

from pvcontrol.models import ChargeMode, ControllerData
from services.wallbox.failsafe import ControllerWatchdog

TIMEOUT = 120.0


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def state(mode: ChargeMode) -> ControllerData:
    return ControllerData(ts=0.0, mode=mode, desired_mode=mode)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def watchdog(clock: Clock) -> ControllerWatchdog:
    return ControllerWatchdog(TIMEOUT, logging.getLogger("test.failsafe"), clock)


@pytest.mark.parametrize(
    ("mode", "silent", "stops"),
    [
        pytest.param(ChargeMode.PV_ONLY, 119.0, False, id="pv_only-silent_119s-not_yet"),
        pytest.param(ChargeMode.PV_ONLY, 120.0, True, id="pv_only-silent_120s-stops"),
        pytest.param(ChargeMode.PV_ALL, 120.0, True, id="pv_all-silent_120s-stops"),
        pytest.param(ChargeMode.MAX, 3600.0, False, id="max-silent_1h-left_alone"),
        pytest.param(ChargeMode.MANUAL, 3600.0, False, id="manual-silent_1h-left_alone"),
    ],
)
def test_a_silent_controller_stops_pv_charging_only(
    watchdog: ControllerWatchdog, clock: Clock, mode: ChargeMode, silent: float, stops: bool
) -> None:
    watchdog.heard(state(mode), live=True)
    clock.now += silent
    assert watchdog.should_stop() is stops
    assert watchdog.holds_stop() is stops


def test_a_retained_state_tells_the_mode_but_is_no_sign_of_life(
    watchdog: ControllerWatchdog, clock: Clock
) -> None:
    watchdog.heard(state(ChargeMode.PV_ONLY), live=True)
    clock.now += 100
    watchdog.heard(state(ChargeMode.PV_ONLY), live=False)  # delivered again at a reconnect
    clock.now += 20
    assert watchdog.should_stop()


def test_the_stop_holds_until_the_controller_is_heard_live_again(
    watchdog: ControllerWatchdog, clock: Clock
) -> None:
    watchdog.heard(state(ChargeMode.PV_ONLY), live=True)
    clock.now += TIMEOUT
    assert watchdog.should_stop()
    watchdog.stopped()
    assert not watchdog.should_stop()  # stopped once, not again every check
    clock.now += 600
    assert watchdog.holds_stop()  # but nothing may start charging meanwhile
    watchdog.heard(state(ChargeMode.PV_ONLY), live=False)
    assert watchdog.holds_stop()
    watchdog.heard(state(ChargeMode.PV_ONLY), live=True)
    assert not watchdog.holds_stop()
    assert not watchdog.tripped


def test_silence_counts_from_the_start_until_a_controller_is_heard(
    watchdog: ControllerWatchdog, clock: Clock
) -> None:
    assert not watchdog.should_stop()  # no mode known yet: nothing to guard
    watchdog.heard(state(ChargeMode.PV_ONLY), live=False)
    clock.now += TIMEOUT
    assert watchdog.should_stop()
