"""Departure plans on simulated days: does "80 % by 17:00" finish on time, and how much grid does it buy?

The car is plugged in at midnight with 30 % (58 kWh battery, 90 % charging efficiency) and a plan for
80 % by 17:00; the chosen mode is PV_ONLY with the tracking strategy (`bench/plant.py`, the same days
as `control_quality.py`). For each sky the table shows when the target was reached, the grid energy
the car caused until then (import with the car minus the import of the same day without it), and the
shortfall: what the sun could not have delivered by the deadline. The plan's promise is: on time, and
grid caused at most the shortfall + 10 % (the shortfall: the energy the plan needs minus what PV_ONLY
without a plan got from the sun by the deadline on the same day). `MAX at plug-in` (everything from the
grid at night) and `PV_ONLY without a plan` (may miss the target) are shown for comparison.

With `--prices`, the same plan on a dynamic tariff (`bench/prices.py`: three day-ahead price curves)
under each sky, three ways: `latest start` (the plan without prices, as before issue 18), `cheapest slots`
(the tariff, no forecast: the whole need bought in the cheapest hours) and `cheapest slots + forecast`
(the tariff and the forecast with errors of `bench/forecast.py`: only what the sun will not bring is
bought). Grid energy caused until the target, its cost at the hour's price, the bill's change (that cost
plus the feed-in the car's sun no longer earns, 0.08 EUR/kWh), and on time or not.

    .venv/bin/python bench/departure_plan.py --seeds 1 2 3
    .venv/bin/python bench/departure_plan.py --prices --seeds 1 2 3
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Iterator
from datetime import time as clock_time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.day import SKIES, STEP, Day, build_day, clear_sky_pv
from bench.forecast import ForecastFeed
from bench.plant import START, Run, RunOptions, run_day
from bench.plant_devices import HOURS
from bench.prices import CURVES, FEED_IN, TariffFeed
from pvcontrol.models import ChargeMode
from services.controller.goal_control import GoalState
from services.controller.goals import Goals, Plan
from services.controller.settings import ControllerSettings

SOC_AT_PLUG_IN = 30.0
PLAN = Plan(80, clock_time(17, 0))
DEADLINE = START + 17 * 3600  # the plan's deadline on the simulated day (local time: Europe/Vienna)


def grid_until(trace_grid: list[float], until: float) -> float:
    steps = int((until - START) / STEP) + 1
    return sum(max(g, 0.0) for g in trace_grid[:steps]) * HOURS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1])
    parser.add_argument("--prices", action="store_true", help="the plan kinds on three price curves")
    args = parser.parse_args()
    os.environ["TZ"] = "Europe/Vienna"  # the days are built from local midnight in Vienna
    time.tzset()
    settings = ControllerSettings()
    clear_pv = clear_sky_pv()
    needed_wh = (
        (PLAN.soc - SOC_AT_PLUG_IN) / 100 * settings.battery_capacity * 1000 / settings.charging_efficiency
    )
    if args.prices:
        price_table(args.seeds, settings, clear_pv, needed_wh)
        return
    print("| sky | seed | how | target at | on time | grid caused until then kWh | shortfall kWh | ok |")
    print("|---|---|---|---|---|---:|---:|---|")
    for sky in SKIES:
        for seed in args.seeds:
            day = build_day(sky, seed, clear_pv)
            baseline = run_day(day, None, settings)
            runs = {
                "plan, PV_ONLY": run_day(
                    day,
                    None,
                    settings,
                    RunOptions(ChargeMode.PV_ONLY, "tracking", True, GoalState(Goals(plan=PLAN)), 30.0),
                ),
                "PV_ONLY, no plan": run_day(
                    day,
                    None,
                    settings,
                    RunOptions(ChargeMode.PV_ONLY, "tracking", True, GoalState(), SOC_AT_PLUG_IN),
                ),
                "MAX at plug-in": run_day(
                    day,
                    None,
                    settings,
                    RunOptions(ChargeMode.MAX, "original", False, GoalState(), SOC_AT_PLUG_IN),
                ),
            }
            # The shortfall: what this charger could not get from the sun by the deadline (PV_ONLY without
            # a plan takes all it can: 1 A steps from 6 A, phase switching with its timers).
            steps = int((DEADLINE - START) / STEP)
            sun_wh = sum(runs["PV_ONLY, no plan"].trace.car[:steps]) * HOURS
            shortfall_wh = max(0.0, needed_wh - sun_wh)
            for how, run in runs.items():
                reached = _reached(run.trace.car, settings, needed_wh)
                until = reached if reached is not None else DEADLINE
                caused = grid_until(run.trace.grid, until) - grid_until(baseline.trace.grid, until)
                at = time.strftime("%H:%M", time.localtime(reached)) if reached is not None else "not reached"
                on_time = "yes" if reached is not None and reached <= DEADLINE else "no"
                bound = "yes" if on_time == "yes" and caused <= shortfall_wh * 1.1 + 1 else "no"
                print(
                    f"| {sky} | {seed} | {how} | {at} | {on_time} | {caused / 1000:.2f} | "
                    f"{shortfall_wh / 1000:.2f} | {bound} |"
                )


PLAN_KINDS = ("latest start", "cheapest slots", "cheapest slots + forecast")


def price_table(seeds: list[int], settings: ControllerSettings, clear_pv: object, needed_wh: float) -> None:
    started = time.monotonic()
    print("| prices | sky | seed | plan | target at | on time | grid kWh | grid cost EUR | bill change EUR |")
    print("|---|---|---|---|---|---|---:|---:|---:|")
    totals: dict[str, list[float]] = {kind: [0.0, 0.0, 0.0, 0.0] for kind in PLAN_KINDS}
    for sky in SKIES:
        for seed in seeds:
            day = build_day(sky, seed, clear_pv)
            for curve, kind, row in _price_rows(day, seed, settings, needed_wh):
                reached, grid, cost, bill = row
                on_time = reached is not None and reached <= DEADLINE
                at = time.strftime("%H:%M", time.localtime(reached)) if reached else "not reached"
                print(
                    f"| {curve} | {sky} | {seed} | {kind} | {at} | {'yes' if on_time else 'no'} | "
                    f"{grid / 1000:.2f} | {cost:.2f} | {bill:.2f} |"
                )
                for i, value in enumerate((grid / 1000, cost, bill, 0.0 if on_time else 1.0)):
                    totals[kind][i] += value
    print()
    print("| plan | grid kWh (sum) | grid cost EUR (sum) | bill change EUR (sum) | late |")
    print("|---|---:|---:|---:|---:|")
    for kind, (grid, cost, bill, late) in totals.items():
        print(f"| {kind} | {grid:.1f} | {cost:.2f} | {bill:.2f} | {late:.0f} |")
    print(f"\n{time.monotonic() - started:.0f} s")


Row = tuple[float | None, float, float, float]  # reached, grid Wh, cost, bill change


def _price_rows(
    day: Day, seed: int, settings: ControllerSettings, needed_wh: float
) -> Iterator[tuple[str, str, Row]]:
    baseline = run_day(day, None, settings)
    latest = _plan_run(day, settings, None, None)  # no prices: the same run on every curve
    for curve in CURVES:
        tariff = TariffFeed(curve, day.start)
        runs = {
            "latest start": latest,
            "cheapest slots": _plan_run(day, settings, tariff, None),
            "cheapest slots + forecast": _plan_run(day, settings, tariff, ForecastFeed(day, "errors", seed)),
        }
        for kind, run in runs.items():
            reached = _reached(run.trace.car, settings, needed_wh)
            yield curve, kind, (reached, *_priced(run, baseline, tariff, reached or DEADLINE))


def _plan_run(
    day: Day, settings: ControllerSettings, tariff: TariffFeed | None, forecast: ForecastFeed | None
) -> Run:
    goals = GoalState(Goals(plan=PLAN))
    options = RunOptions(ChargeMode.PV_ONLY, "tracking", True, goals, SOC_AT_PLUG_IN, forecast, tariff)
    return run_day(day, None, settings, options)


def _priced(run: Run, baseline: Run, tariff: TariffFeed, until: float) -> tuple[float, float, float]:
    """Grid energy (Wh) the car caused until `until`, its cost at each hour's price, and the bill's
    change: that cost plus the feed-in lost to the car."""
    steps = int((until - START) / STEP) + 1
    grid = cost = bill = 0.0
    pairs = zip(run.trace.grid[:steps], baseline.trace.grid[:steps], strict=True)
    for k, (with_car, without) in enumerate(pairs):
        imported = (max(with_car, 0.0) - max(without, 0.0)) * HOURS
        exported = (max(-with_car, 0.0) - max(-without, 0.0)) * HOURS
        price = tariff.price_at_step(k)
        grid += imported
        cost += imported / 1000 * price
        bill += imported / 1000 * price - exported / 1000 * FEED_IN
    return grid, cost, bill


def _reached(car: list[float], settings: ControllerSettings, needed_wh: float) -> float | None:
    """When the car had taken the energy the plan needs."""
    charged = 0.0
    for k, power in enumerate(car):
        charged += power * HOURS
        if charged >= needed_wh:
            return START + k * STEP
    return None


if __name__ == "__main__":
    main()
