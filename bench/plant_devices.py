"""The devices of the house around the controller: the home battery, the wallbox with the car, the
phase relay.

The battery answers at once (as a hybrid inverter does within a second); the car draws what the wallbox
allows one reading later (it follows a command after ~5 s); the relay switches as the relay service
does, only once the wallbox has been idle `idle_settle` s (15).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bench.day import STEP
from services.relay.device import RelayBase

RELAY_IDLE_SETTLE = RelayBase.model_fields["idle_settle"].default

HOURS = STEP / 3600


@dataclass(frozen=True)
class BatterySpec:
    """A home battery: usable capacity (Wh), power limit (W) and its energy at midnight (Wh)."""

    capacity_wh: float
    max_power: float
    soc_wh: float = 0.0

    @property
    def label(self) -> str:
        return f"{self.capacity_wh / 1000:g} kWh / {self.max_power / 1000:g} kW"


@dataclass
class Battery:
    capacity_wh: float
    max_power: float = 3000.0
    soc_wh: float = 0.0

    def power_for(self, balance: float) -> float:
        """Battery power (+ discharging) that evens out `balance` = PV - load, within its limits."""
        if self.capacity_wh <= 0:
            return 0.0
        if balance > 0:
            return -min(balance, self.max_power, (self.capacity_wh - self.soc_wh) / HOURS)
        return min(-balance, self.max_power, self.soc_wh / HOURS)

    @property
    def soc(self) -> float:
        return 100 * self.soc_wh / self.capacity_wh if self.capacity_wh > 0 else 0.0


@dataclass
class Wallbox:
    allow: bool = False
    max_current: int = 6
    phases: int = 1
    car_power: float = 0.0  # what the car draws now: the settings of one reading ago
    charged_wh: float = 0.0

    def setting_power(self, voltage: float) -> float:
        return self.phases * self.max_current * voltage if self.allow else 0.0


@dataclass
class Relay:
    """The relay service's interlock: a switch only once the car has drawn nothing for `settle` s; a
    command that comes sooner waits for that, and is refused if the car draws current meanwhile."""

    settle: float = RELAY_IDLE_SETTLE
    busy_at: float = -math.inf  # the last reading with the car drawing current
    pending: int | None = None
    due: float = 0.0

    def observe(self, car_power: float, now: float) -> None:
        if car_power > 0:
            self.busy_at = now

    def command(self, phases: int, now: float) -> int | None:
        """The phases to switch to now, if any; a later switch is kept pending."""
        self.pending = None  # the newest command wins
        due = self.busy_at + self.settle
        if now >= due:
            return phases
        self.pending, self.due = phases, due
        return None

    def due_switch(self, now: float) -> int | None:
        if self.pending is None or now < self.due:
            return None
        phases, self.pending = self.pending, None
        return phases if self.busy_at + self.settle <= now else None


def battery_for(spec: BatterySpec | None) -> Battery:
    if spec is None:
        return Battery(0.0)
    return Battery(spec.capacity_wh, spec.max_power, spec.soc_wh)
