"""How the wallbox's energy counters are read: noise, a real reset, and rises no charger can make.

`charged_energy` counts from the start of the wallbox's session; a reading can come late (an OCPP
MeterValues sent after a newer one) or jitter by a few Wh, and that is noise, never a new session.
A real reset drops to near zero or by a large amount. A reading that does not follow from the count (a
reset, or a rise no charger can make) is a `Jump`; the next reading tells whether the count goes on from
it (the wallbox began anew, or took a new base) or from before it (a glitch, forgotten).
`total_energy` is the wallbox's lifetime register (0 when the wallbox does not report one).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

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


@dataclass(frozen=True)
class Jump:
    """A reading that did not follow from the count, waiting for the next one to tell."""

    charged: float
    at: float
    since: float  # when the count was last taken


@dataclass(frozen=True)
class Counted:
    added: float  # Wh
    charged: float | None  # the count to go on from
    total: float | None
    jump: Jump | None = None
    why: str | None = None  # why a reading was not taken as energy (a rise no charger can make)


def register(wallbox: WallboxData) -> float | None:
    return wallbox.total_energy if wallbox.total_energy > 0 else None


def count(
    charged: float | None,
    total: float | None,
    counted_at: float,
    jump: Jump | None,
    wallbox: WallboxData,
    at: float,
) -> Counted:
    """The energy of one reading after a count of `charged` taken at `counted_at` (`jump`: one pending)."""
    if charged is None:
        return Counted(0.0, wallbox.charged_energy, register(wallbox))
    kept = Counted(0.0, charged, total, jump)
    if at < counted_at or (jump is not None and at < jump.at):
        return kept  # an older reading arriving late: the count has moved on since
    current = wallbox.charged_energy
    last_at = jump.since if jump is not None else counted_at
    if current >= charged:
        if current - charged <= most_energy(at - last_at):
            return Counted(current - charged, current, register(wallbox))  # a pending jump was a glitch
    elif not is_reset(charged, current):
        return kept  # noise: keep the highest count, so the way back up is not counted twice
    if jump is not None and current >= jump.charged and current - jump.charged <= most_energy(at - jump.at):
        # The count goes on from the jump: the wallbox began anew (its new count is energy, if a charger
        # can have delivered it), or its count took a new base (not energy).
        began_anew = jump.charged < charged and jump.charged <= most_energy(jump.at - jump.since)
        first = jump.charged if began_anew else 0.0
        return Counted(first + current - jump.charged, current, register(wallbox))
    why = None
    if current > charged:
        why = f"charged_energy went from {charged:g} to {current:g} Wh in {at - last_at:.0f} s"
    return Counted(0.0, charged, total, Jump(current, at, last_at), why)
