"""The first wallbox state after the gateway was down: what happened to the session it left open.

The gateway may have been killed (`kill -9`, power cut) or unable to write its file. The open session
was saved with the wallbox's counters of one reading (`last_charged_energy`, `last_total_energy`), so
the counters now tell what happened meanwhile:

- the same car still plugged in: the session goes on, the rise of `charged_energy` is added;
- the car unplugged: the session ends with what the lifetime register (`total_energy`) rose by, or, for a
  wallbox without one, what `charged_energy` still shows above the saved count;
- another session on the wallbox (its count began anew while the register rose by more than the count):
  the saved session ends with the register's rise less the new count, and the new one starts with its
  count.

What cannot be recovered: the end time, which no wallbox reports; it is estimated as the last save plus
the time the missing energy takes at the session's peak power (never later than the first reading after
the restart) and marked `end_estimated`. The split by source of energy charged while the gateway was down
is unknown and counted as bought from the grid. A new session starts when the gateway first sees it.
Without `total_energy`, energy charged after the last save by a car unplugged since is lost when the
wallbox clears its count at unplug, and a new session that counted past the old one is taken for it.
A car that came and went entirely while the gateway was down is counted in the ended session.
"""

from __future__ import annotations

from dataclasses import replace

from pvcontrol.models import CarData, MeterData, WallboxData
from pvcontrol.plausibility import max_rise
from services.api.history.counters import starts_anew, total_rise
from services.api.history.sessions import Session, plugged, step

# Wh the register may rise by more than the session's count in one session (go-e counts its lifetime in
# 100 Wh steps); more means the count began anew.
REGISTER_SLACK = 200.0


def resume(
    saved: Session, wallbox: WallboxData, meter: MeterData | None, car: CarData | None, at: float
) -> tuple[Session | None, Session | None]:
    """(the saved session if it ended meanwhile, the session open now) after a usable wallbox state."""
    gap = at - saved.updated_at
    rise = total_rise(saved.last_total_energy, wallbox)
    if rise is not None and rise > max_rise(gap):
        rise = None  # a register that jumped further than a charger can: not evidence of anything
    if not plugged(wallbox):
        missing = rise if rise is not None else _count_still_shown(saved, wallbox, gap)
        return _ended_meanwhile(saved, missing, at), None
    if not _began_anew(saved, wallbox, rise, gap):
        return None, step(saved, wallbox, meter, car, at)
    missing = max(rise - wallbox.charged_energy, 0.0) if rise is not None else 0.0
    opened = step(None, wallbox, meter, car, at)
    assert opened is not None  # plugged in
    charged = wallbox.charged_energy if wallbox.charged_energy <= max_rise(gap) else 0.0
    opened = replace(opened, energy_wh=charged, grid_wh=charged)
    return _ended_meanwhile(saved, missing, at), opened


def _count_still_shown(saved: Session, wallbox: WallboxData, gap: float) -> float:
    """Some wallboxes keep the ended session's count until the next car."""
    previous = saved.last_charged_energy
    if previous is None or wallbox.charged_energy <= previous:
        return 0.0
    added = wallbox.charged_energy - previous
    return added if added <= max_rise(gap) else 0.0


def _began_anew(saved: Session, wallbox: WallboxData, rise: float | None, gap: float) -> bool:
    previous = saved.last_charged_energy
    if previous is None:
        return False
    if rise is not None:
        # One session: the count rose as the register did. More on the register: the count restarted.
        return rise - (wallbox.charged_energy - previous) > REGISTER_SLACK
    return starts_anew(previous, wallbox.charged_energy, gap)


def _ended_meanwhile(saved: Session, missing: float, at: float) -> Session:
    power = saved.peak_power_w
    charging = missing / power * 3600 if power > 0 else 0.0
    ended = max(min(saved.updated_at + charging, at), saved.updated_at)
    return replace(
        saved,
        ended_at=ended,
        updated_at=ended,
        energy_wh=saved.energy_wh + missing,
        grid_wh=saved.grid_wh + missing,
        end_estimated=True,
    )
