"""Power history for the live chart: meter and wallbox readings averaged per minute."""

from __future__ import annotations

from dataclasses import dataclass, field

from services.api.history.store import PowerSample

SAMPLE_SECONDS = 60


@dataclass
class MinuteAverages:
    """Adds readings up; yields the average of a minute once a reading of the next minute arrives."""

    minute: int | None = None
    sums: list[float] = field(default_factory=lambda: [0.0] * 5)
    count: int = 0
    car_power: float = 0.0

    def add(
        self, ts: float, pv: float, grid: float, battery: float, consumption: float
    ) -> PowerSample | None:
        minute = int(ts // SAMPLE_SECONDS) * SAMPLE_SECONDS
        done = None
        if self.minute is not None and minute != self.minute and self.count:
            done = PowerSample(self.minute, *(round(s / self.count, 1) for s in self.sums))
            self.sums, self.count = [0.0] * 5, 0
        self.minute = minute
        for i, value in enumerate((pv, grid, battery, consumption, self.car_power)):
            self.sums[i] += value
        self.count += 1
        return done
