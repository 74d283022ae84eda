"""Control quality: the control strategies on simulated days of the year, side by side (issues 8 and 16).

Scenarios: days of the year (bench/day.py DAYS) x roofs x home batteries {10 kWh / 3 kW, 5 kWh / 2.5 kW,
none} x seeds; each day is run once without the car (the baseline) and once per strategy (`tracking`,
`original`, `home_battery_first` = tracking with priority HOME_BATTERY), mode (PV_ONLY; PV_ALL with a
battery) and forecast fed to the law (perfect, errors, wrong_sky, none; bench/forecast.py). Metrics, as
bench/README.md defines them:

- solar captured = (export without car - export with car) / export without car; without a battery also
  as a share of the ceiling (a perfect tracker with full knowledge, 1 or 3 phases, best 1 A step);
- grid caused = (import with car - without) + max(0, battery at midnight without car - with car);
- starts/stops (allow_charging changes), relay switches, current changes.

    .venv/bin/python bench/control_quality.py [--quick] [--seeds 1 2 3] [--plots bench/results]

Needs the `bench` extra: pip install -e '.[bench]'.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.day import DAYS, ROOFS, SKIES, DaySpec, build_season_day, clear_sky_pv
from bench.forecast import FORECASTS, ForecastFeed
from bench.plant import (
    STRATEGIES,
    Run,
    RunOptions,
    Trace,
    ceiling_wh,
    run_day,
    steady_battery,
)
from bench.plant_devices import BatterySpec
from bench.report import STRATEGY_ORDER, Row, print_report
from pvcontrol.models import ChargeMode
from services.controller.settings import ControllerSettings

BATTERIES: dict[str, BatterySpec | None] = {
    "10kWh": BatterySpec(10_000.0, 3000.0),
    "5kWh": BatterySpec(5_000.0, 2500.0),
    "none": None,
}
BATTERY_ALIASES = {"yes": "10kWh", "no": "none"}  # the options of the first version
NO_BATTERY_SKIP = ("errors", "wrong_sky")
QUICK_DAYS = ("May broken", "Dec clear", "Jan broken")
PLOTTED = {("Dec clear", "10kWh"): "dec-clear-10kwh"} | {
    (f"May {sky}", battery): f"{sky}-{'battery' if battery != 'none' else 'no_battery'}"
    for sky in SKIES
    for battery in ("10kWh", "none")
}


@dataclass(frozen=True)
class Task:
    day: DaySpec
    roof: str
    battery: str
    seed: int
    strategies: tuple[str, ...]
    forecasts: tuple[str, ...]
    settings: ControllerSettings
    traces: bool  # return the PV_ONLY/PV_ALL traces for a plot


def runs_of(task: Task) -> list[tuple[ChargeMode, str, str]]:
    """(mode, strategy, forecast) of a scenario: every forecast for `tracking`, the perfect one for the
    others (they ignore it); the wrong sky only under clouds (on a clear day it is the perfect one).
    Without a battery there is nothing to split: tracking with the perfect forecast and none, no
    home battery first."""
    out: list[tuple[ChargeMode, str, str]] = []
    battery = task.battery != "none"
    for strategy in task.strategies:
        if strategy == "home_battery_first" and not battery:
            continue
        kinds = task.forecasts if strategy == "tracking" else ("perfect",)
        for kind in kinds:
            if (kind == "wrong_sky" and task.day.sky == "clear") or (not battery and kind in NO_BATTERY_SKIP):
                continue
            out.append((ChargeMode.PV_ONLY, strategy, kind))
    if battery:
        out += [(ChargeMode.PV_ALL, s, "perfect") for s in task.strategies if s != "home_battery_first"]
    return out


def measure(task: Task) -> tuple[list[Row], dict[str, Trace]]:
    planes = ROOFS[task.roof]
    clear_pv = clear_sky_pv(task.day.date, planes, task.day.temp_air)
    day = build_season_day(task.day, task.seed, planes, clear_pv)
    settings = task.settings
    spec = BATTERIES[task.battery]
    if spec is not None:
        spec = steady_battery(day, spec, settings)
    base = run_day(day, spec, settings)
    ceiling = None if spec or not base.export_wh else ceiling_wh(day, settings) / base.export_wh
    rows, traces = [], {}
    for mode, strategy, kind in runs_of(task):
        every_reading = strategy != "original"
        feed = ForecastFeed(day, kind, task.seed)
        run = run_day(day, spec, settings, RunOptions(mode, strategy, every_reading, forecast=feed))
        if task.traces and kind == "perfect":
            traces[f"{strategy} {mode.value}"] = run.trace
        rows.append(_row(task, mode, strategy, kind, base, run, ceiling, spec))
    return rows, traces


def _row(
    task: Task,
    mode: ChargeMode,
    strategy: str,
    kind: str,
    base: Run,
    run: Run,
    ceiling: float | None,
    spec: BatterySpec | None,
) -> Row:
    captured = (base.export_wh - run.export_wh) / base.export_wh if base.export_wh else 0.0
    caused = (run.import_wh - base.import_wh) + max(0.0, base.battery_end_wh - run.battery_end_wh)
    return Row(
        day=task.day.name,
        month=task.day.month,
        sky=task.day.sky,
        roof=task.roof,
        battery=task.battery,
        battery_at_midnight_kwh=spec.soc_wh / 1000 if spec else 0.0,
        seed=task.seed,
        mode=mode.value,
        strategy=strategy,
        forecast=kind,
        captured=captured,
        of_ceiling=captured / ceiling if ceiling else None,
        grid_caused_kwh=caused / 1000,
        starts_stops=run.starts_stops,
        relay_switches=run.relay_switches,
        current_changes=run.current_changes,
        charged_kwh=run.charged_wh / 1000,
        violations=run.violations,
    )


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"--set expects KEY=VALUE, got {pair!r}")
        overrides[key.strip()] = value.strip()
    return overrides


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help=f"seed 1, {', '.join(QUICK_DAYS)}, 10 kWh / none"
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=None, help="cloud and load seeds (1 2 3)")
    parser.add_argument("--days", nargs="+", default=None, choices=[d.name for d in DAYS], metavar="DAY")
    parser.add_argument("--skies", nargs="+", default=list(SKIES), choices=SKIES, help="only days of these")
    parser.add_argument("--roofs", nargs="+", default=["south"], choices=list(ROOFS))
    choices = list(BATTERIES) + list(BATTERY_ALIASES)
    parser.add_argument("--batteries", nargs="+", default=None, choices=choices)
    parser.add_argument("--strategies", nargs="+", default=list(STRATEGIES), choices=STRATEGIES)
    parser.add_argument("--forecasts", nargs="+", default=list(FORECASTS), choices=FORECASTS)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="controller setting")
    parser.add_argument("--plots", type=Path, default=None, help="PNGs of the plotted scenarios (first seed)")
    parser.add_argument("--processes", type=int, default=2, help="worker processes (2)")
    parser.add_argument("--before", type=Path, default=None, help="JSON rows of the law before (--json-out)")
    parser.add_argument("--json-out", type=Path, default=None, help="write every run as JSON rows here")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON instead of the tables")
    parser.add_argument("--report", type=Path, default=None, help="only print the tables of these JSON rows")
    args = parser.parse_args()
    if args.seeds is None:
        args.seeds = [1] if args.quick else [1, 2, 3]
    if args.days is None:
        args.days = list(QUICK_DAYS) if args.quick else [d.name for d in DAYS]
    if args.batteries is None:
        args.batteries = ["10kWh", "none"] if args.quick else list(BATTERIES)
    args.batteries = list(dict.fromkeys(BATTERY_ALIASES.get(b, b) for b in args.batteries))
    return args


def _load(path: Path) -> list[Row]:
    return _in_order([Row(**r) for r in json.loads(path.read_text())])


def _in_order(rows: list[Row]) -> list[Row]:
    """The days as DAYS lists them (the runs finish in another order)."""
    names = [d.name for d in DAYS]
    return sorted(rows, key=lambda r: names.index(r.day) if r.day in names else len(names))


def main() -> None:
    args = _arguments()
    before = _load(args.before) if args.before else None
    if args.report is not None:
        print_report(_load(args.report), before)
        return
    os.environ["TZ"] = "Europe/Vienna"  # local midnight of the simulated days; workers inherit it
    time.tzset()
    settings = ControllerSettings.model_validate(parse_overrides(args.set))
    days = [d for d in DAYS if d.name in args.days and d.sky in args.skies]
    tasks = [
        Task(
            day=day,
            roof=roof,
            battery=battery,
            seed=seed,
            strategies=tuple(args.strategies),
            forecasts=tuple(args.forecasts),
            settings=settings,
            traces=args.plots is not None and seed == args.seeds[0] and (day.name, battery) in PLOTTED,
        )
        for day in days
        for roof in args.roofs
        for battery in args.batteries
        for seed in args.seeds
    ]
    tasks.sort(key=lambda t: -len(runs_of(t)))  # the longest first: both processes finish together
    started = time.monotonic()
    rows: list[Row] = []
    with multiprocessing.Pool(max(args.processes, 1)) as pool:
        for task, (task_rows, traces) in zip(tasks, pool.imap(measure, tasks), strict=True):
            rows += task_rows
            if traces:
                _plot(args.plots, task, traces)
    elapsed = time.monotonic() - started
    rows = _in_order(rows)
    if args.json_out is not None:
        args.json_out.write_text("[\n" + ",\n".join(json.dumps(asdict(r)) for r in rows) + "\n]\n")
    if args.json:
        print(json.dumps([asdict(r) for r in rows], indent=2))
        return
    changed = ", ".join(f"{k}={v}" for k, v in parse_overrides(args.set).items()) or "defaults"
    print(
        f"## control quality: {len(tasks)} scenarios ({len(rows)} runs), seeds {args.seeds}, settings: "
        f"{changed}, {elapsed:.0f} s on {args.processes} processes"
    )
    print_report(rows, before)


def _plot(folder: Path, task: Task, traces: dict[str, Trace]) -> None:
    from bench.plots import plot_scenario

    name = PLOTTED[(task.day.name, task.battery)]
    spec = BATTERIES[task.battery]
    battery = f"{spec.label} home battery" if spec else "no home battery"
    roof = "" if task.roof == "south" else f"{task.roof} roof, "
    title = f"{task.day.name} ({task.day.date}), {roof}{battery}, perfect forecast (seed {task.seed})"
    suffix = "" if task.roof == "south" else f"-{task.roof}"
    panels = sorted(traces.items(), key=lambda item: (item[0].endswith("PV_ALL"), _panel_order(item[0])))
    plot_scenario(title, panels, folder / f"{name}{suffix}.png")


def _panel_order(label: str) -> int:
    strategy = label.split()[0]
    return STRATEGY_ORDER.index(strategy) if strategy in STRATEGY_ORDER else len(STRATEGY_ORDER)


if __name__ == "__main__":
    main()
