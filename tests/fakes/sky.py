"""A simple sky for the forecast fakes: a clear-ish day from 06:00 to 18:00 UTC, peak at noon."""

from __future__ import annotations

import math

DAY = 86400.0


def irradiance(ts: float, peak: float = 800.0) -> float:
    """W/m² on a plane at `ts` (Unix s): a half sine from 06:00 to 18:00 UTC, 0 at night."""
    hours = (ts % DAY) / 3600.0
    if not 6.0 <= hours <= 18.0:
        return 0.0
    return peak * math.sin(math.pi * (hours - 6.0) / 12.0)


def utc_midnight(ts: float) -> float:
    return ts - ts % DAY
