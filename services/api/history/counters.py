"""How the history reads the wallbox's energy counters, by the rules of `pvcontrol/plausibility.py`.

`charged_energy` counts from the start of the wallbox's session; a reading can come late (an OCPP
MeterValues sent after a newer one) or jitter by a few Wh, and that is noise, never a new session.
Each reading is classified by `plausibility.counter_step` (noise, a reset to near zero, a rise no charger
can make); a drop of `plausibility.LARGE_DROP` or more is no late reading either. The history adds one
thing to those rules: a reading that does not follow from the count (a reset, a large drop, an
impossible rise) is a `Jump`, and the next reading tells whether the count goes on from it (the wallbox
began anew, or took a new base) or from before it (a glitch, forgotten).
`total_energy` is the wallbox's lifetime register (0 when the wallbox does not report one).
"""

from __future__ import annotations

from dataclasses import dataclass

from pvcontrol.models import WallboxData
from pvcontrol.plausibility import LARGE_DROP, Step, counter_step, energy_problem, max_rise

MAX_SESSION_WH = 1_000_000.0  # 1 MWh in one plug-in: a larger session count is broken or forged


def counter_problem(wallbox: WallboxData) -> str | None:
    """Why the counters of `wallbox` cannot be true whatever came before, or None."""
    found = energy_problem("charged_energy", wallbox.charged_energy)
    if found is None and wallbox.charged_energy > MAX_SESSION_WH:
        found = f"charged_energy {wallbox.charged_energy:g} Wh is beyond {MAX_SESSION_WH:g} Wh in one session"
    return found or energy_problem("total_energy", wallbox.total_energy)


def starts_anew(previous: float, current: float, elapsed: float) -> bool:
    """True when `charged_energy` went from `previous` to `current` in `elapsed` s because the wallbox
    began a new count: a reset to near zero, or a drop too large for a late reading."""
    step = counter_step(previous, current, elapsed)
    return step.kind is Step.RESET or (step.kind is Step.IMPLAUSIBLE and previous - current >= LARGE_DROP)


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
    if counter_step(charged, current, at - last_at).kind is Step.RISE:
        return Counted(current - charged, current, register(wallbox))  # a pending jump was a glitch
    if current < charged and not starts_anew(charged, current, at - last_at):
        return kept  # noise or a late reading: keep the highest count, so the way back up counts once
    if jump is not None and counter_step(jump.charged, current, at - jump.at).kind is Step.RISE:
        # The count goes on from the jump: the wallbox began anew (its new count is energy, if a charger
        # can have delivered it), or its count took a new base (not energy).
        began_anew = jump.charged < charged and jump.charged <= max_rise(jump.at - jump.since)
        first = jump.charged if began_anew else 0.0
        return Counted(first + current - jump.charged, current, register(wallbox))
    why = None
    if current > charged:
        why = f"charged_energy went from {charged:g} to {current:g} Wh in {at - last_at:.0f} s"
    return Counted(0.0, charged, total, Jump(current, at, last_at), why)
