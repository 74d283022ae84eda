"""Properties of priority AUTO with a forecast, over whole simulated days (hypothesis).

A small plant in the test drives the pure tracking law: PV from a bell curve under hourly cloud factors,
a house load, a home battery that takes what the house and the car leave (as a hybrid inverter does),
the car drawing what the wallbox allowed one reading ago. The forecast is the day's PV itself (perfect).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from hypothesis import given, settings
from hypothesis import strategies as st

from pvcontrol.models import (
    CarStatus,
    ChargeMode,
    ForecastData,
    ForecastPeriod,
    MeterData,
    Priority,
    WallboxData,
)
from services.controller.law import LawInputs, LawState
from services.controller.settings import ControllerSettings
from services.controller.tracking import control_cycle, initial_state

MIDNIGHT = 1_781_042_400.0  # frozen; the law only uses differences (and the clock time in its reason)
STEP = 60.0
STEPS = int(86_400 / STEP)
SUNRISE_H, SUNSET_H = 6.0, 20.0


@dataclass(frozen=True)
class Day:
    pv: list[float]
    house: list[float]
    capacity_wh: float
    max_power: float
    start_soc: float
    phases: int


@st.composite
def days(draw: st.DrawFn) -> Day:
    peak = draw(st.floats(min_value=2000, max_value=9000))
    clouds = [draw(st.floats(min_value=0.2, max_value=1.0)) for _ in range(24)]
    base_load = draw(st.floats(min_value=150, max_value=600))
    pv, house = [], []
    for k in range(STEPS):
        hour = k * STEP / 3600
        sun = (
            math.sin(math.pi * (hour - SUNRISE_H) / (SUNSET_H - SUNRISE_H))
            if SUNRISE_H < hour < SUNSET_H
            else 0
        )
        pv.append(peak * max(sun, 0.0) * clouds[int(hour)])
        house.append(base_load + (1500.0 if 12 <= hour < 12.5 else 0.0))
    return Day(
        pv=pv,
        house=house,
        capacity_wh=draw(st.floats(min_value=4000, max_value=15_000)),
        max_power=draw(st.floats(min_value=2000, max_value=4000)),
        start_soc=draw(st.floats(min_value=5, max_value=60)),
        phases=draw(st.sampled_from([1, 3])),
    )


def forecasts(day: Day, age: float) -> dict[int, ForecastData]:
    """The forecast published at the start of each quarter hour, `age` s old."""
    return {first: forecast_at(day, first, age) for first in range(0, STEPS, int(900 / STEP))}


def forecast_at(day: Day, first: int, age: float) -> ForecastData:
    per = int(900 / STEP)
    periods = [
        ForecastPeriod(
            start=MIDNIGHT + i * STEP,
            end=MIDNIGHT + (i + per) * STEP,
            power_pv=sum(day.pv[i : i + per]) / per,
        )
        for i in range(first, STEPS, per)
    ]
    return ForecastData(
        ts=MIDNIGHT + first * STEP - age,
        periods=periods,
        sunrise=MIDNIGHT + SUNRISE_H * 3600,
        sunset=MIDNIGHT + SUNSET_H * 3600,
    )


@dataclass(frozen=True)
class Outcome:
    battery_end_wh: float
    car_wh: float
    import_wh: float


def run_day(
    day: Day, law_settings: ControllerSettings, priority: Priority, published: dict[int, ForecastData] | None
) -> Outcome:
    per = int(900 / STEP)
    state: LawState = replace(
        initial_state(law_settings), desired_mode=ChargeMode.PV_ONLY, desired_priority=priority
    )
    stored = day.capacity_wh * day.start_soc / 100
    allow, current, car, charged, imported = False, 6, 0.0, 0.0, 0.0
    hours = STEP / 3600
    for k in range(STEPS):
        now = MIDNIGHT + k * STEP
        balance = day.pv[k] - day.house[k] - car
        if balance > 0:
            battery = -min(balance, day.max_power, (day.capacity_wh - stored) / hours)
        else:
            battery = min(-balance, day.max_power, stored / hours)
        grid = -balance - battery
        meter = MeterData(
            ts=now,
            power_pv=day.pv[k],
            power_consumption=day.house[k] + car,
            power_grid=grid,
            power_battery=battery,
            soc_battery=100 * stored / day.capacity_wh,
        )
        wallbox = WallboxData(
            ts=now,
            allow_charging=allow,
            max_current=current,
            phases_in=day.phases,
            phases_out=day.phases if car > 0 else 0,
            power=car,
            car_status=CarStatus.Charging if car > 0 else CarStatus.WaitingForVehicle,
            charged_energy=charged,
        )
        forecast = published[k // per * per] if published is not None else None
        result = control_cycle(state, law_settings, LawInputs(meter, wallbox, False, now, forecast))
        state = result.state
        stored -= battery * hours
        charged += car * hours
        imported += max(grid, 0.0) * hours
        if result.commands.allow_charging is not None:
            allow = result.commands.allow_charging
        if result.commands.max_current is not None:
            current = result.commands.max_current
        car = allow * current * day.phases * law_settings.line_voltage
    return Outcome(stored, charged, imported)


LAW = ControllerSettings(strategy="tracking")


@settings(max_examples=12, deadline=None)
@given(days(), st.booleans())
def test_with_a_correct_forecast_the_battery_ends_at_least_as_full_as_with_home_battery_first(
    day: Day, capacity_known: bool
) -> None:
    law = LAW.model_copy(update={"home_battery_capacity": day.capacity_wh if capacity_known else 0.0})
    forecast = run_day(day, law, Priority.AUTO, forecasts(day, age=0))
    home_battery_first = run_day(day, law, Priority.HOME_BATTERY, None)
    assert forecast.battery_end_wh >= home_battery_first.battery_end_wh - 0.01 * day.capacity_wh
    assert forecast.import_wh <= home_battery_first.import_wh + 0.01 * day.capacity_wh


@settings(max_examples=4, deadline=None)
@given(days())
def test_without_a_usable_forecast_priority_auto_is_as_today(day: Day) -> None:
    """A forecast that cannot be used (3 h old) changes nothing: the law runs as without one."""
    law = LAW.model_copy(update={"home_battery_capacity": day.capacity_wh})
    without = run_day(day, law, Priority.AUTO, None)
    assert run_day(day, law, Priority.AUTO, forecasts(day, age=3 * 3600)) == without
