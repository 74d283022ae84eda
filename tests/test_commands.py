"""Parsing of command payloads: plain text or a JSON scalar, anything else rejected with a message."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from pvcontrol.commands import (
    MAX_COMMAND_BYTES,
    CommandError,
    parse_bool,
    parse_enum,
    parse_int,
    parse_text,
)
from pvcontrol.models import ChargeMode, PhaseMode


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (b"PV_ONLY", ChargeMode.PV_ONLY),
        (b'"PV_ONLY"', ChargeMode.PV_ONLY),
        (b"  MAX\n", ChargeMode.MAX),
        (b"OFF", ChargeMode.OFF),
        (b"MANUAL", ChargeMode.MANUAL),
    ],
)
def test_parse_enum_accepts_names(payload: bytes, expected: ChargeMode) -> None:
    assert parse_enum(payload, ChargeMode) is expected


@pytest.mark.parametrize(
    "payload",
    [b"FAST", b"", b"1", b"null", b"true", b'["PV_ONLY"]', b'{"mode": "PV_ONLY"}', b"PV ONLY"],
)
def test_parse_enum_rejects_anything_else(payload: bytes) -> None:
    with pytest.raises(CommandError, match=r"expected one of OFF, PV_ONLY, PV_ALL, MAX, MANUAL|JSON object"):
        parse_enum(payload, ChargeMode)


def test_parse_enum_names_the_members_of_its_enum() -> None:
    with pytest.raises(CommandError) as error:
        parse_enum(b"CHARGE_2P", PhaseMode)
    assert "'CHARGE_2P'" in str(error.value)
    assert "AUTO, CHARGE_1P, CHARGE_3P" in str(error.value)


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (b"6", 6),
        (b"16", 16),
        (b" 10\n", 10),
        (b'"12"', 12),
        (b"007", 7),
    ],
)
def test_parse_int_accepts_integers_in_range(payload: bytes, expected: int) -> None:
    value = parse_int(payload, 6, 16)
    assert value == expected
    assert type(value) is int


@pytest.mark.parametrize(
    "payload",
    [
        b"5",
        b"17",
        b"-8",
        b"10.5",
        b"ten",
        b"",
        b"true",
        b"false",
        b"null",
        b"NaN",
        b"Infinity",
        b"1e400",
        b"99999999999999999999999",
        b'"10.5"',
        b"[10]",
        b'{"max_current": 10}',
        b"0x0a",
        b"10.0",
        b"1e1",
        b"1.6e1",
        b"10e-1",
        b"1_0",
        "\u0661\u0666".encode(),  # Arabic-Indic digits: int() would take them
        "\uff11\uff16".encode(),  # full-width digits
        b"+7",
        b" 1 0",
    ],
)
def test_parse_int_rejects_everything_else(payload: bytes) -> None:
    with pytest.raises(CommandError):
        parse_int(payload, 6, 16)


@pytest.mark.parametrize("payload", [b"true", b"false"])
def test_parse_int_does_not_take_a_boolean_for_a_number(payload: bytes) -> None:
    """JSON true is not 1 (e.g. one phase for the relay)."""
    with pytest.raises(CommandError, match="expected an integer"):
        parse_int(payload, 0, 3)


def test_parse_int_says_what_it_expected() -> None:
    with pytest.raises(CommandError, match=r"invalid value 17, expected an integer in \[6, 16\]"):
        parse_int(b"17", 6, 16)
    with pytest.raises(CommandError, match="expected an integer"):
        parse_int(b"ten", 6, 16)


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (b"true", True),
        (b"false", False),
        (b"1", True),
        (b"0", False),
        (b'"true"', True),
        (b'"false"', False),
        (b"True", True),
        (b"FALSE", False),
        (b" true\n", True),
    ],
)
def test_parse_bool_accepts_true_and_false_in_every_form(payload: bytes, expected: bool) -> None:
    assert parse_bool(payload) is expected


@pytest.mark.parametrize(
    "payload",
    [b"2", b"-1", b"yes", b"", b"null", b"[true]", b'{"allow": true}', b"0.5", b"on", b"off", b"tru", b"01"],
)
def test_parse_bool_rejects_everything_else(payload: bytes) -> None:
    with pytest.raises(CommandError):
        parse_bool(payload)


def test_payload_of_the_maximum_size_is_accepted() -> None:
    payload = b" " * (MAX_COMMAND_BYTES - 1) + b"7"
    assert len(payload) == MAX_COMMAND_BYTES
    assert parse_int(payload, 6, 16) == 7


PARSERS: list[Callable[[bytes], object]] = [
    lambda p: parse_int(p, 0, 100),
    parse_bool,
    lambda p: parse_enum(p, ChargeMode),
]


@pytest.mark.parametrize("parse", PARSERS, ids=["int", "bool", "enum"])
def test_oversized_payload_is_rejected_by_every_parser(parse: Callable[[bytes], object]) -> None:
    payload = b" " * MAX_COMMAND_BYTES + b"7"
    with pytest.raises(CommandError, match="too large"):
        parse(payload)


@pytest.mark.parametrize("parse", PARSERS, ids=["int", "bool", "enum"])
@pytest.mark.parametrize("payload", [b"\xff", b"PV_\xc3ONLY", b"\xfe\xff1\x000"])
def test_non_utf8_payload_is_rejected(parse: Callable[[bytes], object], payload: bytes) -> None:
    with pytest.raises(CommandError, match="not UTF-8"):
        parse(payload)


def test_command_error_is_a_value_error() -> None:
    """Handlers may let it propagate to the MQTT runtime, which publishes it on the error topic."""
    assert issubclass(CommandError, ValueError)


def test_parse_text_bounds_any_payload() -> None:
    """Commands that take "anything" (reset) still get the size and UTF-8 checks."""
    assert parse_text(b" now \n") == "now"
    with pytest.raises(CommandError, match="too large"):
        parse_text(b"x" * 1_000_000)
