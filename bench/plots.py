"""One PNG per scenario: PV, house, car, battery, grid and battery SOC over the day, one panel per run."""

from __future__ import annotations

from pathlib import Path

import matplotlib  # type: ignore[import-not-found, unused-ignore]

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # type: ignore[import-not-found, unused-ignore]

from bench.day import STEP
from bench.plant import Trace

MINUTE = int(60 / STEP)


def _per_minute(values: list[float]) -> list[float]:
    return [sum(values[i : i + MINUTE]) / MINUTE for i in range(0, len(values), MINUTE)]


def plot_scenario(title: str, panels: list[tuple[str, Trace]], path: Path) -> None:
    fig, axes = plt.subplots(len(panels), 1, figsize=(11, 2.6 * len(panels)), sharex=True, squeeze=False)
    hours = [i / 60 for i in range(1440)]
    for ax, (label, trace) in zip(axes[:, 0], panels, strict=True):
        ax.fill_between(hours, _per_minute(trace.pv), color="#f6c343", alpha=0.45, label="PV")
        ax.plot(hours, _per_minute(trace.house), color="#555555", lw=0.8, label="house")
        ax.plot(hours, _per_minute(trace.car), color="#1f77b4", lw=1.2, label="car")
        ax.plot(hours, _per_minute(trace.battery), color="#2ca02c", lw=0.8, label="battery (+ discharge)")
        ax.plot(hours, _per_minute(trace.grid), color="#d62728", lw=0.8, label="grid (+ import)")
        ax.axhline(0, color="black", lw=0.4)
        ax.set_ylabel("W")
        if any(trace.soc):
            soc = ax.twinx()
            soc.plot(hours, _per_minute(trace.soc), color="#9467bd", lw=1.4, ls="--", label="battery SOC")
            soc.set_ylim(0, 100)
            soc.set_ylabel("SOC %", fontsize=8)
            soc.legend(loc="upper right", fontsize=7)
        ax.set_title(label, fontsize=9, loc="left")
        ax.set_xlim(4, 22)
        ax.grid(alpha=0.3)
    axes[0, 0].legend(loc="upper left", fontsize=7, ncol=5)
    axes[-1, 0].set_xlabel("hour of the day (per-minute means)")
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)
