"""Priority AUTO with a forecast (docs/CONTROL.md "Forecast-aware priority AUTO"): the car takes the home
battery's charging power only as far as the battery still fills by a target time. Pure.

What the law learns on the way, from the meter alone (`BatteryMemory`, part of the tracking state): the
house's consumption without the car (averaged over HOUSE_AVERAGE_TIME) and the measured PV against the
forecast (over AVERAGE_TIME), the battery's capacity (its SOC change against the integrated battery
power, when `home_battery_capacity` is 0) and its highest charging power seen (when
`home_battery_max_power` is 0).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from pvcontrol.models import ForecastData, ForecastPeriod, HomeBatteryState, MeterData, WallboxData
from pvcontrol.plausibility import MAX_FUTURE_SKEW
from services.controller.settings import ControllerSettings

FORECAST_MAX_AGE = 7200.0  # s: an older forecast counts as none
AVERAGE_TIME = 1800.0  # s: time constant of the average of measured / forecast PV
HOUSE_AVERAGE_TIME = 7200.0  # s: of the house's consumption (an appliance's hour is not the afternoon's)
MAX_STEP = 60.0  # s: a longer gap between two cycles counts as this long
LEARN_SOC_SPAN = 10.0  # SOC points the battery must move before its capacity is measured
MIN_CAPACITY_WH, MAX_CAPACITY_WH = 500.0, 200_000.0  # a measurement outside is discarded
FULL_ENOUGH_WH = 100.0  # a battery that needs less than this is full: nothing reserved
MIN_FORECAST_W = 200.0  # the PV / forecast ratio is measured only while the forecast says more
# While the forecast leaves less than this many hours of the battery's charging power to spare, the car
# yields part of that power to the battery (all of it once nothing is to spare): a ramp, not a switch.
RESERVE_RAMP_HOURS = 1.0
PLAN_BUFFER = 0.1  # of the capacity: kept as spare beyond the need (forecast errors from hour to hour)
MIN_HOURS_LEFT = 0.5  # past or near the target: the battery's need is spread over at least this


@dataclass(frozen=True)
class BatteryMemory:
    house_w: float | None = None  # average consumption without the car
    pv_ratio: float | None = None  # average measured PV / forecast PV (None: no forecast seen)
    learned_capacity_wh: float = 0.0
    learn_soc: float | None = None  # SOC where the current capacity measurement began
    learn_wh: float = 0.0  # energy into the battery since then
    max_charge_w: float = 0.0  # highest charging power seen


@dataclass(frozen=True)
class BatteryPlan:
    needed_wh: float  # to be full
    target: float  # by when (epoch s)
    spare_wh: float  # what the forecast surplus until then leaves beyond that (< 0: too little)
    reserve_w: float  # the battery's charging power the car leaves to it now (0: the car may take all)
    full_at: float | None = (
        None  # when the forecast fills it if the car leaves it its power (None: not today)
    )


def usable_forecast(forecast: ForecastData | None, now: float) -> ForecastData | None:
    """The forecast if it may be planned with: fresh, with a sunset and a period covering now."""
    if forecast is None or forecast.sunset is None:
        return None
    if now - forecast.ts > FORECAST_MAX_AGE or forecast.ts - now > MAX_FUTURE_SKEW:
        return None
    if _power_now(forecast, now) is None:
        return None
    return forecast


def _power_now(forecast: ForecastData, now: float) -> float | None:
    for period in forecast.periods:
        if period.start <= now < period.end:
            return period.power_pv
    return None


def learn(
    memory: BatteryMemory,
    meter: MeterData,
    wallbox: WallboxData,
    forecast: ForecastData | None,
    now: float,
    elapsed: float | None,
) -> BatteryMemory:
    """The memory after one more reading; `elapsed` s since the previous one (None: the first)."""
    house = max(meter.power_consumption - wallbox.power, 0.0)
    charging = max(-meter.power_battery, 0.0)
    memory = replace(memory, max_charge_w=max(memory.max_charge_w, charging))
    if elapsed is None:
        return replace(memory, house_w=house, learn_soc=meter.soc_battery, learn_wh=0.0)
    dt = min(max(elapsed, 0.0), MAX_STEP)
    weight = dt / AVERAGE_TIME
    memory = replace(memory, house_w=_average(memory.house_w, house, dt / HOUSE_AVERAGE_TIME))
    forecast_now = _power_now(forecast, now) if forecast is not None else None
    if forecast_now is None:
        memory = replace(memory, pv_ratio=None)
    elif forecast_now >= MIN_FORECAST_W:
        ratio = min(meter.power_pv / forecast_now, 2.0)
        memory = replace(memory, pv_ratio=_average(memory.pv_ratio, ratio, weight))
    return _learn_capacity(memory, meter, -meter.power_battery * dt / 3600)


def _average(previous: float | None, value: float, weight: float) -> float:
    return value if previous is None else previous + min(weight, 1.0) * (value - previous)


def _learn_capacity(memory: BatteryMemory, meter: MeterData, stored_wh: float) -> BatteryMemory:
    if memory.learn_soc is None:
        return replace(memory, learn_soc=meter.soc_battery, learn_wh=0.0)
    stored = memory.learn_wh + stored_wh
    moved = meter.soc_battery - memory.learn_soc
    if abs(moved) < LEARN_SOC_SPAN:
        return replace(memory, learn_wh=stored)
    restart = replace(memory, learn_soc=meter.soc_battery, learn_wh=0.0)
    measured = stored / (moved / 100)
    if not MIN_CAPACITY_WH <= measured <= MAX_CAPACITY_WH:
        return restart  # opposite signs or an implausible size: not a measurement
    previous = memory.learned_capacity_wh
    learned = measured if previous <= 0 else 0.7 * previous + 0.3 * measured
    return replace(restart, learned_capacity_wh=learned)


def plan_battery(
    memory: BatteryMemory,
    meter: MeterData,
    forecast: ForecastData | None,
    now: float,
    settings: ControllerSettings,
) -> BatteryPlan | None:
    """The battery's plan until its target time, or None when the law cannot plan (no usable forecast,
    the capacity not known yet): then priority AUTO works as without a forecast."""
    forecast = usable_forecast(forecast, now)
    capacity = settings.home_battery_capacity or memory.learned_capacity_wh
    if forecast is None or forecast.sunset is None or capacity <= 0 or memory.house_w is None:
        return None
    target = forecast.sunset - settings.home_battery_full_before_sunset
    needed = max(100.0 - meter.soc_battery, 0.0) / 100 * capacity
    max_charge = settings.home_battery_max_power or memory.max_charge_w
    factor = settings.forecast_margin * min(memory.pv_ratio or 1.0, 1.0)
    absorbable = 0.0
    for period in forecast.periods:
        hours = (min(period.end, target) - max(period.start, now)) / 3600
        if hours > 0:
            # What the battery can take of the forecast surplus; below the house's need it gives.
            absorbable += min(factor * period.power_pv - memory.house_w, max_charge) * hours
    spare = absorbable - needed - PLAN_BUFFER * capacity
    reserve = _reserve(needed, spare, max_charge, target, now)
    full_at = battery_full_at(
        forecast.periods, now, forecast.sunset, needed, factor, memory.house_w, max_charge
    )
    return BatteryPlan(needed, target, spare, reserve, full_at)


def battery_full_at(
    periods: list[ForecastPeriod],
    now: float,
    until: float,
    needed_wh: float,
    factor: float,
    house_w: float,
    max_charge_w: float,
) -> float | None:
    """When the battery is full if it gets all of the forecast surplus it can take (the forecast power
    times `factor`, less the house's `house_w`, at most `max_charge_w`; below the house's need it gives),
    or None if not before `until` (sunset). The same energy balance as the plan, walked in time."""
    if needed_wh < FULL_ENOUGH_WH:
        return now
    stored = 0.0
    for period in sorted(periods, key=lambda p: p.start):
        start, end = max(period.start, now), min(period.end, until)
        if end <= start:
            continue
        rate = min(factor * period.power_pv - house_w, max_charge_w)
        gained = rate * (end - start) / 3600
        if rate > 0 and stored + gained >= needed_wh:
            return start + (needed_wh - stored) / rate * 3600
        stored += gained
    return None


def home_battery_state(plan: BatteryPlan) -> HomeBatteryState:
    """What `P/controller/state` says of the plan (docs/CONTRACT.md `home_battery`)."""
    return HomeBatteryState(needed_wh=round(plan.needed_wh, 1), full_by=plan.target, full_at=plan.full_at)


def _reserve(needed: float, spare: float, max_charge: float, target: float, now: float) -> float:
    if needed < FULL_ENOUGH_WH:
        return 0.0
    if spare <= 0:
        hours_left = max((target - now) / 3600, MIN_HOURS_LEFT)
        return max(max_charge, needed / hours_left)
    ramp_wh = max_charge * RESERVE_RAMP_HOURS
    if ramp_wh <= 0 or spare >= ramp_wh:
        return 0.0
    return max_charge * (1 - spare / ramp_wh)


def reserved_for_battery(plan: BatteryPlan, meter: MeterData) -> float:
    """The reserve in force: while energy goes to the grid the battery already takes all it can."""
    if meter.power_grid < 0:
        return min(plan.reserve_w, max(-meter.power_battery, 0.0))
    return plan.reserve_w


def plan_reason(plan: BatteryPlan) -> str | None:
    if plan.needed_wh < FULL_ENOUGH_WH:
        return None
    by = datetime.fromtimestamp(plan.target).strftime("%H:%M")
    needs = f"the home battery needs {plan.needed_wh / 1000:.1f} kWh by {by}"
    if plan.reserve_w <= 0:
        spare = f"{plan.spare_wh / 1000:.1f} kWh"
        return f"{needs}, the forecast leaves {spare} to spare; the car may take its charge"
    return f"{needs}; the car gets what is left"
