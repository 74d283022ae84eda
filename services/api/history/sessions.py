"""Charging sessions from the state documents, as a pure fold: plug-in to unplug is one session.

The energy of each step is the rise of the wallbox's `charged_energy`; it is split by source with the
power flows of that moment (`pvcontrol.energy.split_by_flows`). How the counter is read (noise, resets,
impossible rises) is in `counters.py`; a restart of the gateway in `resume.py`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from pvcontrol.energy import split_by_flows
from pvcontrol.models import CarData, CarStatus, MeterData, WallboxData
from services.api.history.counters import Counted, Jump, count, counter_problem, register
from services.api.history.pricing import NOTHING_PRICED, Priced, cost_with


@dataclass(frozen=True)
class Tariff:
    grid_price: float  # per kWh bought
    feed_in_tariff: float  # per kWh sold: what the solar energy would have earned instead


@dataclass(frozen=True)
class Session:
    started_at: float
    ended_at: float | None = None
    updated_at: float = 0.0
    energy_wh: float = 0.0
    pv_wh: float = 0.0
    battery_wh: float = 0.0
    grid_wh: float = 0.0
    peak_power_w: float = 0.0
    phases: frozenset[int] = field(default_factory=frozenset)
    soc_start: float | None = None
    soc_end: float | None = None
    # the wallbox counters at the last step (one reading), so a restart of this service resumes where it was
    last_charged_energy: float | None = None
    last_total_energy: float | None = None
    # the session ended while the gateway was down: `ended_at` is estimated (see resume.py)
    end_estimated: bool = False
    jump: Jump | None = None  # a reading that did not follow from the count (not stored: one reading)
    priced: Priced = NOTHING_PRICED  # the part of the energy priced at the minutes' tariff (pricing.py)
    id: int | None = None  # set by the store

    @property
    def open(self) -> bool:
        return self.ended_at is None

    def cost(self, tariff: Tariff) -> float:
        """Bought from the grid, plus the feed-in the solar and battery energy did not earn: at the
        minutes' prices where known (`priced`), else at `tariff`'s."""
        solar = self.pv_wh + self.battery_wh
        return cost_with(self.priced, self.grid_wh, solar, tariff.grid_price, tariff.feed_in_tariff)

    @property
    def solar_share(self) -> float | None:
        if self.energy_wh <= 0:
            return None
        return (self.pv_wh + self.battery_wh) / self.energy_wh


def plugged(wallbox: WallboxData) -> bool:
    return wallbox.car_status != CarStatus.NoVehicle


def step(
    session: Session | None,
    wallbox: WallboxData,
    meter: MeterData | None,
    car: CarData | None,
    at: float,
) -> Session | None:
    """The session after one wallbox state (`None` when no car is plugged in and none was open).

    An unplug closes the open session (the caller stores it and gets None next time). A state whose
    counters cannot be true changes nothing."""
    if wallbox.error or counter_problem(wallbox) is not None:
        return session  # a repeated old reading, or a broken one: nothing new happened
    if not plugged(wallbox):
        if session is None or not session.open:
            return None
        ended = max(at, session.updated_at)
        return replace(session, ended_at=ended, updated_at=ended, soc_end=_soc(car, session.soc_end))
    if session is None or not session.open:
        session = Session(
            started_at=at,
            updated_at=at,
            soc_start=_soc(car, None),
            last_charged_energy=wallbox.charged_energy,
            last_total_energy=register(wallbox),
        )
    counted = _count(session, wallbox, at)
    added = counted.added
    pv, battery, grid = _split(added, wallbox.power, meter)
    phases = session.phases | {wallbox.phases_out} if wallbox.phases_out else session.phases
    return replace(
        session,
        updated_at=max(at, session.updated_at),
        energy_wh=session.energy_wh + added,
        pv_wh=session.pv_wh + pv,
        battery_wh=session.battery_wh + battery,
        grid_wh=session.grid_wh + grid,
        peak_power_w=max(session.peak_power_w, wallbox.power),
        phases=phases,
        soc_start=session.soc_start if session.soc_start is not None else _soc(car, None),
        soc_end=_soc(car, session.soc_end),
        last_charged_energy=counted.charged,
        last_total_energy=counted.total,
        jump=counted.jump,
    )


def rise_problem(session: Session | None, wallbox: WallboxData, at: float) -> str | None:
    """Why this reading's rise of `charged_energy` is not taken as energy, or None (for a log line)."""
    if session is None or not session.open or not plugged(wallbox) or counter_problem(wallbox):
        return None
    return _count(session, wallbox, at).why


def _soc(car: CarData | None, default: float | None) -> float | None:
    if car is None or car.error or not car.soc_known:
        return default
    return car.soc


def _count(session: Session, wallbox: WallboxData, at: float) -> Counted:
    return count(
        session.last_charged_energy, session.last_total_energy, session.updated_at, session.jump, wallbox, at
    )


def _split(energy: float, car_power: float, meter: MeterData | None) -> tuple[float, float, float]:
    if meter is None:
        return split_by_flows(energy, car_power, None, 0.0)
    return split_by_flows(energy, car_power, meter.power_grid, meter.power_battery)
