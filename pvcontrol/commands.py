"""Parsing of command payloads: plain text (`PV_ONLY`, `10`, `true`) or a JSON string (`"PV_ONLY"`).

Strict on purpose: a command reaches hardware, so only one spelling of each value is accepted.
Integers are plain ASCII digits (not `1_0`, `1.6e1`, full-width or Arabic-Indic digits);
booleans are true/false/1/0.
"""

from __future__ import annotations

import json
import re
from enum import Enum
from typing import TypeVar

MAX_COMMAND_BYTES = 256

E = TypeVar("E", bound=Enum)

_DIGITS = re.compile(r"[0-9]{1,6}")
_TRUE = frozenset({"true", "1"})
_FALSE = frozenset({"false", "0"})


class CommandError(ValueError):
    """A command payload that is rejected; the message is published on the service's error topic."""


def parse_text(payload: bytes) -> str:
    """The payload as text: size-checked UTF-8, surrounding whitespace removed, a JSON string unquoted."""
    if len(payload) > MAX_COMMAND_BYTES:
        raise CommandError(f"payload too large ({len(payload)} bytes, at most {MAX_COMMAND_BYTES})")
    try:
        text = payload.decode("utf-8").strip(" \t\r\n")
    except UnicodeDecodeError as e:
        raise CommandError("payload is not UTF-8") from e
    if text.startswith(("{", "[")):
        raise CommandError("payload must be a plain value, not a JSON object or array")
    if text.startswith('"'):
        try:
            value = json.loads(text)
        except ValueError as e:
            raise CommandError("payload is not a valid JSON string") from e
        if not isinstance(value, str):
            raise CommandError("payload is not a valid JSON string")
        text = value.strip(" \t\r\n")
    return text


def parse_enum(payload: bytes, enum: type[E]) -> E:
    text = parse_text(payload)
    names = [m.name for m in enum]
    if text in names:
        return enum[text]
    raise CommandError(f"invalid value {text[:40]!r}, expected one of {', '.join(names)}")


def parse_int(payload: bytes, low: int, high: int) -> int:
    text = parse_text(payload)
    if not _DIGITS.fullmatch(text):
        raise CommandError(f"invalid value {text[:40]!r}, expected an integer (ASCII digits)")
    value = int(text)
    if not low <= value <= high:
        raise CommandError(f"invalid value {value}, expected an integer in [{low}, {high}]")
    return value


def parse_bool(payload: bytes) -> bool:
    text = parse_text(payload).lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise CommandError(f"invalid value {text[:40]!r}, expected true, false, 1 or 0")
