"""A simulated house: PV, base load plus the car, and a home battery that evens out the difference."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Literal

from pydantic import Field

from pvcontrol.models import MeterData, WallboxData
from services.meter.device import Meter, MeterBase
from services.meter.flows import meter_data_from_flows


class SimulatedMeterConfig(MeterBase):
    type: Literal["SimulatedMeter"] = "SimulatedMeter"
    profile: Literal["sine", "day"] = "sine"
    pv_max: float = Field(default=3000.0, ge=0)
    pv_period: float = Field(default=600.0, gt=0, description="s, sine profile")
    consumption_baseline: float = Field(default=500.0, ge=0)
    consumption_variation: float = Field(default=500.0, ge=0)
    consumption_period: float = Field(default=300.0, gt=0)
    battery_max_power: float = Field(default=1000.0, ge=0)
    battery_capacity: float = Field(default=833.0, gt=0, description="Wh")
    battery_initial_soc: float = Field(default=50.0, ge=0, le=100)
    day_length: float = Field(default=3600.0, gt=0, description="s of one simulated day, day profile")
    day_start_hour: float = Field(default=8.0, ge=0, lt=24, description="day profile: the hour it starts at")
    clouds: bool = Field(default=True, description="day profile: passing clouds")


def sine_pv(config: SimulatedMeterConfig, t: float) -> float:
    """|sin| bumps of `pv_period` seconds each."""
    return config.pv_max * abs(math.sin(math.pi * t / config.pv_period))


def day_pv(config: SimulatedMeterConfig, t: float) -> float:
    """A bell curve from sunrise (25 % of the day) to sunset (75 %), dimmed by passing clouds."""
    phase = (t / config.day_length + config.day_start_hour / 24) % 1.0
    if not 0.25 < phase < 0.75:
        return 0.0
    sun = math.sin(math.pi * (phase - 0.25) / 0.5) ** 2
    if not config.clouds:
        return config.pv_max * sun
    # Two slow waves whose product now and then dips deep: a cloud passes for a few minutes of sim time.
    cover = max(0.0, math.sin(2 * math.pi * phase * 7.0) * math.sin(2 * math.pi * phase * 3.3))
    return config.pv_max * sun * (1.0 - 0.7 * cover)


class SimulatedMeter(Meter):
    def __init__(self, config: SimulatedMeterConfig, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self._clock = clock
        self._start = clock()
        self._last_read: float | None = None
        self._car_power = 0.0
        self._soc = config.battery_initial_soc
        self._energy = 0.0
        self._energy_grid = 0.0
        self._energy_pv = 0.0

    def on_wallbox_state(self, wallbox: WallboxData) -> None:
        self._car_power = wallbox.power

    def _pv(self, t: float) -> float:
        return day_pv(self.config, t) if self.config.profile == "day" else sine_pv(self.config, t)

    def _house(self, t: float) -> float:
        c = self.config
        return c.consumption_baseline + c.consumption_variation * abs(
            math.sin(math.pi * t / c.consumption_period)
        )

    def _battery(self, surplus: float) -> float:
        """Battery power (+ discharge) that absorbs a surplus or covers a deficit, within its limits."""
        c = self.config
        if surplus > 0 and self._soc < 100:
            return -min(surplus, c.battery_max_power)
        if surplus < 0 and self._soc > 0:
            return min(-surplus, c.battery_max_power)
        return 0.0

    async def read(self) -> MeterData:
        ts = self._clock()
        t = ts - self._start
        pv = round(self._pv(t), 1)
        consumption = round(self._house(t) + self._car_power, 1)
        battery = round(self._battery(pv - consumption), 1)
        grid = round(consumption - pv - battery, 1)
        hours = 0.0 if self._last_read is None else (ts - self._last_read) / 3600
        self._last_read = ts
        self._soc = min(100.0, max(0.0, self._soc - battery * hours / self.config.battery_capacity * 100))
        self._energy += consumption * hours
        self._energy_grid += max(grid, 0.0) * hours
        self._energy_pv += (consumption - max(grid, 0.0)) * hours
        # The model starts from the consumption and derives the grid from it.
        return meter_data_from_flows(
            pv,
            grid,
            battery,
            round(self._soc, 1),
            consumption=consumption,
            energy_grid=round(self._energy_grid, 3),
            energy_pv=round(self._energy_pv, 3),
            energy=round(self._energy, 3),
            ts=ts,
        )
