"""When to ask the car maker's cloud for the state of charge, and what to say in between.

Every cloud call can wake the car (and drain its 12 V battery), so the car service asks only when the
answer matters: when the car is plugged in, when charging starts or stops, and every `poll_interval`
while it charges — never while it is unplugged. In between, the SOC is estimated from the energy the
wallbox has charged since the last real reading. Failures back off exponentially up to 30 minutes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pvcontrol.models import CarData, CarStatus, WallboxData

BACKOFF_CAP = 1800.0


@dataclass
class PollSchedule:
    interval: float  # s between polls while charging; also the first back-off step
    clock: Callable[[], float]
    plugged: bool = False
    charging: bool = False
    next_at: float | None = None  # None: no poll wanted
    failures: int = 0

    def on_wallbox(self, wallbox: WallboxData) -> None:
        if wallbox.error:
            return  # a repeated old reading says nothing new about the plug
        plugged = wallbox.car_status != CarStatus.NoVehicle
        charging = wallbox.car_status == CarStatus.Charging or wallbox.power > 0
        if not plugged:
            self.next_at, self.failures = None, 0
        elif not self.plugged or charging != self.charging:
            self.next_at, self.failures = self.clock(), 0  # plugged in, or charging started/stopped
        self.plugged, self.charging = plugged, charging

    def due(self) -> bool:
        return self.plugged and self.next_at is not None and self.clock() >= self.next_at

    def succeeded(self) -> None:
        self.failures = 0
        self.next_at = self.clock() + self.interval if self.charging else None

    def failed(self) -> float:
        """Record a failed poll; the seconds until the next try."""
        self.failures += 1
        delay = min(self.interval * 2.0 ** (self.failures - 1), BACKOFF_CAP)
        self.next_at = self.clock() + delay
        return delay


@dataclass
class SocEstimate:
    """SOC = last real reading + what the wallbox charged since, times the charging efficiency."""

    capacity_wh: float
    efficiency: float
    reading: CarData | None = None
    charged_at_reading: float = 0.0

    def real(self, reading: CarData, charged_energy: float) -> None:
        self.reading, self.charged_at_reading = reading, charged_energy

    def estimate(self, charged_energy: float) -> float | None:
        if self.reading is None:
            return None
        if charged_energy < self.charged_at_reading:
            self.charged_at_reading = 0.0  # the wallbox started a new session count
        added = (charged_energy - self.charged_at_reading) * self.efficiency / self.capacity_wh * 100
        return min(100.0, self.reading.soc + added)
