"""Parsing of command payloads: plain text (`PV_ONLY`, `10`, `true`) or a JSON scalar (`"PV_ONLY"`)."""

from __future__ import annotations

import json
from enum import Enum
from typing import TypeVar

MAX_COMMAND_BYTES = 256

E = TypeVar("E", bound=Enum)


class CommandError(ValueError):
    """A command payload that is rejected; the message is published on the service's error topic."""


def _text(payload: bytes) -> str | int | float | bool | None:
    if len(payload) > MAX_COMMAND_BYTES:
        raise CommandError(f"payload too large ({len(payload)} bytes, at most {MAX_COMMAND_BYTES})")
    try:
        text = payload.decode("utf-8").strip()
    except UnicodeDecodeError as e:
        raise CommandError("payload is not UTF-8") from e
    try:
        value = json.loads(text)
    except ValueError:
        return text
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    raise CommandError("payload must be a plain value, not a JSON object or array")


def parse_enum(payload: bytes, enum: type[E]) -> E:
    value = _text(payload)
    names = [m.name for m in enum]
    if isinstance(value, str) and value in names:
        return enum[value]
    raise CommandError(f"invalid value {value!r}, expected one of {', '.join(names)}")


def parse_int(payload: bytes, low: int, high: int) -> int:
    value = _text(payload)
    if isinstance(value, bool):
        raise CommandError(f"invalid value {value!r}, expected an integer")
    if isinstance(value, str):
        try:
            value = int(value)
        except ValueError as e:
            raise CommandError(f"invalid value {value!r}, expected an integer") from e
    if isinstance(value, float):
        if not value.is_integer():
            raise CommandError(f"invalid value {value!r}, expected an integer")
        value = int(value)
    if not isinstance(value, int) or not low <= value <= high:
        raise CommandError(f"invalid value {value!r}, expected an integer in [{low}, {high}]")
    return value


def parse_bool(payload: bytes) -> bool:
    value = _text(payload)
    if isinstance(value, str):
        value = value.lower()
    if value in (True, 1, "true", "1", "on"):
        return True
    if value in (False, 0, "false", "0", "off"):
        return False
    raise CommandError(f"invalid value {value!r}, expected true or false")
