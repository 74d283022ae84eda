"""Control quality: how well the control law charges a car from the sun over one simulated day.

The yardstick for changes to the control law (docs/CONTROL.md: an improvement must show here). The pure
law (`services.controller.law.control_cycle`) runs in-process every `cycle_time` against a simple plant:

- PV: the day profile of the simulated meter (`services/meter/simulated.py` `day_pv`), sunrise 6:00,
  sunset 18:00, peak `--pv-max`; with passing clouds or a clear sky;
- house load: the simulated meter's (500 W + up to 500 W, period 300 s); no home battery;
- car: always plugged in, takes whatever it is allowed: phases * max_current * 230 V while allow_charging,
  instant response; the phase relay switches at once while nothing flows;
- grid = house + car - PV, integrated every `--step` seconds.

Reported per mode (PV_ONLY, PV_ALL) and sky: energy charged and its split into PV surplus and grid (the
car's power up to the momentary surplus PV - house counts as PV), how much of the day's PV surplus went
into the car, the number of start/stop switches (allow_charging changes) and of phase switches.
Default controller settings; `--set key=value` changes one (e.g. `--set power_hysteresis=300`) to compare.

    .venv/bin/python bench/control_quality.py [--json] [--set KEY=VALUE ...]
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import asdict, dataclass, replace
from typing import Any

from pvcontrol.models import CarStatus, ChargeMode, MeterData, WallboxData, WbError
from pvcontrol.settings import ControllerSettings, SimulatedMeterConfig
from services.controller.law import LawInputs, control_cycle, initial_state
from services.meter.simulated import day_pv

DAY = 86_400.0
START = 1_767_225_600.0  # a fixed midnight; the law only uses differences of time


@dataclass
class Plant:
    """The house, the wallbox with the car and the phase relay; commands take effect at once."""

    line_voltage: float
    phases_in: int = 1
    max_current: int = 6
    allow: bool = False
    charged_wh: float = 0.0
    consumption_wh: float = 0.0
    consumption_grid_wh: float = 0.0

    def car_power(self) -> float:
        return self.phases_in * self.max_current * self.line_voltage if self.allow else 0.0


@dataclass
class Result:
    mode: str
    sky: str
    charged_kwh: float
    from_pv_kwh: float
    from_grid_kwh: float
    pv_share: float  # of the charged energy
    surplus_kwh: float  # PV above the house load over the day
    surplus_used: float  # share of that surplus that went into the car
    starts: int
    stops: int
    phase_switches: int


def house_load(meter: SimulatedMeterConfig, t: float) -> float:
    return meter.consumption_baseline + meter.consumption_variation * abs(
        math.sin(math.pi * t / meter.consumption_period)
    )


def simulate(
    mode: ChargeMode, clouds: bool, settings: ControllerSettings, pv_max: float, step: float
) -> Result:
    meter_config = SimulatedMeterConfig(
        profile="day", day_length=DAY, day_start_hour=0.0, pv_max=pv_max, clouds=clouds
    )
    plant = Plant(line_voltage=settings.line_voltage)
    state = replace(initial_state(settings), desired_mode=mode)
    from_pv = from_grid = surplus_total = 0.0
    starts = stops = phase_switches = 0
    next_cycle = 0.0
    hours = step / 3600
    for n in range(int(DAY / step)):
        t = n * step
        pv = day_pv(meter_config, t)
        house = house_load(meter_config, t)
        if t >= next_cycle:
            next_cycle += settings.cycle_time
            car = plant.car_power()
            grid = house + car - pv
            meter = MeterData(
                ts=START + t,
                power_pv=pv,
                power_consumption=house + car,
                power_grid=grid,
                energy_consumption=plant.consumption_wh,
                energy_consumption_grid=plant.consumption_grid_wh,
                energy_consumption_pv=plant.consumption_wh - plant.consumption_grid_wh,
            )
            wallbox = WallboxData(
                ts=START + t,
                wb_error=WbError.OK,
                car_status=CarStatus.Charging if car > 0 else CarStatus.WaitingForVehicle,
                max_current=plant.max_current,
                allow_charging=plant.allow,
                phases_in=plant.phases_in,
                phases_out=plant.phases_in if car > 0 else 0,
                power=car,
                charged_energy=plant.charged_wh,
            )
            result = control_cycle(state, settings, LawInputs(meter, wallbox, True, START + t))
            state = result.state
            commands = result.commands
            if commands.phases is not None and commands.phases != plant.phases_in:
                phase_switches += 1
                plant.phases_in = commands.phases
            if commands.max_current is not None:
                plant.max_current = commands.max_current
            if commands.allow_charging is not None and commands.allow_charging != plant.allow:
                starts += commands.allow_charging
                stops += not commands.allow_charging
                plant.allow = commands.allow_charging
        car = plant.car_power()
        surplus = max(pv - house, 0.0)
        car_pv = min(car, surplus)
        from_pv += car_pv * hours
        from_grid += (car - car_pv) * hours
        surplus_total += surplus * hours
        plant.charged_wh += car * hours
        plant.consumption_wh += (house + car) * hours
        plant.consumption_grid_wh += max(house + car - pv, 0.0) * hours
    charged = from_pv + from_grid
    return Result(
        mode=mode.value,
        sky="clouds" if clouds else "clear",
        charged_kwh=charged / 1000,
        from_pv_kwh=from_pv / 1000,
        from_grid_kwh=from_grid / 1000,
        pv_share=from_pv / charged if charged else 0.0,
        surplus_kwh=surplus_total / 1000,
        surplus_used=from_pv / surplus_total if surplus_total else 0.0,
        starts=starts,
        stops=stops,
        phase_switches=phase_switches,
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
    parser.add_argument("--pv-max", type=float, default=7000.0, help="PV peak in W (default 7000)")
    parser.add_argument("--step", type=float, default=5.0, help="plant integration step in s (default 5)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="controller setting")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    settings = ControllerSettings.model_validate(parse_overrides(args.set))

    results = [
        simulate(mode, clouds, settings, args.pv_max, args.step)
        for mode in (ChargeMode.PV_ONLY, ChargeMode.PV_ALL)
        for clouds in (True, False)
    ]
    if args.json:
        print(json.dumps([asdict(r) for r in results], indent=2))
        return

    changed = ", ".join(f"{k}={v}" for k, v in parse_overrides(args.set).items()) or "defaults"
    print(f"## control quality: one simulated day, PV peak {args.pv_max:g} W, controller settings: {changed}")
    print()
    print(
        "| mode | sky | charged kWh | from PV kWh | from grid kWh | PV share | PV surplus kWh | surplus used "
        "| starts / stops | phase switches |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(
            f"| {r.mode} | {r.sky} | {r.charged_kwh:.2f} | {r.from_pv_kwh:.2f} | {r.from_grid_kwh:.2f} "
            f"| {r.pv_share:.1%} | {r.surplus_kwh:.2f} | {r.surplus_used:.1%} | {r.starts} / {r.stops} "
            f"| {r.phase_switches} |"
        )


if __name__ == "__main__":
    main()
