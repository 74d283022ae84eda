"""The price limit (`P/controller/price_limit/set`): in PV modes the car also charges from the grid at full
power while the grid price is at or below it. Grid charging in a PV mode is then intentional: the user
asked for it at that price. It never acts without a known price or on stale readings (goal_control.py).
"""

from __future__ import annotations

import re

from pvcontrol.commands import CommandError, parse_text

MAX_PRICE_LIMIT = 10.0  # per kWh, either sign: every supported tariff's currency stays far below
_DECIMAL = re.compile(r"-?[0-9]{1,2}(\.[0-9]{1,6})?")
OFF = frozenset({"", "off", "null"})


def parse_price_limit(payload: bytes) -> float | None:
    """A price per kWh in the tariff's currency (`0.15`, `-0.02`); empty, `off` or `null`: none."""
    text = parse_text(payload)
    if text.lower() in OFF:
        return None
    return check_price_limit(text)


def check_price_limit(text: str) -> float:
    if not _DECIMAL.fullmatch(text):
        raise CommandError(
            f"invalid price limit {text[:40]!r}, expected a decimal number per kWh such as 0.15, or off"
        )
    value = float(text)
    if abs(value) > MAX_PRICE_LIMIT:
        raise CommandError(
            f"invalid price limit {value}, expected at most {MAX_PRICE_LIMIT:g} per kWh either way"
            " (a price per kWh such as 0.25, not cents)"
        )
    return value


def price_limit_text(limit: float) -> str:
    """The limit as a command payload (what `parse_price_limit` reads back)."""
    return f"{limit:.6f}".rstrip("0").rstrip(".")
