"""Physically possible readings only: the rules every source applies before it publishes, and every
consumer (controller, relay, history) applies to what it receives.

Stateless (`problem`): finite numbers, |power| within the plant limit, SOC 0-100, energy counters between
0 and what the plant limit could deliver in `COUNTER_LIFETIME`, a `ts` not in the future. Stateful
(`counter_step`, `CounterTracker`): an energy counter only rises, by at most what the plant limit could
deliver in the elapsed time (with slack); a small step back is noise (the previous value stands), a drop
to near zero is a real reset, anything else is implausible until the new series has run consistently for
`REBASE_AFTER` s (a replaced meter). `SourceCheck` joins both for one source.

A reading that fails at the source is a read error (`error` counts up, the last good values are kept);
a consumer treats it like a missing one: the controller stops PV charging and never raises the current
on it, the relay never switches on it. NaN and infinities are already refused when a document is parsed
(`StateDocument` does not allow them).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Generic, TypeVar

from pvcontrol.device import DeviceError
from pvcontrol.models import CarData, MeterData, StateDocument, WallboxData

DEFAULT_POWER_LIMIT = 50_000.0  # W; above any home plant, far below a forged -1e6
MAX_FUTURE_SKEW = 5.0  # s a reading's ts may be ahead of the receiver's clock (clock differences)
# A charger draws power; a few watts below zero are measurement noise, more is a broken or forged reading.
WALLBOX_NEGATIVE_POWER_TOLERANCE = 100.0
COUNTER_LIFETIME = 50 * 365 * 24.0  # h: a counter holds at most 50 years at the plant limit
RISE_SLACK = 1.5  # a counter may rise by this much more than the plant limit delivers in the elapsed time
COUNTER_STEP = 1000.0  # Wh: plus one step of a coarse counter (whole kWh), so no honest rise is refused
NOISE = 100.0  # Wh a counter may step back (a late answer, rounding) without being a reset ...
NOISE_SHARE = 1e-4  # ... or this share of its value, whichever is larger
RESET_FRACTION = 0.5  # a reset drops below this share of the previous value (and to near zero)
REBASE_AFTER = 300.0  # s a counter must run consistently off its old series to be taken as a new one
# Wh a counter may not drop by for a late answer: a consumer that confirms a new series with the next
# reading (the history's sessions) takes such a drop as one at once, wherever it lands.
LARGE_DROP = 2000.0
MAX_RANGE = 5_000.0  # km a car may report as cruising range
MAX_MILEAGE = 10_000_000.0  # km on a car's odometer

METER_POWERS = ("power_grid", "power_pv", "power_battery", "power_consumption")  # measured ones first
METER_COUNTERS = ("energy_consumption_grid", "energy_consumption_pv", "energy_consumption")
WALLBOX_COUNTERS = ("total_energy", "charged_energy")  # the register first


class ImplausibleReading(DeviceError):
    """A device answered, but with values that cannot be true: a read error like any other."""


# --- stateless ----------------------------------------------------------------------------------


def problem(reading: StateDocument, now: float, power_limit: float = DEFAULT_POWER_LIMIT) -> str | None:
    """Why `reading` must not be trusted, or None when it is plausible."""
    for name, value in reading:
        if isinstance(value, float) and not math.isfinite(value):
            return f"{name} {value} is not a number"
    if reading.ts - now > MAX_FUTURE_SKEW:
        return f"ts {reading.ts:.0f} is {reading.ts - now:.0f} s in the future"
    if isinstance(reading, MeterData):
        return _meter_problem(reading, power_limit)
    if isinstance(reading, WallboxData):
        return _wallbox_problem(reading, power_limit)
    if isinstance(reading, CarData):
        return _car_problem(reading, power_limit)
    return None


def energy_limit(power_limit: float) -> float:
    """The largest plausible energy counter (Wh)."""
    return power_limit * COUNTER_LIFETIME


def energy_problem(name: str, wh: float, power_limit: float = DEFAULT_POWER_LIMIT) -> str | None:
    """Why the energy counter `name` = `wh` cannot be true, or None."""
    if not math.isfinite(wh):
        return f"{name} {wh} is not a number"
    if wh < 0:
        return f"{name} {wh:g} Wh is negative"
    if wh > energy_limit(power_limit):
        return f"{name} {wh:g} Wh is beyond any plant's lifetime energy"
    return None


def _beyond(name: str, watts: float, power_limit: float) -> str | None:
    if abs(watts) > power_limit:
        return f"{name} {watts:g} W is beyond the plant limit of {power_limit:g} W"
    return None


def _soc_problem(name: str, soc: float) -> str | None:
    if not 0 <= soc <= 100:
        return f"{name} {soc:g} % is outside 0-100"
    return None


def _first(*found: str | None) -> str | None:
    return next((f for f in found if f is not None), None)


def _meter_problem(m: MeterData, power_limit: float) -> str | None:
    return _first(
        *(_beyond(name, getattr(m, name), power_limit) for name in METER_POWERS),
        *(energy_problem(name, getattr(m, name), power_limit) for name in METER_COUNTERS),
        _soc_problem("soc_battery", m.soc_battery),
    )


def _wallbox_problem(w: WallboxData, power_limit: float) -> str | None:
    found = _first(
        _beyond("power", w.power, power_limit),
        *(energy_problem(name, getattr(w, name), power_limit) for name in WALLBOX_COUNTERS),
    )
    if found:
        return found
    if w.power < -WALLBOX_NEGATIVE_POWER_TOLERANCE:
        return f"power {w.power:g} W is negative"
    if not 0 <= w.max_current <= 80:
        return f"max_current {w.max_current} A is outside 0-80"
    return None


def _car_problem(c: CarData, power_limit: float) -> str | None:
    if not 0 <= c.cruising_range <= MAX_RANGE:
        return f"cruising_range {c.cruising_range:g} km is outside 0-{MAX_RANGE:g}"
    if not 0 <= c.mileage <= MAX_MILEAGE:
        return f"mileage {c.mileage:g} km is outside 0-{MAX_MILEAGE:g}"
    session = energy_problem("session_energy", c.session_energy, power_limit) if c.session_energy else None
    return session or _soc_problem("soc", c.soc)


# --- energy counters over time ------------------------------------------------------------------


class Step(Enum):
    FIRST = "first"  # no earlier value to compare with
    RISE = "rise"  # up (or equal), within what the plant could deliver
    NOISE = "noise"  # a small step back: the previous value stands
    RESET = "reset"  # back to near zero: a new count (a new session, a reset device)
    IMPLAUSIBLE = "implausible"


@dataclass(frozen=True)
class CounterStep:
    kind: Step
    value: float  # what to publish or account: the new value, or the previous one for NOISE
    reason: str | None = None  # why, for IMPLAUSIBLE
    added: float = 0.0  # Wh counted since the previous value: the rise, or after a reset the new count


def max_rise(elapsed: float, power_limit: float = DEFAULT_POWER_LIMIT) -> float:
    """Wh a counter may rise in `elapsed` s."""
    return power_limit * max(elapsed, 0.0) / 3600 * RISE_SLACK + COUNTER_STEP


def counter_step(
    previous: float | None, value: float, elapsed: float, power_limit: float = DEFAULT_POWER_LIMIT
) -> CounterStep:
    """How an energy counter moved from `previous` to `value` in `elapsed` s (pure; for the history too).

    A drop to at most what could have been counted since (`max_rise`) and below `RESET_FRACTION` of the
    previous value is a reset; a step back of at most `NOISE` Wh (or `NOISE_SHARE` of the value) is noise."""
    found = energy_problem("counter", value, power_limit)
    if found:
        return CounterStep(Step.IMPLAUSIBLE, value, found)
    if previous is None:
        return CounterStep(Step.FIRST, value)
    allowance = max_rise(elapsed, power_limit)
    if value >= previous:
        if value - previous > allowance:
            reason = f"rose by {value - previous:g} Wh in {max(elapsed, 0):.0f} s"
            return CounterStep(Step.IMPLAUSIBLE, value, reason)
        return CounterStep(Step.RISE, value, added=value - previous)
    if value <= allowance and value < previous * RESET_FRACTION:
        return CounterStep(Step.RESET, value, added=value)
    if previous - value <= max(NOISE, NOISE_SHARE * previous):
        return CounterStep(Step.NOISE, previous)
    return CounterStep(Step.IMPLAUSIBLE, value, f"fell from {previous:g} to {value:g} Wh")


@dataclass
class _Mark:
    value: float
    at: float
    since: float = 0.0  # for a candidate series: when it began


@dataclass
class CounterVerdict:
    values: dict[str, float]  # the counters to publish (noise held at the previous value)
    problem: str | None = None
    rebased: list[str] = field(default_factory=list)  # counters taken as a new series


class CounterTracker:
    """The energy counters of one source. `check` commits only a plausible reading as a whole; a counter
    that runs off its series consistently for `rebase_after` s is taken as a new series (logged by the
    caller through `rebased`), so a replaced meter does not stay an error forever."""

    def __init__(self, power_limit: float = DEFAULT_POWER_LIMIT, rebase_after: float = REBASE_AFTER) -> None:
        self.power_limit = power_limit
        self.rebase_after = rebase_after
        self.accepted: dict[str, _Mark] = {}
        self.candidates: dict[str, _Mark] = {}

    def check(self, counters: Mapping[str, float], at: float) -> CounterVerdict:
        verdict = CounterVerdict({})
        refused: dict[str, CounterStep] = {}
        for name, value in counters.items():
            last = self.accepted.get(name)
            elapsed = at - last.at if last else 0.0
            step = counter_step(last.value if last else None, value, elapsed, self.power_limit)
            if step.kind is Step.IMPLAUSIBLE:
                refused[name] = step
            verdict.values[name] = step.value
        for name, step in refused.items():
            if not self._consistent_candidate(name, counters[name], at):
                verdict.problem = verdict.problem or f"{name} {step.reason}"
            else:
                verdict.rebased.append(name)
        if verdict.problem is None:
            for name, value in verdict.values.items():
                self.candidates.pop(name, None)
                if value == 0:
                    # Adapters report 0 for a counter the device has not told yet (no MeterValues since
                    # the start, a point not implemented): the next value starts the series.
                    self.accepted.pop(name, None)
                else:
                    self.accepted[name] = _Mark(value, at)
        return verdict

    def _consistent_candidate(self, name: str, value: float, at: float) -> bool:
        """Follow the refused series; True once it has run consistently for `rebase_after` s."""
        if energy_problem(name, value, self.power_limit):
            return False
        candidate = self.candidates.get(name)
        if candidate is not None:
            step = counter_step(candidate.value, value, at - candidate.at, self.power_limit)
            if step.kind in (Step.RISE, Step.NOISE):
                self.candidates[name] = _Mark(step.value, at, candidate.since)
                return at - candidate.since >= self.rebase_after
        self.candidates[name] = _Mark(value, at, at)
        return False


# --- one source ---------------------------------------------------------------------------------

D = TypeVar("D", bound=StateDocument)


def counters_of(reading: StateDocument) -> tuple[str, ...]:
    if isinstance(reading, MeterData):
        return METER_COUNTERS
    if isinstance(reading, WallboxData):
        return WALLBOX_COUNTERS
    return ()


class SourceCheck(Generic[D]):
    """What a service runs on each reading before it publishes it: the reading with noisy counters held,
    or `ImplausibleReading`. `clock` (monotonic) times the counters; `wall` checks `ts`."""

    def __init__(
        self,
        power_limit: float = DEFAULT_POWER_LIMIT,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        rebase_after: float = REBASE_AFTER,
        log: logging.Logger | None = None,
    ) -> None:
        self.power_limit = power_limit
        self.clock = clock
        self.wall = wall
        self.counters = CounterTracker(power_limit, rebase_after)
        self.log = log or logging.getLogger("pvcontrol.plausibility")

    def check(self, reading: D) -> D:
        found = problem(reading, self.wall(), self.power_limit)
        if found:
            raise ImplausibleReading(found)
        names = counters_of(reading)
        if not names:
            return reading
        verdict = self.counters.check({name: getattr(reading, name) for name in names}, self.clock())
        if verdict.problem:
            raise ImplausibleReading(verdict.problem)
        for name in verdict.rebased:
            self.log.warning(
                "%s ran off its series for %.0f s: taken as a new count", name, self.counters.rebase_after
            )
        changed = {name: value for name, value in verdict.values.items() if value != getattr(reading, name)}
        return reading.model_copy(update=changed) if changed else reading
