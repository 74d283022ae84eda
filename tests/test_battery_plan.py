"""Table tests of priority AUTO with a forecast (docs/CONTROL.md "Forecast-aware priority AUTO"):
the pure plan in battery_plan.py, and the tracking strategy using it. Frozen times, no clock."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest

from pvcontrol.models import (
    CarStatus,
    ChargeMode,
    ForecastData,
    ForecastPeriod,
    MeterData,
    Priority,
    WallboxData,
)
from pvcontrol_app.settings import Settings
from services.controller import law, tracking
from services.controller.battery_plan import (
    BatteryMemory,
    BatteryPlan,
    battery_full_at,
    learn,
    plan_battery,
    plan_reason,
)
from services.controller.law import LawInputs
from services.controller.settings import ControllerSettings
from services.controller.strategies import STRATEGIES
from services.controller.tracking import TrackingState, control_cycle, initial_state

NOW = 1_781_000_000.0  # frozen
HOUR = 3600.0
SUNSET = NOW + 7 * HOUR  # target: sunset - 1 h = NOW + 6 h
# The arithmetic below plans with 80 % of the forecast (the default is 90 %).
SETTINGS = ControllerSettings(
    strategy="tracking", home_battery_capacity=10_000, home_battery_max_power=3000, forecast_margin=0.8
)
MEMORY = BatteryMemory(house_w=500.0, max_charge_w=3000.0)


def forecast(power_pv: float, ts: float = NOW, hours: float = 10, start: float = NOW) -> ForecastData:
    periods = [
        ForecastPeriod(start=start + i * 900, end=start + (i + 1) * 900, power_pv=power_pv)
        for i in range(int(hours * 4))
    ]
    return ForecastData(ts=ts, periods=periods, sunrise=NOW - 6 * HOUR, sunset=SUNSET)


def meter(soc: float = 50.0, battery: float = -2000.0, grid: float = 0.0, pv: float = 5000.0) -> MeterData:
    return MeterData(
        ts=NOW, power_pv=pv, power_grid=grid, power_battery=battery, soc_battery=soc, power_consumption=500
    )


def at(hhmm_of: float) -> str:
    return datetime.fromtimestamp(hhmm_of).strftime("%H:%M")


# --- the plan --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fc", "settings", "memory"),
    [
        pytest.param(None, SETTINGS, MEMORY, id="no-forecast"),
        pytest.param(forecast(5000, ts=NOW - 2 * HOUR - 1), SETTINGS, MEMORY, id="older-than-2h"),
        pytest.param(forecast(5000, ts=NOW + 60), SETTINGS, MEMORY, id="from-the-future"),
        pytest.param(forecast(5000, start=NOW + 900), SETTINGS, MEMORY, id="no-period-covers-now"),
        pytest.param(forecast(5000).model_copy(update={"sunset": None}), SETTINGS, MEMORY, id="no-sunset"),
        pytest.param(
            forecast(5000),
            SETTINGS.model_copy(update={"home_battery_capacity": 0}),
            MEMORY,
            id="capacity-unknown",
        ),
        pytest.param(forecast(5000), SETTINGS, BatteryMemory(), id="no-consumption-seen-yet"),
    ],
)
def test_no_plan_without_a_usable_forecast_and_capacity(
    fc: ForecastData | None, settings: ControllerSettings, memory: BatteryMemory
) -> None:
    assert plan_battery(memory, meter(), fc, NOW, settings) is None


@pytest.mark.parametrize(
    ("power_pv", "soc", "now", "memory", "needed", "spare", "reserve"),
    [
        # 0.8 x 6000 - 500 = 4300 W, capped at 3000 W for 6 h = 18 kWh; 5 kWh needed, 1 kWh kept (10 %)
        pytest.param(6000, 50, NOW, MEMORY, 5000, 12_000, 0, id="plenty-car-takes-all"),
        # 0.8 x 1500 - 500 = 700 W x 6 h = 4.2 kWh < 5 kWh: the battery gets all it can take
        pytest.param(1500, 50, NOW, MEMORY, 5000, -1800, 3000, id="too-little-battery-first"),
        # 0.8 x 1500 - 500 = 700 W x 6 h = 4.2 kWh, 2.7 + 1 kWh kept: 0.5 of 3 kWh (1 h at 3 kW) to spare
        pytest.param(1500, 73, NOW, MEMORY, 2700, 500, 2500, id="ramp-five_sixths-reserved"),
        pytest.param(6000, 100, NOW, MEMORY, 0, 17_000, 0, id="full"),
        # measured PV at half the forecast: 0.8 x 0.5 x 6000 - 500 = 1900 W x 6 h = 11.4 kWh
        pytest.param(6000, 50, NOW, replace(MEMORY, pv_ratio=0.5), 5000, 5400, 0, id="nowcast-halves"),
        # past the target: 3 kWh in at least half an hour
        pytest.param(6000, 70, SUNSET - 0.5 * HOUR, MEMORY, 3000, -4000, 6000, id="after-the-target"),
    ],
)
def test_the_plan(
    power_pv: float,
    soc: float,
    now: float,
    memory: BatteryMemory,
    needed: float,
    spare: float,
    reserve: float,
) -> None:
    plan = plan_battery(memory, meter(soc=soc), forecast(power_pv, ts=now, start=now), now, SETTINGS)
    assert plan is not None
    assert plan.target == SUNSET - HOUR
    assert plan.needed_wh == pytest.approx(needed)
    assert plan.spare_wh == pytest.approx(spare)
    assert plan.reserve_w == pytest.approx(reserve)


def test_the_target_time_is_a_setting() -> None:
    settings = SETTINGS.model_copy(update={"home_battery_full_before_sunset": 2 * HOUR})
    plan = plan_battery(MEMORY, meter(), forecast(6000), NOW, settings)
    assert plan is not None
    assert plan.target == SUNSET - 2 * HOUR
    assert plan.spare_wh == pytest.approx(3000 * 5 - 5000 - 1000)


def test_the_margin_is_a_setting() -> None:
    settings = SETTINGS.model_copy(update={"forecast_margin": 0.5})
    plan = plan_battery(MEMORY, meter(), forecast(3000), NOW, settings)
    assert plan is not None
    assert plan.spare_wh == pytest.approx((0.5 * 3000 - 500) * 6 - 5000 - 1000)


def test_reasons() -> None:
    target = SUNSET - HOUR
    short = BatteryPlan(needed_wh=3200, target=target, spare_wh=-500, reserve_w=3000)
    assert plan_reason(short) == f"the home battery needs 3.2 kWh by {at(target)}; the car gets what is left"
    plenty = BatteryPlan(needed_wh=3200, target=target, spare_wh=9000, reserve_w=0)
    assert plan_reason(plenty) == (
        f"the home battery needs 3.2 kWh by {at(target)}, the forecast leaves 9.0 kWh to spare; "
        "the car may take its charge"
    )
    assert plan_reason(replace(plenty, needed_wh=50)) is None


@pytest.mark.parametrize(
    ("power_pv", "needed", "now", "full_at"),
    [
        # 0.8 x 6000 - 500 = 4300 W, capped at 3000 W: 5 kWh in 1 h 40 min
        pytest.param(6000, 5000, NOW, NOW + 5000 / 3000 * HOUR, id="capped-at-the-charging-power"),
        # 0.8 x 1500 - 500 = 700 W: 2.8 kWh in 4 h
        pytest.param(1500, 2800, NOW, NOW + 4 * HOUR, id="surplus-below-the-charging-power"),
        # 700 W x 7 h until sunset = 4.9 kWh < 5 kWh: not today
        pytest.param(1500, 5000, NOW, None, id="not-before-sunset"),
        # 0.8 x 500 - 500 < 0: the battery gives, never fills
        pytest.param(500, 1000, NOW, None, id="surplus-below-the-house"),
        pytest.param(6000, 50, NOW, NOW, id="full-enough-now"),
        # from half past into the plan: the periods before now do not count
        pytest.param(1500, 700, NOW + 1.5 * HOUR, NOW + 2.5 * HOUR, id="starts-now-not-at-the-first-period"),
    ],
)
def test_when_the_battery_is_full(power_pv: float, needed: float, now: float, full_at: float | None) -> None:
    periods = forecast(power_pv, hours=12).periods
    result = battery_full_at(periods, now, SUNSET, needed, 0.8, 500.0, 3000.0)
    assert result == (None if full_at is None else pytest.approx(full_at))


def test_a_dip_in_the_forecast_delays_the_full_time() -> None:
    """Sunny hour, dull hour (the battery gives 100 W to the house), sunny again: 4 kWh at 3 kW."""
    powers = [6000, 500, 6000, 6000]
    periods = [
        ForecastPeriod(start=NOW + i * HOUR, end=NOW + (i + 1) * HOUR, power_pv=p)
        for i, p in enumerate(powers)
    ]
    # 3000 Wh, then -100 Wh, then 1100 Wh more at 3000 W: 22 min into the third hour
    expected = NOW + 2 * HOUR + 1100 / 3000 * HOUR
    assert battery_full_at(periods, NOW, SUNSET, 4000, 0.8, 500.0, 3000.0) == pytest.approx(expected)


def test_the_plan_says_when_the_battery_is_full() -> None:
    plan = plan_battery(MEMORY, meter(soc=50), forecast(6000), NOW, SETTINGS)
    assert plan is not None
    assert plan.full_at == pytest.approx(NOW + 5000 / 3000 * HOUR)
    dull = plan_battery(MEMORY, meter(soc=50), forecast(1500), NOW, SETTINGS)
    assert dull is not None
    assert dull.full_at is None  # 700 W x 7 h = 4.9 kWh < 5 kWh


# --- learning --------------------------------------------------------------------------------------


def test_the_capacity_is_learned_from_soc_and_battery_power() -> None:
    """A 8 kWh battery charging at 2400 W: 10 SOC points (800 Wh) in 20 minutes."""
    wallbox = WallboxData(ts=NOW)
    memory, soc = BatteryMemory(), 40.0
    memory = learn(memory, meter(soc=soc, battery=-2400), wallbox, None, NOW, None)
    for minute in range(1, 21):
        soc += 0.5
        memory = learn(memory, meter(soc=soc, battery=-2400), wallbox, None, NOW + minute * 60, 60)
    assert memory.learned_capacity_wh == pytest.approx(8000, rel=1e-6)
    assert memory.max_charge_w == 2400
    assert memory.house_w == 500


def test_house_consumption_is_averaged_without_the_car() -> None:
    memory = BatteryMemory(house_w=500)
    charging = WallboxData(ts=NOW, power=4000)
    reading = meter().model_copy(update={"power_consumption": 4500 + 1000})
    memory = learn(memory, reading, charging, None, NOW, 30)
    assert memory.house_w == pytest.approx(500 + 30 / 7200 * 1000)  # 5500 - 4000 = 1500 W now
    memory = learn(BatteryMemory(house_w=500), reading, charging, None, NOW, 1800)
    assert memory.house_w == pytest.approx(500 + 60 / 7200 * 1000)  # a gap counts as 60 s at most


# --- the tracking strategy with a forecast ----------------------------------------------------------


def charging_state(priority: Priority = Priority.AUTO, soc: float = 60) -> TrackingState:
    state = replace(initial_state(SETTINGS), desired_mode=ChargeMode.PV_ONLY, desired_priority=priority)
    assert isinstance(state, TrackingState)
    return replace(state, mode=ChargeMode.PV_ONLY, last_cycle=NOW - 5, battery=MEMORY)


def cycle(
    fc: ForecastData | None, priority: Priority = Priority.AUTO, soc: float = 60, battery: float = -2000
) -> tuple[int | None, str | None, Priority]:
    """One cycle while charging 10 A on 1 phase, the battery taking `battery` W, nothing exported."""
    wallbox = WallboxData(
        ts=NOW,
        allow_charging=True,
        max_current=10,
        phases_in=1,
        phases_out=1,
        power=2300,
        car_status=CarStatus.Charging,
    )
    inputs = LawInputs(meter(soc=soc, battery=battery), wallbox, relay_enabled=False, now=NOW, forecast=fc)
    result = control_cycle(charging_state(priority, soc), SETTINGS, inputs)
    return result.commands.max_current, result.reason, result.state.priority


def test_with_a_sunny_forecast_the_car_takes_the_battery_charge() -> None:
    current, reason, priority = cycle(forecast(6000))
    assert current == 16  # 2300 + 2000 W = 4300 W: 18 A, clamped to 16
    assert priority == Priority.CAR
    assert reason is not None
    assert reason.startswith(f"the home battery needs 4.0 kWh by {at(SUNSET - HOUR)}, the forecast leaves")


def test_with_a_dull_forecast_the_car_leaves_the_battery_its_power() -> None:
    current, reason, priority = cycle(forecast(1700))
    # 0.8 x 1700 - 500 = 860 W x 6 h = 5.16 kWh for 4 kWh + 1 kWh kept: 0.16 kWh to spare, 2840 W reserved
    assert current == 6  # 2300 + 2000 - 2840 = 1460 W -> 6 A
    assert priority == Priority.HOME_BATTERY
    assert reason == f"the home battery needs 4.0 kWh by {at(SUNSET - HOUR)}; the car gets what is left: " + (
        "charging 6 A on 1 phase, surplus 1.5 kW"
    )


def test_a_battery_that_cannot_fill_in_time_stops_the_car() -> None:
    current, reason, _ = cycle(forecast(800), soc=20)
    assert current == 6
    assert reason is not None
    assert "stopping in" in reason


@pytest.mark.parametrize(
    "fc",
    [None, forecast(6000, ts=NOW - 3 * HOUR), forecast(6000, start=NOW - 20 * HOUR)],
    ids=["none", "stale", "no-period-now"],
)
@pytest.mark.parametrize(("soc", "expected"), [(60, (16, Priority.CAR)), (40, (10, Priority.HOME_BATTERY))])
def test_without_a_usable_forecast_priority_auto_is_as_today(
    fc: ForecastData | None, soc: float, expected: tuple[int, Priority]
) -> None:
    current, reason, priority = cycle(fc, soc=soc)
    assert ((current or 10), priority) == expected
    assert reason is not None
    assert not reason.startswith("the home battery")


@pytest.mark.parametrize(
    ("priority", "expected"), [(Priority.CAR, 16), (Priority.HOME_BATTERY, None)], ids=["car", "home_battery"]
)
def test_home_battery_and_car_keep_their_meaning(priority: Priority, expected: int | None) -> None:
    for fc in (forecast(800), forecast(6000)):
        current, reason, used = cycle(fc, priority=priority)
        assert (current, used) == (expected, priority)
        assert reason is not None
        assert not reason.startswith("the home battery")


def test_pv_all_keeps_its_priority_auto_whatever_the_forecast() -> None:
    """PV_ALL: home battery first below 100 % (its minimum draws on the battery in every dip)."""
    wallbox = WallboxData(ts=NOW, allow_charging=True, max_current=10, phases_in=1, phases_out=1, power=2300)
    state = replace(charging_state(), desired_mode=ChargeMode.PV_ALL, mode=ChargeMode.PV_ALL)
    for fc in (None, forecast(6000), forecast(800)):
        inputs = LawInputs(meter(soc=60, battery=-2000), wallbox, relay_enabled=False, now=NOW, forecast=fc)
        result = control_cycle(state, SETTINGS, inputs)
        assert result.state.priority == Priority.HOME_BATTERY
        assert result.commands.max_current is None  # 2300 W: 10 A, as it is
        assert result.reason is not None
        assert not result.reason.startswith("the home battery")


def test_tracking_is_the_default_strategy_and_original_stays_selectable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert STRATEGIES[ControllerSettings().strategy] is tracking.STRATEGY
    monkeypatch.setenv("PVC_CONTROLLER__STRATEGY", "original")
    assert STRATEGIES[Settings().controller.strategy] is law.STRATEGY


@pytest.mark.parametrize("mode", [ChargeMode.PV_ONLY, ChargeMode.OFF])
def test_the_cycle_reports_the_battery_plan_with_a_forecast_and_none_without(mode: ChargeMode) -> None:
    wallbox = WallboxData(ts=NOW, allow_charging=False, max_current=6, phases_in=1, phases_out=1, power=0)
    state = replace(charging_state(), desired_mode=mode, mode=mode)
    with_forecast = control_cycle(
        state, SETTINGS, LawInputs(meter(soc=60), wallbox, False, NOW, forecast(6000))
    )
    shown = with_forecast.home_battery
    assert shown is not None
    assert (shown.needed_wh, shown.full_by) == (4000, SUNSET - HOUR)
    assert shown.full_at == pytest.approx(NOW + 4000 / 3000 * HOUR)
    without = control_cycle(state, SETTINGS, LawInputs(meter(soc=60), wallbox, False, NOW, None))
    assert without.home_battery is None
