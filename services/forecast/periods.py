"""Pure forecast arithmetic: 15-minute slots from now to the end of tomorrow, resampling, energies."""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from pvcontrol.local_time import SLOT, midnight, slot_start
from pvcontrol.models import ForecastData, ForecastPeriod

# A slot counts as covered by a source when its periods span at least this share of it.
MIN_COVERAGE = 0.5


def slots(now: float, tz: ZoneInfo) -> list[tuple[float, float]]:
    """(start, end) of every 15-minute period from the one holding `now` to the end of tomorrow (local)."""
    start, end = slot_start(now), midnight(now, tz, 2)
    count = round((end - start) / SLOT)
    return [(start + i * SLOT, start + (i + 1) * SLOT) for i in range(count)]


def resample(periods: Sequence[ForecastPeriod], grid: Sequence[tuple[float, float]]) -> list[float | None]:
    """Time-weighted average W of `periods` (sorted, not overlapping) in each slot of `grid`; None where
    they cover less than MIN_COVERAGE of the slot."""
    starts = [p.start for p in periods]
    values: list[float | None] = []
    for slot_begin, slot_end in grid:
        first = max(bisect.bisect_right(starts, slot_begin) - 1, 0)
        covered = energy = 0.0
        for period in periods[first:]:
            if period.start >= slot_end:
                break
            overlap = min(slot_end, period.end) - max(slot_begin, period.start)
            if overlap > 0:
                covered += overlap
                energy += period.power_pv * overlap
        values.append(energy / covered if covered >= MIN_COVERAGE * (slot_end - slot_begin) else None)
    return values


def sum_planes(planes: Sequence[Sequence[ForecastPeriod]]) -> list[ForecastPeriod]:
    """One roof from one forecast per plane: 15-minute slots where every plane's forecast covers them."""
    if not planes or not all(planes):
        return []
    begin = slot_start(min(p[0].start for p in planes))
    end = max(p[-1].end for p in planes)
    grid = [(begin + i * SLOT, begin + (i + 1) * SLOT) for i in range(int((end - begin) // SLOT) + 1)]
    per_plane = [resample(periods, grid) for periods in planes]
    roof = []
    for i, (start, stop) in enumerate(grid):
        values = [plane[i] for plane in per_plane]
        if all(v is not None for v in values):
            roof.append(ForecastPeriod(start=start, end=stop, power_pv=sum(v or 0.0 for v in values)))
    return roof


def power_at(periods: Sequence[ForecastPeriod], ts: float) -> float | None:
    """The forecast W at `ts`, None when no period holds it."""
    index = bisect.bisect_right([p.start for p in periods], ts) - 1
    if index >= 0 and periods[index].start <= ts < periods[index].end:
        return periods[index].power_pv
    return None


def merge(primary: list[float | None], fallback: list[float]) -> tuple[list[float], bool]:
    """`primary` with its gaps filled from `fallback`; True if any gap was filled."""
    filled = [p if p is not None else f for p, f in zip(primary, fallback, strict=True)]
    return filled, any(p is None for p in primary)


def corrected(
    grid: Sequence[tuple[float, float]], values: Sequence[float], today_end: float, factor: float
) -> list[ForecastPeriod]:
    """The periods, today's scaled by the nowcast `factor` (tomorrow's as forecast)."""
    return [
        ForecastPeriod(start=start, end=end, power_pv=value * factor if start < today_end else value)
        for (start, end), value in zip(grid, values, strict=True)
    ]


def document(
    now: float,
    tz: ZoneInfo,
    periods: list[ForecastPeriod],
    source: str,
    error: int,
    sun: tuple[float | None, float | None],
) -> ForecastData:
    data = ForecastData(ts=now, error=error, source=source, periods=periods, sunrise=sun[0], sunset=sun[1])
    today_end, tomorrow_end = midnight(now, tz, 1), midnight(now, tz, 2)
    data.energy_today_remaining = data.energy_between(now, today_end)
    data.energy_tomorrow = data.energy_between(today_end, tomorrow_end)
    return data
