"""The house around the controller, run for a day: PV, loads, a home battery, the wallbox with a car, the
phase relay (the devices: `bench/plant_devices.py`).

Readings every `STEP` s; the controller's strategy runs on them and its commands go to the simulated
wallbox and relay; the harness counts a phase command under load as a violation (it must never happen).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from bench.day import STEP, Day
from bench.plant_devices import HOURS, BatterySpec, Relay, Wallbox, battery_for
from pvcontrol.models import (
    CarData,
    CarStatus,
    ChargeMode,
    ForecastData,
    MeterData,
    Priority,
    TariffData,
    WallboxData,
    WbError,
)
from services.controller import law, tracking
from services.controller.goal_control import GoalState, cycle_with_goals
from services.controller.law import CycleResult, LawInputs, LawState
from services.controller.settings import ControllerSettings

START = 1_779_228_000.0  # 2026-05-20 00:00 in Vienna (CEST), today's day (Day.start of the others)
Strategy = Callable[[LawState, ControllerSettings, LawInputs], CycleResult]
STRATEGIES: dict[str, tuple[Strategy, Callable[[ControllerSettings], LawState]]] = {
    "original": (law.control_cycle, law.initial_state),
    "tracking": (tracking.control_cycle, tracking.initial_state),
    "home_battery_first": (tracking.control_cycle, tracking.initial_state),  # priority HOME_BATTERY
}
# The controller setting `strategy` each runs with, and its priority (the user's choice).
STRATEGY_SETTING = {"original": "original", "tracking": "tracking", "home_battery_first": "tracking"}
PRIORITY = {"home_battery_first": Priority.HOME_BATTERY}
ForecastFeed = Callable[[int], ForecastData | None]  # step index -> P/forecast/state at that step
TariffFeed = Callable[[int], TariffData | None]  # step index -> P/tariff/state at that step


@dataclass
class Trace:
    """Per step: the powers in W (for the plots)."""

    pv: list[float] = field(default_factory=list)
    house: list[float] = field(default_factory=list)
    car: list[float] = field(default_factory=list)
    battery: list[float] = field(default_factory=list)
    grid: list[float] = field(default_factory=list)
    soc: list[float] = field(default_factory=list)  # % of the home battery


@dataclass
class Run:
    export_wh: float = 0.0
    import_wh: float = 0.0
    battery_end_wh: float = 0.0
    charged_wh: float = 0.0
    starts_stops: int = 0
    relay_switches: int = 0
    current_changes: int = 0
    violations: int = 0  # relay switched while the car drew current
    trace: Trace = field(default_factory=Trace)
    # with the car's goals (bench/departure_plan.py): its SOC, and when the plan's target was reached
    car_soc: float = 0.0
    target_reached_at: float | None = None


def steady_battery(day: Day, spec: BatterySpec, settings: ControllerSettings) -> BatterySpec:
    """The battery as the night leaves it: its energy at midnight is what the same day without the car
    leaves at midnight (a run of such days), found by running that day again from where it ended."""
    soc_wh = 0.3 * spec.capacity_wh
    for _ in range(6):
        end = run_day(day, replace(spec, soc_wh=soc_wh), settings).battery_end_wh
        if abs(end - soc_wh) < 1.0:
            break
        soc_wh = end
    return replace(spec, soc_wh=soc_wh)


@dataclass(frozen=True)
class RunOptions:
    """How the controller runs the day: `mode` None is the baseline without a car. The original runs
    every `cycle_time`, the tracking strategy (with `every_reading`) on every reading; `goals` with the
    car's SOC at plug-in (`car_soc`) for the departure plans."""

    mode: ChargeMode | None = None
    strategy: str = "tracking"
    every_reading: bool = True
    goals: GoalState | None = None
    car_soc: float = 50.0
    forecast: ForecastFeed | None = None  # None: the law gets no forecast
    tariff: TariffFeed | None = None  # None: no prices (bench/departure_plan.py)


BASELINE = RunOptions()


def run_day(
    day: Day, battery_spec: BatterySpec | None, settings: ControllerSettings, options: RunOptions = BASELINE
) -> Run:
    """One day, run as `options` say (the default: the baseline without a car)."""
    battery = battery_for(battery_spec)
    wallbox = Wallbox()
    relay = Relay()
    run = Run()
    control, initial = STRATEGIES[options.strategy]
    settings = settings.model_copy(
        update={
            "strategy": STRATEGY_SETTING[options.strategy],
            "home_battery_capacity": battery_spec.capacity_wh if battery_spec else 0.0,
        }
    )
    priority = PRIORITY.get(options.strategy, Priority.AUTO)
    state = None
    if options.mode is not None:
        state = replace(initial(settings), desired_mode=options.mode, desired_priority=priority)
    cycle_steps = 1 if options.every_reading else max(round(settings.cycle_time / STEP), 1)
    goals = options.goals
    voltage = settings.line_voltage
    consumption = consumption_grid = 0.0
    run.car_soc = options.car_soc
    for k, (pv, house) in enumerate(zip(day.pv, day.house, strict=True)):
        car = wallbox.car_power
        battery_power = battery.power_for(pv - house - car)
        grid = house + car - pv - battery_power
        now = day.start + k * STEP
        relay.observe(car, now)
        _switch(relay.due_switch(now), wallbox, run)
        if state is not None and k % cycle_steps == 0:
            meter = MeterData(
                ts=now,
                power_pv=pv,
                power_consumption=house + car,
                power_grid=grid,
                power_battery=battery_power,
                soc_battery=battery.soc,
                energy_consumption=consumption,
                energy_consumption_grid=consumption_grid,
                energy_consumption_pv=consumption - consumption_grid,
            )
            reading = WallboxData(
                ts=now,
                wb_error=WbError.OK,
                car_status=CarStatus.Charging if car > 0 else CarStatus.WaitingForVehicle,
                max_current=wallbox.max_current,
                allow_charging=wallbox.allow,
                phases_in=wallbox.phases,
                phases_out=wallbox.phases if car > 0 else 0,
                power=car,
                charged_energy=wallbox.charged_wh,
            )
            forecast = options.forecast(k) if options.forecast is not None else None
            tariff = options.tariff(k) if options.tariff is not None else None
            inputs = LawInputs(meter, reading, True, now, forecast, tariff)
            if goals is None:
                result = control(state, settings, inputs)
            else:
                soc = CarData(ts=now, soc=run.car_soc)
                result, _, goals = cycle_with_goals(control, state, settings, inputs, goals, soc)
            state = result.state
            _apply(result, wallbox, relay, run, now)
        run.trace.pv.append(pv)
        run.trace.house.append(house)
        run.trace.car.append(car)
        run.trace.battery.append(battery_power)
        run.trace.grid.append(grid)
        run.trace.soc.append(battery.soc)
        run.export_wh += max(-grid, 0.0) * HOURS
        run.import_wh += max(grid, 0.0) * HOURS
        run.charged_wh += car * HOURS
        wallbox.charged_wh += car * HOURS
        stored = car * HOURS * settings.charging_efficiency
        run.car_soc = min(100.0, run.car_soc + stored / (settings.battery_capacity * 10))
        plan = goals.goals.plan if goals is not None else None
        if plan is not None and run.target_reached_at is None and run.car_soc >= plan.soc:
            run.target_reached_at = now
        consumption += (house + car) * HOURS
        consumption_grid += max(grid, 0.0) * HOURS
        battery.soc_wh -= battery_power * HOURS
        wallbox.car_power = wallbox.setting_power(voltage)
    run.battery_end_wh = battery.soc_wh
    return run


def _apply(result: CycleResult, wallbox: Wallbox, relay: Relay, run: Run, now: float) -> None:
    commands = result.commands
    if commands.phases is not None and commands.phases != wallbox.phases:
        if wallbox.car_power > 0:
            run.violations += 1  # the relay service refuses it; the controller must never ask
        else:
            _switch(relay.command(commands.phases, now), wallbox, run)
    if commands.max_current is not None and commands.max_current != wallbox.max_current:
        run.current_changes += 1
        wallbox.max_current = commands.max_current
    if commands.allow_charging is not None and commands.allow_charging != wallbox.allow:
        run.starts_stops += 1
        wallbox.allow = commands.allow_charging


def _switch(phases: int | None, wallbox: Wallbox, run: Run) -> None:
    if phases is not None and phases != wallbox.phases:
        run.relay_switches += 1
        wallbox.phases = phases


def ceiling_wh(day: Day, settings: ControllerSettings) -> float:
    """Without a battery: the energy a perfect tracker puts into the car, choosing 1 or 3 phases and the
    best 1 A step every step, never more than the export."""
    steps = sorted(
        p * i * settings.line_voltage
        for p in (1, 3)
        for i in range(settings.min_supported_current, settings.max_supported_current + 1)
    )
    total = 0.0
    for pv, house in zip(day.pv, day.house, strict=True):
        export = pv - house
        total += max((s for s in steps if s <= export), default=0.0) * HOURS
    return total
