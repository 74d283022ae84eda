"""A fake `RPi.GPIO` module: the same names and values, pins kept in memory.

Like the kernel on a Pi, pin state outlives the program using it: with `FAKE_GPIO_STATE=<file>` in the
environment the pins are loaded from and saved to that JSON file, so a restarted service finds its pin
still an output (the "already output" case). In-process tests call `reset()` to set up pins.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

BOARD = 10
BCM = 11
OUT = 0
IN = 1
HIGH = 1
LOW = 0
PUD_OFF = 20
PUD_DOWN = 21
PUD_UP = 22
VERSION = "0.7.1 (fake)"


@dataclass
class Pin:
    function: int = IN
    level: int = HIGH  # the relay board pulls its inputs up


_mode: int | None = None
_pins: dict[int, Pin] = {}
calls: list[tuple[str, tuple[object, ...]]] = []


def _state_file() -> Path | None:
    path = os.environ.get("FAKE_GPIO_STATE")
    return Path(path) if path else None


def _load() -> None:
    file = _state_file()
    if file and file.exists():
        _pins.update({int(k): Pin(**v) for k, v in json.loads(file.read_text()).items()})


def _save() -> None:
    file = _state_file()
    if file:
        file.write_text(json.dumps({k: asdict(v) for k, v in _pins.items()}))


def _pin(channel: int) -> Pin:
    if _mode is None:
        raise RuntimeError("Please set pin numbering mode using GPIO.setmode(GPIO.BCM) or GPIO.BOARD")
    if not 0 <= channel <= 27:
        raise ValueError("The channel sent is invalid on a Raspberry Pi")
    return _pins.setdefault(channel, Pin())


def reset(outputs: dict[int, int] | None = None) -> None:
    """Test hook: a fresh board; `outputs` are pins already set up as outputs (pin -> level)."""
    global _mode
    _mode = None
    _pins.clear()
    calls.clear()
    for channel, level in (outputs or {}).items():
        _pins[channel] = Pin(OUT, level)


def level(channel: int) -> int:
    """Test hook: the pin's level, without the mode check of `input`."""
    return _pins.setdefault(channel, Pin()).level


def setmode(mode: int) -> None:
    global _mode
    if mode not in (BOARD, BCM):
        raise ValueError("An invalid mode was passed to setmode()")
    if _mode is not None and _mode != mode:
        raise ValueError("A different mode has already been set!")
    _mode = mode
    calls.append(("setmode", (mode,)))


def getmode() -> int | None:
    return _mode


def setwarnings(flag: bool) -> None:
    calls.append(("setwarnings", (flag,)))


def setup(channel: int, direction: int, pull_up_down: int = PUD_OFF, initial: int = -1) -> None:
    pin = _pin(channel)
    if direction not in (IN, OUT):
        raise ValueError("An invalid direction was passed to setup()")
    pin.function = direction
    if direction == OUT and initial in (LOW, HIGH):
        pin.level = initial
    if direction == IN:
        pin.level = LOW if pull_up_down == PUD_DOWN else HIGH
    calls.append(("setup", (channel, direction, initial)))
    _save()


def output(channel: int, value: int | bool) -> None:
    pin = _pin(channel)
    if pin.function != OUT:
        raise RuntimeError("The GPIO channel has not been set up as an OUTPUT")
    pin.level = HIGH if value else LOW
    calls.append(("output", (channel, pin.level)))
    _save()


def input(channel: int) -> int:
    return _pin(channel).level


def gpio_function(channel: int) -> int:
    return _pin(channel).function


def cleanup(channel: int | None = None) -> None:
    """Like RPi.GPIO: the pins go back to inputs (a relay board then releases its relays)."""
    for number, pin in _pins.items():
        if channel is None or number == channel:
            pin.function, pin.level = IN, HIGH
    calls.append(("cleanup", (channel,)))
    _save()


_load()
