"""RaspiPhaseRelay on the fake RPi.GPIO module (tests/fakes/gpio.py): the GPIO is faked, the logic is real."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Literal

import pytest

from services.relay.factory import create_relay
from services.relay.raspi import RaspiPhaseRelay, RaspiPhaseRelayConfig
from tests.fakes import gpio

PIN = 26


@pytest.fixture(autouse=True)
def board() -> Iterator[None]:
    gpio.reset()
    yield
    gpio.reset()


def relay(relay_type: Literal["NO", "NC"] = "NO", pin: int = PIN) -> RaspiPhaseRelay:
    return RaspiPhaseRelay(RaspiPhaseRelayConfig(phase_relay_type=relay_type, pin=pin), gpio=gpio)


def test_a_fresh_pin_starts_off_with_one_phase() -> None:
    r = relay()
    assert gpio.gpio_function(PIN) == gpio.OUT
    assert gpio.level(PIN) == gpio.HIGH  # active low: off
    assert (r.enabled, r.is_energised(), r.phases()) == (True, False, 1)
    assert gpio.getmode() == gpio.BCM


@pytest.mark.parametrize(
    ("relay_type", "level", "phases"), [("NO", 0, 3), ("NO", 1, 1), ("NC", 0, 1), ("NC", 1, 3)]
)
def test_an_output_pin_keeps_its_state(relay_type: Literal["NO", "NC"], level: int, phases: int) -> None:
    gpio.reset(outputs={PIN: level})
    r = relay(relay_type)
    assert r.phases() == phases
    assert gpio.level(PIN) == level
    assert not [c for c in gpio.calls if c[0] in ("setup", "output")]


@pytest.mark.parametrize("relay_type", ["NO", "NC"])
def test_switching(relay_type: Literal["NO", "NC"]) -> None:
    r = relay(relay_type)
    r.set_phases(3)
    assert r.phases() == 3
    assert r.is_energised() == (relay_type == "NO")
    assert gpio.level(PIN) == (gpio.LOW if relay_type == "NO" else gpio.HIGH)
    r.set_phases(1)
    assert r.phases() == 1
    assert r.is_energised() == (relay_type == "NC")


def test_other_channels_of_the_board() -> None:
    r = relay(pin=20)
    r.set_phases(3)
    assert gpio.level(20) == gpio.LOW
    assert gpio.level(PIN) == gpio.HIGH


def test_close_does_not_release_the_relay() -> None:
    r = relay()
    r.set_phases(3)
    r.close()
    assert gpio.gpio_function(PIN) == gpio.OUT
    assert gpio.level(PIN) == gpio.LOW
    assert relay().phases() == 3  # the next start finds it as it was


def test_installed_on_another_host_is_disabled() -> None:
    config = RaspiPhaseRelayConfig(installed_on_host="pi-garage")
    disabled = create_relay(config, hostname="nuc-basement")
    assert (disabled.enabled, disabled.phases()) == (False, 0)
    assert not gpio.calls  # the GPIO was never touched


def test_installed_on_this_host_uses_the_gpio(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "RPi.GPIO", gpio)
    config = RaspiPhaseRelayConfig(installed_on_host="pi-garage")
    r = create_relay(config, hostname="pi-garage")
    assert (r.enabled, r.phases()) == (True, 1)
    assert gpio.gpio_function(PIN) == gpio.OUT
