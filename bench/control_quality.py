"""Control quality: both control strategies on simulated days, side by side (issue 8's yardstick).

Scenarios: {clear, broken clouds, overcast} x {10 kWh / 3 kW home battery, none}; each day is run once
without the car (the baseline) and once per strategy (`original`, `tracking`) and mode (PV_ONLY, PV_ALL)
with default settings and priority AUTO (see bench/README.md for the plant). Metrics, as defined there:

- solar captured = (export without car - export with car) / export without car; without a battery also
  as a share of the ceiling (a perfect tracker with full knowledge, 1 or 3 phases, best 1 A step);
- grid caused = (import with car - without) + max(0, battery at midnight without car - with car);
- starts/stops (allow_charging changes), relay switches, current changes.

    .venv/bin/python bench/control_quality.py [--seeds 1 2 3] [--plots bench/results] [--set KEY=VALUE]

Needs the `bench` extra: pip install -e '.[bench]'.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.day import SKIES, build_day, clear_sky_pv
from bench.plant import STRATEGIES, Run, RunOptions, ceiling_wh, run_day
from pvcontrol.models import ChargeMode
from pvcontrol.settings import ControllerSettings

MODES = (ChargeMode.PV_ONLY, ChargeMode.PV_ALL)


@dataclass
class Row:
    sky: str
    battery: bool
    seed: int
    mode: str
    strategy: str
    captured: float  # share of the baseline export that went into the car
    of_ceiling: float | None  # captured / the ceiling's, without a battery
    grid_caused_kwh: float
    starts_stops: int
    relay_switches: int
    current_changes: int
    charged_kwh: float
    violations: int


def measure(
    sky: str,
    battery: bool,
    seed: int,
    settings: ControllerSettings,
    clear_pv: Any,
    strategies: tuple[str, ...] = ("original", "tracking"),
) -> tuple[list[Row], dict[str, Run]]:
    day = build_day(sky, seed, clear_pv)  # type: ignore[arg-type]
    base = run_day(day, battery, settings)
    ceiling = None if battery else ceiling_wh(day, settings) / base.export_wh
    rows, runs = [], {}
    for mode in MODES:
        for strategy in strategies:
            run = run_day(day, battery, settings, RunOptions(mode, strategy, strategy == "tracking"))
            runs[f"{strategy} {mode.value}"] = run
            captured = (base.export_wh - run.export_wh) / base.export_wh if base.export_wh else 0.0
            caused = (run.import_wh - base.import_wh) + max(0.0, base.battery_end_wh - run.battery_end_wh)
            rows.append(
                Row(
                    sky=sky,
                    battery=battery,
                    seed=seed,
                    mode=mode.value,
                    strategy=strategy,
                    captured=captured,
                    of_ceiling=captured / ceiling if ceiling else None,
                    grid_caused_kwh=caused / 1000,
                    starts_stops=run.starts_stops,
                    relay_switches=run.relay_switches,
                    current_changes=run.current_changes,
                    charged_kwh=run.charged_wh / 1000,
                    violations=run.violations,
                )
            )
    return rows, runs


def _span(values: list[float], fmt: str) -> str:
    low, high = min(values), max(values)
    return (
        fmt.format(low) if fmt.format(low) == fmt.format(high) else f"{fmt.format(low)} to {fmt.format(high)}"
    )


def _at_least_as_good(ours: Row, original: Row) -> tuple[bool, bool, bool]:
    """Per metric of issue 8, on the rounding shown: captured, grid caused, starts/stops + relay."""
    return (
        round(ours.captured, 3) >= round(original.captured, 3),
        round(ours.grid_caused_kwh, 2) <= round(original.grid_caused_kwh, 2),
        ours.starts_stops + ours.relay_switches <= original.starts_stops + original.relay_switches,
    )


def print_table(rows: list[Row]) -> None:
    """One row per scenario, mode and strategy; ranges over the seeds. For `tracking`, how many seeds
    are at least as good as `original` on captured / grid caused / starts+stops+relay switches."""
    print(
        "| sky | home battery | mode | strategy | solar captured | % of ceiling | grid caused kWh "
        "| starts/stops | relay switches | current changes | charged kWh | ≥ original (seeds) |"
    )
    print("|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|")
    groups: dict[tuple[str, bool, str, str], list[Row]] = {}
    for r in rows:
        groups.setdefault((r.sky, r.battery, r.mode, r.strategy), []).append(r)
    for (sky, battery, mode, strategy), group in groups.items():
        ceiling = "n/a"
        if not battery:
            ceiling = _span([r.of_ceiling or 0.0 for r in group], "{:.1%}")
        verdict = ""
        if strategy != "original" and (sky, battery, mode, "original") in groups:
            pairs = zip(group, groups[(sky, battery, mode, "original")], strict=True)
            checks = [_at_least_as_good(ours, original) for ours, original in pairs]
            verdict = " · ".join(f"{sum(c[i] for c in checks)}/{len(checks)}" for i in range(3))
        name = f"**{strategy}**" if strategy != "original" else strategy
        print(
            f"| {sky} | {'10 kWh' if battery else 'none'} | {mode} | {name} "
            f"| {_span([r.captured for r in group], '{:.1%}')} | {ceiling} "
            f"| {_span([r.grid_caused_kwh for r in group], '{:.2f}')} "
            f"| {_span([r.starts_stops for r in group], '{:.0f}')} "
            f"| {_span([r.relay_switches for r in group], '{:.0f}')} "
            f"| {_span([r.current_changes for r in group], '{:.0f}')} "
            f"| {_span([r.charged_kwh for r in group], '{:.1f}')} | {verdict} |"
        )


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"--set expects KEY=VALUE, got {pair!r}")
        overrides[key.strip()] = value.strip()
    return overrides


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1], help="cloud and load seeds (default 1)")
    parser.add_argument("--skies", nargs="+", default=list(SKIES), choices=SKIES)
    parser.add_argument(
        "--plots", type=Path, default=None, help="one PNG per scenario (first seed) into this folder"
    )
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="controller setting")
    parser.add_argument("--strategies", nargs="+", default=["original", "tracking"], choices=STRATEGIES)
    parser.add_argument("--batteries", nargs="+", default=["yes", "no"], choices=["yes", "no"])
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = parser.parse_args()
    settings = ControllerSettings.model_validate(parse_overrides(args.set))
    started = time.monotonic()
    clear_pv = clear_sky_pv()
    rows: list[Row] = []
    for seed in args.seeds:
        for sky in args.skies:
            for battery in (b == "yes" for b in args.batteries):
                scenario_rows, runs = measure(sky, battery, seed, settings, clear_pv, tuple(args.strategies))
                rows += scenario_rows
                if args.plots is not None and seed == args.seeds[0]:
                    from bench.plots import plot_scenario

                    name = f"{sky}-{'battery' if battery else 'no_battery'}"
                    title = f"{sky} sky, {'10 kWh / 3 kW home battery' if battery else 'no home battery'}"
                    panels = [(label, run.trace) for label, run in runs.items()]
                    plot_scenario(f"{title} (seed {seed})", panels, args.plots / f"{name}.png")
    if args.json:
        print(json.dumps([asdict(r) for r in rows], indent=2))
        return
    changed = ", ".join(f"{k}={v}" for k, v in parse_overrides(args.set).items()) or "defaults"
    print(f"## control quality: seeds {args.seeds}, settings: {changed}, {time.monotonic() - started:.0f} s")
    print()
    print_table(sorted(rows, key=lambda r: (SKIES.index(r.sky), not r.battery, r.mode, r.strategy, r.seed)))
    bad = sum(r.violations for r in rows)
    if bad:
        print(f"\nRELAY SWITCHED UNDER LOAD {bad} times")


if __name__ == "__main__":
    main()
