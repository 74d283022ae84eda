"""The car's goals as commands — min_soc, limit_soc, the departure plan and the price limit — checked in
one place.

The controller takes them on `P/controller/{min_soc,limit_soc,plan,price_limit}/set`. The gateway
checks a PUT with the same functions before it publishes one: a command the controller refuses only shows on
`P/controller/error`, where it cannot be matched to the request that sent it, so the gateway answers
422 with the refusal the controller would give.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, Literal

from pydantic import ValidationError

from pvcontrol.commands import MAX_COMMAND_BYTES, CommandError, parse_int, parse_text
from pvcontrol.models import WEEKDAYS, PlanSetting

SocGoal = Literal["min_soc", "limit_soc"]
# The values each SOC goal takes (%), and the one among them that means "none".
SOC_RANGE: dict[SocGoal, tuple[int, int]] = {"min_soc": (0, 100), "limit_soc": (1, 100)}
SOC_NONE: dict[SocGoal, int] = {"min_soc": 0, "limit_soc": 100}
PLAN_SHAPE = 'expected an object with "soc", "time" and optionally "days"'
MAX_PRICE_LIMIT = 10.0  # per kWh, either sign: every supported tariff's currency stays far below
_DECIMAL = re.compile(r"-?[0-9]{1,2}(\.[0-9]{1,6})?")
PRICE_LIMIT_OFF = frozenset({"", "off", "null"})


def soc_or_none(name: SocGoal, soc: int) -> int | None:
    """A SOC goal within its range; None for the value that means none."""
    return None if soc == SOC_NONE[name] else soc


def parse_soc(payload: bytes, name: SocGoal) -> int | None:
    """A SOC in % (ASCII digits; min_soc 0-100, 0 = none; limit_soc 1-100, 100 = none)."""
    low, high = SOC_RANGE[name]
    return soc_or_none(name, parse_int(payload, low, high))


def check_soc_order(min_soc: int | None, limit_soc: int | None, changed: SocGoal) -> None:
    """Refuse a minimum above the limit, said from the side of the goal that `changed`."""
    if min_soc is None or limit_soc is None or min_soc <= limit_soc:
        return
    if changed == "min_soc":
        raise CommandError(f"minimum {min_soc} % is above the limit of {limit_soc} %")
    raise CommandError(f"limit {limit_soc} % is below the minimum of {min_soc} %")


def parse_plan(payload: bytes) -> PlanSetting | None:
    """`{"soc": 80, "time": "07:00", "days": ["mon", ...]}`; an empty payload (or `null`) clears it."""
    if len(payload) > MAX_COMMAND_BYTES:
        raise CommandError(f"payload too large ({len(payload)} bytes, at most {MAX_COMMAND_BYTES})")
    if not payload.strip() or payload.strip() == b"null":
        return None
    try:
        document = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise CommandError('expected {"soc": 80, "time": "07:00"} (JSON) or an empty payload') from e
    return plan_setting(document)


def plan_setting(document: object) -> PlanSetting:
    """A plan from its JSON document, or a CommandError naming the first field that is wrong."""
    try:
        return PlanSetting.model_validate(document)
    except ValidationError as e:
        raise CommandError(_plan_refusal(document, e)) from None


def plan_json(setting: PlanSetting) -> str:
    """The plan as the command's payload."""
    return json.dumps(setting.model_dump())


def _plan_refusal(document: object, error: ValidationError) -> str:
    fields = {str(e["loc"][0]) if e["loc"] else "" for e in error.errors()}
    if not isinstance(document, dict) or not fields <= {"soc", "time", "days"}:
        return PLAN_SHAPE  # not an object, or one with other keys
    if "soc" in fields:
        return f"invalid plan soc {document.get('soc')!r}, expected an integer in [1, 100]"
    if "time" in fields:
        return f"invalid plan time {str(document.get('time'))[:20]!r}, expected HH:MM"
    return f"invalid plan days, expected a list of {', '.join(WEEKDAYS)}"


# --- the price limit: PV modes also charge from the grid at or below it (per kWh) ----------------------


def parse_price_limit(payload: bytes) -> float | None:
    """A price per kWh in the tariff's currency (`0.15`, `-0.02`); empty, `off` or `null`: none."""
    text = parse_text(payload)
    if text.lower() in PRICE_LIMIT_OFF:
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
            f"invalid price limit {value}: a price per kWh from -{MAX_PRICE_LIMIT:g} to {MAX_PRICE_LIMIT:g}"
            " such as 0.25, not cents"
        )
    return value


def price_limit_text(limit: float) -> str:
    """The limit as a command payload (what `parse_price_limit` reads back)."""
    return f"{limit:.6f}".rstrip("0").rstrip(".")


def price_limit_payload(document: Any) -> str:
    """A REST body (a JSON number per kWh, or null = off) as the command's payload."""
    if document is None:
        return ""
    if isinstance(document, bool) or not isinstance(document, int | float) or not math.isfinite(document):
        raise CommandError("expected a number per kWh such as 0.15, or null")
    return price_limit_text(check_price_limit(price_limit_text(document)))
