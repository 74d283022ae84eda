"""The car's goals — minimum SOC, charge limit, "X % by 07:00" — as a pure layer over any strategy.

Each cycle `decide` says whether the goals take over from the charge mode: charge at full power (below
the minimum SOC, or when a departure plan must buy from the grid to finish on time), stop (the limit
is reached), or leave the chosen mode alone. A plan runs the chosen PV mode until the latest moment at
which full power still finishes on time: the sun charges first, the grid only the shortfall. With known
prices (a `price_plan.Market`) it buys that shortfall in the cheapest periods before the deadline instead,
and a price limit charges in PV modes whenever the grid price is at or below it.

Without a fresh car SOC the goals estimate it from the session's charged energy, starting from an
assumed SOC at plug-in, and say so (`soc_source`).
"""

from __future__ import annotations

import enum
import functools
import logging
import os
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pvcontrol import goal_commands
from pvcontrol.models import WEEKDAYS, CarData, ChargeMode, PlanSetting, PlanSlot
from services.controller.price_plan import Market, Purchase, plan_purchase

PV_MODES = frozenset({ChargeMode.PV_ONLY, ChargeMode.PV_ALL})
PLAN_MARGIN = 0.1  # plan 10 % more time than full power needs: the car may slow down near the end
SYSTEM_ZONE_FILE = "/etc/localtime"
log = logging.getLogger("pvcontrol.controller")


def local_zone() -> tzinfo:
    """The zone plan times are in: `TZ` (an IANA name, e.g. Europe/Berlin), else the system's
    /etc/localtime, else UTC (as the C library does). A real zone, not today's UTC offset, so a plan
    across a DST change keeps its wall-clock time."""
    return _zone(os.environ.get("TZ"))


@functools.cache
def _zone(name: str | None) -> tzinfo:
    if name:
        try:
            return ZoneInfo(name.removeprefix(":"))
        except (ZoneInfoNotFoundError, ValueError):
            offset = datetime.now().astimezone().tzinfo or UTC
            log.warning(
                "TZ=%r is not a zone name such as Europe/Berlin: plans use the fixed offset %s", name, offset
            )
            return offset
    try:
        with open(SYSTEM_ZONE_FILE, "rb") as file:
            return ZoneInfo.from_file(file, key="localtime")
    except (OSError, ValueError):
        return UTC


def local_datetime(ts: float) -> datetime:
    """Unix seconds as a datetime in the local zone (`local_zone`)."""
    return datetime.fromtimestamp(ts, local_zone())


def wall_clock_instant(day: date, at: time, zone: tzinfo) -> datetime:
    """The first instant (UTC) at which the clock in `zone` shows `at` on `day`: the earlier one when
    the clock goes back and shows it twice; when the clock skips it (spring forward), the jump."""
    wall = datetime.combine(day, at)
    first = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)  # fold=0: the earlier of two readings
    if first.astimezone(zone).replace(tzinfo=None) == wall:
        return first
    # Skipped: fold=1 reads the wall time with the offset after the jump, which lands before it.
    before, after = wall.replace(tzinfo=zone, fold=1).astimezone(UTC), first
    jumped = after.astimezone(zone).utcoffset()
    while after - before > timedelta(seconds=1):
        middle = before + (after - before) / 2
        if middle.astimezone(zone).utcoffset() == jumped:
            after = middle
        else:
            before = middle
    return after.replace(microsecond=0)  # zones change on whole seconds


@dataclass(frozen=True)
class Plan:
    soc: int  # %
    time: time  # local time of day
    days: tuple[str, ...] = ()  # weekdays it repeats on; empty: once, at the next occurrence

    def next_deadline(self, now: datetime) -> datetime:
        """The next occurrence (UTC) of `time` (on one of `days`, if given) after `now`, in `now`'s zone
        (timezone-aware, a real zone: the deadline's offset is that of its own day)."""
        zone = now.tzinfo or UTC
        for offset in range(8):
            day = now.date() + timedelta(days=offset)
            deadline = wall_clock_instant(day, self.time, zone)
            if deadline > now and (not self.days or WEEKDAYS[day.weekday()] in self.days):
                return deadline
        raise ValueError("a plan needs at least one weekday")  # unreachable: days are validated


@dataclass(frozen=True)
class Goals:
    min_soc: int | None = None
    limit_soc: int | None = None
    plan: Plan | None = None
    price_limit: float | None = None  # per kWh: PV modes charge from the grid at or below it


@dataclass(frozen=True)
class CarModel:
    """What the controller assumes about the car (settings)."""

    battery_wh: float
    efficiency: float  # share of the charged energy that ends up in the battery
    full_power_w: float  # what the wallbox delivers at full power (Imax, 3 phases)
    soc_stale_after: float  # s
    assumed_soc_at_plug_in: float  # % when the car says nothing


class Action(enum.Enum):
    NONE = "none"  # the chosen mode decides
    FULL_POWER = "full_power"  # charge at Imax whatever the mode, grid allowed
    STOP = "stop"  # the limit is reached


@dataclass(frozen=True)
class SocInfo:
    soc: float
    source: str  # "car", "car (estimated)" or "session energy"


@dataclass(frozen=True)
class PlanProjection:
    deadline: datetime
    energy_needed_wh: float
    grid_start: datetime  # the latest start of full-power charging that finishes on time
    projected_finish: datetime | None  # when full power from now would finish (None: done)
    achievable: bool
    # Where it charges from the grid: without prices the one stretch of full power from the latest start
    # (from now once it charges), unpriced; with prices the cheapest periods (`purchase`).
    slots: tuple[PlanSlot, ...] = ()
    purchase: Purchase | None = None


@dataclass(frozen=True)
class Decision:
    action: Action
    reason: str | None
    soc: SocInfo
    plan: PlanProjection | None = None
    # Once a plan has started full-power charging it keeps on until the target: re-planning every
    # cycle would move the start later by the margin each time and never finish early.
    plan_charging: bool = False
    by_price: bool = False  # FULL_POWER because of a price (a plan's slot, the price limit)


def current_soc(car: CarData | None, session_wh: float, now: float, model: CarModel) -> SocInfo:
    if car is not None and car.error == 0 and car.soc_known and now - car.ts <= model.soc_stale_after:
        return SocInfo(car.soc, "car (estimated)" if car.soc_estimated else "car")
    added = session_wh * model.efficiency / model.battery_wh * 100
    return SocInfo(min(100.0, model.assumed_soc_at_plug_in + added), "session energy")


def project(plan: Plan, soc: float, now: datetime, model: CarModel) -> PlanProjection:
    """The plan from `now` (in the local zone); every instant in UTC, where adding hours is exact (in
    a zone, Python adds wall-clock hours and compares wall times, wrong across a DST change)."""
    deadline = plan.next_deadline(now)
    now = now.astimezone(UTC)
    needed = max(0.0, plan.soc - soc) / 100 * model.battery_wh / model.efficiency
    full_power = timedelta(seconds=needed / model.full_power_w * 3600)
    grid_start = deadline - full_power * (1 + PLAN_MARGIN)
    finish = max(now, grid_start) + full_power if needed > 0 else None
    slots: tuple[PlanSlot, ...] = ()
    if finish is not None:
        slots = (PlanSlot(start=(finish - full_power).timestamp(), end=finish.timestamp()),)
    return PlanProjection(
        deadline=deadline,
        energy_needed_wh=round(needed, 1),
        grid_start=grid_start,
        projected_finish=finish,
        achievable=finish is None or finish <= deadline,
        slots=slots,
    )


def decide(
    goals: Goals,
    mode: ChargeMode,
    plugged_in: bool,
    soc: SocInfo,
    now: datetime,
    model: CarModel,
    plan_charging: bool = False,
    market: Market | None = None,
) -> Decision:
    """What the goals want this cycle; `mode` is the effective charge mode. MANUAL is never touched;
    OFF means off: only the limit applies there (a stop is always safe). `market`: known prices."""
    projection = project(goals.plan, soc.soc, now, model) if goals.plan is not None else None
    if projection is not None and market is not None and projection.energy_needed_wh > 0:
        projection = priced(projection, market, now, model, plan_charging)
    if not plugged_in or mode == ChargeMode.MANUAL:
        return Decision(Action.NONE, None, soc, projection)
    if goals.limit_soc is not None and soc.soc >= goals.limit_soc:
        return Decision(Action.STOP, f"limit {goals.limit_soc} % reached ({soc.soc:.0f} %)", soc, projection)
    if mode == ChargeMode.OFF:
        return Decision(Action.NONE, None, soc, projection)
    if goals.min_soc is not None and soc.soc < goals.min_soc:
        reason = f"below the minimum of {goals.min_soc} % ({soc.soc:.0f} %): charging at full power"
        return Decision(Action.FULL_POWER, reason, soc, projection)
    planned = _plan_decision(goals, soc, now, projection, plan_charging)
    if planned is not None and planned.action == Action.FULL_POWER:
        return planned
    price = market.price_at(now.timestamp()) if market is not None else None
    limit = goals.price_limit
    if limit is not None and mode in PV_MODES and price is not None and price <= limit:
        reason = f"grid price {price:.4g} at or below the limit of {limit:.4g}: charging at full power"
        return Decision(Action.FULL_POWER, reason, soc, projection, by_price=True)
    return planned or Decision(Action.NONE, None, soc, projection)


def _plan_decision(
    goals: Goals, soc: SocInfo, now: datetime, projection: PlanProjection | None, plan_charging: bool
) -> Decision | None:
    if projection is None or goals.plan is None or projection.energy_needed_wh <= 0:
        return None
    zone = now.tzinfo
    target = f"{goals.plan.soc} % by {projection.deadline.astimezone(zone):%H:%M}"
    late = "" if projection.achievable else " (cannot be met any more)"
    purchase = projection.purchase
    if purchase is not None:
        return _priced_decision(target, late, soc, projection, purchase, now)
    if plan_charging or now >= projection.grid_start:
        reason = f"plan {target}: charging at full power{late}"
        if projection.slots and projection.slots[0].start > now.timestamp():  # latched before the start
            slot, at = projection.slots[0], now.timestamp()
            projection = replace(projection, slots=(PlanSlot(start=at, end=at + slot.end - slot.start),))
        return Decision(Action.FULL_POWER, reason, soc, projection, plan_charging=True)
    start = projection.grid_start.astimezone(zone)
    reason = f"plan {target}: sun first, full power from {start:%H:%M} if needed"
    return Decision(Action.NONE, reason, soc, projection)


def priced(
    projection: PlanProjection, market: Market, now: datetime, model: CarModel, charging: bool
) -> PlanProjection:
    """The projection with its grid energy bought in the cheapest periods (price_plan.py): the grid
    start is the first slot's, the finish when the slots have bought it."""
    deadline = projection.deadline.timestamp()
    purchase = plan_purchase(
        market, now.timestamp(), deadline, projection.energy_needed_wh, model.full_power_w, charging
    )
    if not purchase.slots:  # nothing to buy: the sun is to do it; if it does not, the latest start's
        return replace(projection, achievable=purchase.achievable, purchase=purchase, slots=())
    return replace(
        projection,
        grid_start=datetime.fromtimestamp(purchase.slots[0].start, UTC),
        projected_finish=datetime.fromtimestamp(purchase.finish, UTC) if purchase.finish else None,
        achievable=purchase.achievable,
        slots=purchase.slots,
        purchase=purchase,
    )


def _priced_decision(
    target: str, late: str, soc: SocInfo, projection: PlanProjection, purchase: Purchase, now: datetime
) -> Decision:
    if purchase.charge_now:
        at = now.timestamp()
        price = next((s.grid_price for s in purchase.slots if s.start <= at < s.end), None)
        at_price = f" at {price:.4g} per kWh" if price is not None else ""
        reason = f"plan {target}: charging from the grid{at_price}, one of the cheapest periods{late}"
        return Decision(Action.FULL_POWER, reason, soc, projection, plan_charging=True, by_price=True)
    if not purchase.slots:
        return Decision(Action.NONE, f"plan {target}: the forecast sun is enough", soc, projection)
    start = projection.grid_start.astimezone(now.tzinfo)
    reason = f"plan {target}: sun first, grid in {len(purchase.slots)} cheapest periods from {start:%H:%M}"
    return Decision(Action.NONE, reason, soc, projection)


# --- commands: P/controller/plan/set (read and checked by pvcontrol.goal_commands) ---------------------


def parse_plan(payload: bytes) -> Plan | None:
    """A plan command (`pvcontrol.goal_commands.parse_plan`) as the goals' Plan; None clears it."""
    setting = goal_commands.parse_plan(payload)
    return None if setting is None else plan_from_setting(setting)


def plan_from_setting(setting: PlanSetting) -> Plan:
    hour, minute = setting.time.split(":")
    return Plan(soc=setting.soc, time=time(int(hour), int(minute)), days=tuple(setting.days))


def plan_document(plan: Plan) -> dict[str, object]:
    return {"soc": plan.soc, "time": f"{plan.time:%H:%M}", "days": list(plan.days)}
