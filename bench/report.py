"""The control-quality tables and issue 16's "Done when" checks, from the rows of bench/control_quality.py.

Every check holds for every seed (on the rounding shown) or it is marked not met (✗).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

STRATEGY_ORDER = ("tracking", "home_battery_first", "original")
FORECAST_ORDER = ("perfect", "errors", "wrong_sky", "none")
BATTERY_ORDER = ("10kWh", "5kWh", "none")
BATTERY_LABEL = {"10kWh": "10 kWh / 3 kW", "5kWh": "5 kWh / 2.5 kW", "none": "none"}
SUMMER = range(4, 10)  # April to September; the rest is winter
RELAY_PER_DAY, PV_ALL_STARTS_PER_DAY = 10, 40


@dataclass
class Row:
    day: str
    month: int
    sky: str
    roof: str
    battery: str
    battery_at_midnight_kwh: float
    seed: int
    mode: str
    strategy: str
    forecast: str
    captured: float  # share of the baseline export that went into the car
    of_ceiling: float | None  # captured / the ceiling's, without a battery
    grid_caused_kwh: float
    starts_stops: int
    relay_switches: int
    current_changes: int
    charged_kwh: float
    violations: int

    @property
    def scenario(self) -> tuple[str, str, str, int, str]:
        return (self.day, self.roof, self.battery, self.seed, self.mode)

    @property
    def switches(self) -> int:
        return self.starts_stops + self.relay_switches


Key = tuple[str, str, str, int, str, str, str]  # scenario + strategy + forecast


def _key(r: Row, strategy: str | None = None, forecast: str | None = None) -> Key:
    return (*r.scenario, strategy or r.strategy, forecast or r.forecast)


def _span(values: Iterable[float], fmt: str) -> str:
    values = list(values)
    low, high = fmt.format(min(values)), fmt.format(max(values))
    return low if low == high else f"{low} to {high}"


def _mark(ok: bool) -> str:
    return "✓" if ok else "✗"


def checks(group: list[Row], index: dict[Key, Row], before: dict[Key, Row] | None) -> str:
    """The Done-when criteria that apply to a tracking row (all its seeds), met ✓ or not ✗."""
    first = group[0]
    if first.strategy != "tracking":
        return ""
    out: list[str] = []
    grid = max(round(r.grid_caused_kwh, 2) for r in group)
    relay = max(r.relay_switches for r in group)
    if first.mode == "PV_ALL":
        starts = max(r.starts_stops for r in group)
        return f"starts/stops ≤ {PV_ALL_STARTS_PER_DAY} {_mark(starts <= PV_ALL_STARTS_PER_DAY)}"
    if first.battery != "none":
        if first.forecast in ("perfect", "errors"):
            out.append(f"grid ≤ 0.1 {_mark(grid <= 0.1)}")
            if first.month in SUMMER and first.sky in ("clear", "broken"):
                out.append(f"sun ≥ 97 % {_mark(min(round(r.captured, 3) for r in group) >= 0.97)}")
            elif first.month not in SUMMER:
                hb = [index.get(_key(r, "home_battery_first", "perfect")) for r in group]
                ok = all(
                    h is not None and round(r.captured, 3) >= round(h.captured, 3)
                    for r, h in zip(group, hb, strict=True)
                )
                out.append(f"sun ≥ home battery first {_mark(ok)}")
        elif first.forecast == "wrong_sky":
            out.append(f"grid ≤ 0.3 {_mark(grid <= 0.3)}")
    else:
        limit = 0.35 if first.sky == "broken" else 0.1
        out.append(f"grid ≤ {limit} {_mark(grid <= limit)}")
        floor = {"clear": 0.93, "broken": 0.78}.get(first.sky)
        known = all(r.of_ceiling is not None for r in group)  # None: no export, nothing to capture
        if floor is not None and first.forecast != "none" and known:
            ceiling = min(round(r.of_ceiling or 0.0, 3) for r in group)
            out.append(f"≥ {floor:.0%} of ceiling {_mark(ceiling >= floor)}")
    if first.forecast == "none" and before is not None:
        old = [before.get(_key(r)) for r in group]
        if all(o is not None for o in old):
            ok = all(
                round(r.grid_caused_kwh, 2) <= round(o.grid_caused_kwh, 2)
                for r, o in zip(group, old, strict=True)
                if o
            )
            out.append(f"grid ≤ before {_mark(ok)}")
    out.append(f"relay ≤ {RELAY_PER_DAY} {_mark(relay <= RELAY_PER_DAY)}")
    return "; ".join(out)


def _versus_original(group: list[Row], index: dict[Key, Row]) -> str:
    """Seeds at least as good as the original on solar captured · grid caused · starts/stops + relay."""
    if group[0].strategy == "original":
        return ""
    pairs = [(r, index.get(_key(r, "original", "perfect"))) for r in group]
    pairs_known = [(r, o) for r, o in pairs if o is not None]
    if not pairs_known:
        return ""
    tests: list[Callable[[Row, Row], bool]] = [
        lambda r, o: round(r.captured, 3) >= round(o.captured, 3),
        lambda r, o: round(r.grid_caused_kwh, 2) <= round(o.grid_caused_kwh, 2),
        lambda r, o: r.switches <= o.switches,
    ]
    n = len(pairs_known)
    return " · ".join(f"{sum(t(r, o) for r, o in pairs_known)}/{n}" for t in tests)


def _groups(rows: list[Row]) -> dict[tuple[str, ...], list[Row]]:
    day_order = list(dict.fromkeys(r.day for r in rows))
    ordered = sorted(
        rows,
        key=lambda r: (
            day_order.index(r.day),
            BATTERY_ORDER.index(r.battery),
            STRATEGY_ORDER.index(r.strategy),
            FORECAST_ORDER.index(r.forecast),
            r.seed,
        ),
    )
    groups: dict[tuple[str, ...], list[Row]] = {}
    for r in ordered:
        groups.setdefault((r.day, r.battery, r.strategy, r.forecast), []).append(r)
    return groups


def print_pv_only(rows: list[Row], index: dict[Key, Row], before: dict[Key, Row] | None) -> None:
    print(
        "| day | home battery (at midnight) | strategy | forecast | solar captured | % of ceiling "
        "| grid caused kWh | starts/stops | relay switches | ≥ original (seeds) | Done when |"
    )
    print("|---|---|---|---|---:|---:|---:|---:|---:|---|---|")
    for (day, battery, strategy, forecast), group in _groups(rows).items():
        ceiling = "n/a"
        if battery == "none" and all(r.of_ceiling is not None for r in group):
            ceiling = _span((r.of_ceiling or 0.0 for r in group), "{:.1%}")
        at_midnight = (
            "" if battery == "none" else f" ({_span((r.battery_at_midnight_kwh for r in group), '{:.1f}')})"
        )
        name = f"**{strategy}**" if strategy == "tracking" else strategy
        print(
            f"| {day} | {BATTERY_LABEL[battery]}{at_midnight} | {name} | {forecast} "
            f"| {_span((r.captured for r in group), '{:.1%}')} | {ceiling} "
            f"| {_span((r.grid_caused_kwh for r in group), '{:.2f}')} "
            f"| {_span((r.starts_stops for r in group), '{:.0f}')} "
            f"| {_span((r.relay_switches for r in group), '{:.0f}')} "
            f"| {_versus_original(group, index)} | {checks(group, index, before)} |"
        )


def print_pv_all(rows: list[Row], index: dict[Key, Row]) -> None:
    print(
        "| day | home battery | strategy | starts/stops | relay switches | grid caused kWh | solar captured "
        "| Done when |"
    )
    print("|---|---|---|---:|---:|---:|---:|---|")
    for (day, battery, strategy, _), group in _groups(rows).items():
        name = f"**{strategy}**" if strategy == "tracking" else strategy
        print(
            f"| {day} | {BATTERY_LABEL[battery]} | {name} "
            f"| {_span((r.starts_stops for r in group), '{:.0f}')} "
            f"| {_span((r.relay_switches for r in group), '{:.0f}')} "
            f"| {_span((r.grid_caused_kwh for r in group), '{:.2f}')} "
            f"| {_span((r.captured for r in group), '{:.1%}')} | {checks(group, index, None)} |"
        )


def print_summary(rows: list[Row]) -> None:
    """Over all PV_ONLY scenarios (days x batteries x roofs, means over the seeds): sums per strategy and
    forecast against the original's, on the scenarios both ran."""
    means: dict[tuple[str, str], dict[tuple[str, str, str], tuple[float, float, float, int]]] = {}
    per: dict[tuple[str, str], dict[tuple[str, str, str], list[Row]]] = {}
    for r in rows:
        per.setdefault((r.strategy, r.forecast), {}).setdefault((r.day, r.roof, r.battery), []).append(r)
    for combo, scenarios in per.items():
        means[combo] = {
            s: (
                sum(r.captured for r in g) / len(g),
                sum(r.grid_caused_kwh for r in g) / len(g),
                sum(r.switches for r in g) / len(g),
                max(r.relay_switches for r in g),
            )
            for s, g in scenarios.items()
        }
    original = means.get(("original", "perfect"))
    if original is None:
        return
    print(
        "| over all scenarios | forecast | scenarios | solar captured (sum of shares) vs original "
        "| grid caused kWh, % of original | starts/stops + relay vs original | relay max a day | Done when |"
    )
    print("|---|---|---:|---|---|---|---:|---|")
    for strategy in STRATEGY_ORDER:
        for forecast in FORECAST_ORDER:
            ours = means.get((strategy, forecast))
            if ours is None:
                continue
            common = [s for s in ours if s in original]
            sums = [sum(ours[s][i] for s in common) for i in range(3)]
            ref = [sum(original[s][i] for s in common) for i in range(3)]
            relay = max(ours[s][3] for s in common)
            share = sums[1] / ref[1] if ref[1] else 0.0
            verdict = ""
            if strategy == "tracking" and forecast != "none":
                verdict = (
                    f"sun ≥ original {_mark(round(sums[0], 2) >= round(ref[0], 2))}; "
                    f"grid ≤ 25 % {_mark(share <= 0.25)}; switches ≤ original {_mark(sums[2] <= ref[2])}; "
                    f"relay ≤ {RELAY_PER_DAY} {_mark(relay <= RELAY_PER_DAY)}"
                )
            name = f"**{strategy}**" if strategy == "tracking" else strategy
            print(
                f"| {name} | {forecast} | {len(common)} | {sums[0]:.2f} vs {ref[0]:.2f} "
                f"| {sums[1]:.2f} vs {ref[1]:.2f} ({share:.0%}) | {sums[2]:.0f} vs {ref[2]:.0f} | {relay} "
                f"| {verdict} |"
            )


def print_report(rows: list[Row], before: list[Row] | None = None) -> None:
    index = {_key(r): r for r in rows}
    before_index = {_key(r): r for r in before} if before is not None else None
    for roof in dict.fromkeys(r.roof for r in rows):
        pv_only = [r for r in rows if r.roof == roof and r.mode == "PV_ONLY"]
        pv_all = [r for r in rows if r.roof == roof and r.mode == "PV_ALL"]
        print(f"\n### PV_ONLY, priority AUTO (home battery first: HOME_BATTERY), {roof} roof\n")
        print_pv_only(pv_only, index, before_index)
        if pv_all:
            print(f"\n### PV_ALL with a home battery, {roof} roof\n")
            print_pv_all(pv_all, index)
    print("\n### Over all PV_ONLY scenarios (means over the seeds, summed)\n")
    print_summary([r for r in rows if r.mode == "PV_ONLY"])
    bad = sum(r.violations for r in rows)
    if bad:
        print(f"\nRELAY SWITCHED UNDER LOAD {bad} times")
