"""Numbers in an answer: a JSON number that is finite, or DeviceError naming it."""

from __future__ import annotations

import math
from typing import Any

from pvcontrol.device import DeviceError


def number(value: Any, what: str) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        raise DeviceError(f"{what} {value!r} is not a number")
    return float(value)
