"""Speed of the pure control law: `control_cycle` calls per second over a simulated day.

A day of inputs is recorded first, in a closed loop with the simulated devices of `pvcontrol all`
(SimulatedMeter's sine profile, SimulatedWallboxWithRelay, SimulatedPhaseRelay) on a fake clock, with the
law's commands applied at once: PV_ONLY in the morning, PV_ALL in the afternoon. Then only the law is timed:
each repetition replays the recorded (state, inputs) pairs through `control_cycle`, timeit-style (garbage
collection off), and the median of the repetitions is reported.

    .venv/bin/python bench/control_law.py [--repeat 7] [--days 3]
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import statistics
import timeit
from collections import Counter
from dataclasses import replace

from pvcontrol.models import ChargeMode, RelayData
from services.controller.law import LawInputs, LawState, control_cycle, initial_state
from services.controller.settings import ControllerSettings
from services.meter.simulated import SimulatedMeter, SimulatedMeterConfig
from services.relay.simulated import SimulatedPhaseRelay, SimulatedPhaseRelayConfig
from services.wallbox.simulated import SimulatedWallbox, SimulatedWallboxWithRelayConfig

DAY = 86_400.0
START = 1_767_225_600.0  # 2026-01-01T00:00:00Z: any fixed time, the devices only use differences
PV_MAX = 7000.0  # W, as ./scripts/start.sh: enough sun for 3-phase charging, so phase switching is exercised


class FakeClock:
    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


async def record_day(settings: ControllerSettings) -> tuple[list[tuple[LawState, LawInputs]], Counter[str]]:
    """One simulated day of (state, inputs) pairs as the controller would see them, and what it sent."""
    clock = FakeClock(START)
    meter = SimulatedMeter(SimulatedMeterConfig(pv_max=PV_MAX), clock=clock)
    wallbox = SimulatedWallbox(SimulatedWallboxWithRelayConfig(), clock=clock)
    relay = SimulatedPhaseRelay(SimulatedPhaseRelayConfig())
    wallbox.on_relay_state(RelayData(ts=clock(), enabled=True, phases=relay.phases()))
    state = replace(initial_state(settings), desired_mode=ChargeMode.PV_ONLY)
    sent: Counter[str] = Counter()
    recorded: list[tuple[LawState, LawInputs]] = []
    cycles = int(DAY / settings.cycle_time)
    for n in range(cycles):
        clock.now = START + n * settings.cycle_time
        if n == cycles // 2:
            state = replace(state, desired_mode=ChargeMode.PV_ALL)
        wb = await wallbox.read()
        meter.on_wallbox_state(wb)
        inputs = LawInputs(meter=await meter.read(), wallbox=wb, relay_enabled=True, now=clock())
        recorded.append((state, inputs))
        result = control_cycle(state, settings, inputs)
        state = result.state
        commands = result.commands
        if commands.reset_wallbox:
            sent["reset"] += 1
            await wallbox.reset()
        if commands.phases is not None:
            sent["phases"] += 1
            relay.set_phases(commands.phases)
            wallbox.on_relay_state(RelayData(ts=clock(), enabled=True, phases=relay.phases()))
        if commands.max_current is not None:
            sent["max_current"] += 1
            await wallbox.set_max_current(commands.max_current)
        if commands.allow_charging is not None:
            sent["allow_charging"] += 1
            await wallbox.allow_charging(commands.allow_charging)
    return recorded, sent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=7, help="repetitions; the median is reported")
    parser.add_argument("--days", type=int, default=3, help="replays of the recorded day per repetition")
    args = parser.parse_args()

    settings = ControllerSettings()
    recorded, sent = asyncio.run(record_day(settings))

    def replay() -> None:
        for state, inputs in recorded:
            control_cycle(state, settings, inputs)

    replay()  # warm-up
    times = timeit.Timer(replay).repeat(repeat=args.repeat, number=args.days)
    cycles = len(recorded) * args.days
    rates = sorted(cycles / t for t in times)
    median = statistics.median(rates)

    python = f"{platform.python_implementation()} {platform.python_version()}"
    print(f"## control law: `control_cycle` speed ({python})")
    print()
    print(
        f"One simulated day = {len(recorded)} cycles of {settings.cycle_time:g} s "
        f"(sine PV up to {PV_MAX:g} W, PV_ONLY then PV_ALL); commands sent: "
        + ", ".join(f"{k} {v}" for k, v in sorted(sent.items()))
        + f". {args.repeat} repetitions of {args.days} days each."
    )
    print()
    print("| metric | value |")
    print("|---|---|")
    print(f"| cycles per second (median) | {median:,.0f} |")
    print(f"| cycles per second (min / max) | {rates[0]:,.0f} / {rates[-1]:,.0f} |")
    print(f"| time per cycle (median) | {1e6 / median:.1f} µs |")
    print(f"| one simulated day (median) | {len(recorded) / median * 1000:.1f} ms |")


if __name__ == "__main__":
    main()
