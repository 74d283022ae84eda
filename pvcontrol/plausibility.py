"""Trust boundary for state documents from other services: physically possible values only.

A reading that fails here is treated like a missing one: the controller stops PV charging and never
raises the current on it, the relay never switches on it. NaN and infinities are already refused when
a document is parsed (`StateDocument` does not allow them).
"""

from __future__ import annotations

from pvcontrol.models import CarData, MeterData, StateDocument, WallboxData

DEFAULT_POWER_LIMIT = 50_000.0  # W; above any home plant, far below a forged -1e6
MAX_FUTURE_SKEW = 5.0  # s a reading's ts may be ahead of the receiver's clock (clock differences)
# A charger draws power; a few watts below zero are measurement noise, more is a broken or forged reading.
WALLBOX_NEGATIVE_POWER_TOLERANCE = 100.0


def problem(reading: StateDocument, now: float, power_limit: float = DEFAULT_POWER_LIMIT) -> str | None:
    """Why `reading` must not be trusted, or None when it is plausible."""
    if reading.ts - now > MAX_FUTURE_SKEW:
        return f"ts {reading.ts:.0f} is {reading.ts - now:.0f} s in the future"
    if isinstance(reading, MeterData):
        return _meter_problem(reading, power_limit)
    if isinstance(reading, WallboxData):
        return _wallbox_problem(reading, power_limit)
    if isinstance(reading, CarData):
        return _soc_problem("soc", reading.soc)
    return None


def _beyond(name: str, watts: float, power_limit: float) -> str | None:
    if abs(watts) > power_limit:
        return f"{name} {watts:g} W is beyond the plant limit of {power_limit:g} W"
    return None


def _soc_problem(name: str, soc: float) -> str | None:
    if not 0 <= soc <= 100:
        return f"{name} {soc:g} % is outside 0-100"
    return None


def _meter_problem(m: MeterData, power_limit: float) -> str | None:
    for name in ("power_pv", "power_consumption", "power_grid", "power_battery"):
        found = _beyond(name, getattr(m, name), power_limit)
        if found:
            return found
    for name in ("energy_consumption", "energy_consumption_grid", "energy_consumption_pv"):
        if getattr(m, name) < 0:
            return f"{name} {getattr(m, name):g} Wh is negative"
    return _soc_problem("soc_battery", m.soc_battery)


def _wallbox_problem(w: WallboxData, power_limit: float) -> str | None:
    found = _beyond("power", w.power, power_limit)
    if found:
        return found
    if w.power < -WALLBOX_NEGATIVE_POWER_TOLERANCE:
        return f"power {w.power:g} W is negative"
    if w.charged_energy < 0 or w.total_energy < 0:
        return "energy counters are negative"
    if not 0 <= w.max_current <= 80:
        return f"max_current {w.max_current} A is outside 0-80"
    return None
