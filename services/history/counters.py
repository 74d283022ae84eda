"""How the wallbox's energy counters are read: noise, a real reset, and rises no charger can make.

`charged_energy` counts from the start of the wallbox's session; a reading can come late (an OCPP
MeterValues sent after a newer one) or jitter by a few Wh, and that is noise, never a new session.
A real reset drops to near zero or by a large amount. `total_energy` is the wallbox's lifetime
register (0 when the wallbox does not report one).
"""

from __future__ import annotations

import math

from pvcontrol.models import WallboxData
from pvcontrol.plausibility import DEFAULT_POWER_LIMIT

# A backwards step smaller than this is noise even when it halves a small count (a late reading at the
# start of a session); a larger one to below RESET_FRACTION of the count is the wallbox starting anew.
NOISE_DROP_WH = 100.0
RESET_FRACTION = 0.5
# A drop this large is a reset wherever it lands: no reading arrives that late.
LARGE_DROP_WH = 2000.0
# Counters beyond these are broken or forged, whatever the time between readings.
MAX_SESSION_WH = 1_000_000.0  # 1 MWh in one plug-in
MAX_TOTAL_WH = 10_000_000_000.0  # 10 GWh in a wallbox's life
# A rise may exceed the power limit's energy over the interval by this much (counter resolution: go-e
# counts its lifetime in 100 Wh steps).
RISE_SLACK_WH = 200.0


def counter_problem(wallbox: WallboxData) -> str | None:
    """Why the counters of `wallbox` cannot be true whatever came before, or None."""
    if not math.isfinite(wallbox.charged_energy) or wallbox.charged_energy > MAX_SESSION_WH:
        return f"charged_energy {wallbox.charged_energy:g} Wh is beyond {MAX_SESSION_WH:g} Wh"
    if not math.isfinite(wallbox.total_energy) or wallbox.total_energy > MAX_TOTAL_WH:
        return f"total_energy {wallbox.total_energy:g} Wh is beyond {MAX_TOTAL_WH:g} Wh"
    return None


def is_reset(previous: float, current: float) -> bool:
    """True when `charged_energy` went from `previous` to `current` because the wallbox began anew."""
    drop = previous - current
    if drop >= LARGE_DROP_WH:
        return True
    return drop > NOISE_DROP_WH and current < previous * RESET_FRACTION


def most_energy(seconds: float, power_limit: float = DEFAULT_POWER_LIMIT) -> float:
    """The most energy (Wh) a charger can deliver in `seconds`: more is a broken counter."""
    return power_limit * max(seconds, 0.0) / 3600 + RISE_SLACK_WH


def total_rise(last_total: float | None, wallbox: WallboxData) -> float | None:
    """What the lifetime register rose by since `last_total`; None when it cannot tell."""
    if last_total is None or wallbox.total_energy <= 0 or wallbox.total_energy < last_total:
        return None
    return wallbox.total_energy - last_total
