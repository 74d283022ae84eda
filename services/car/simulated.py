"""A simulated car whose battery fills with what the wallbox charges, and a stand-in for no car."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Literal

from pydantic import Field

from pvcontrol.models import CarData, WallboxData
from services.car.device import Car, CarBase


class NoCarConfig(CarBase):
    type: Literal["NoCar"] = "NoCar"


class SimulatedCarConfig(CarBase):
    type: Literal["SimulatedCar"] = "SimulatedCar"
    poll_interval: float = Field(default=5.0, gt=0)
    initial_soc: float = Field(default=50.0, ge=0, le=100)
    wh_per_percent: float = Field(default=580.0, gt=0)
    range_at_full: float = Field(default=400.0, ge=0, description="km")


class SimulatedCar(Car):
    def __init__(self, config: SimulatedCarConfig, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self._clock = clock
        self._soc = config.initial_soc
        self._last_charged: float | None = None
        self._mileage = 12345.0

    def on_wallbox_state(self, wallbox: WallboxData) -> None:
        charged = wallbox.charged_energy
        if self._last_charged is not None and charged > self._last_charged:
            added = (charged - self._last_charged) / self.config.wh_per_percent
            self._soc = min(100.0, self._soc + added)
        self._last_charged = charged

    async def read(self) -> CarData:
        ts = self._clock()
        return CarData(
            ts=ts,
            soc=round(self._soc, 1),
            cruising_range=round(self._soc / 100 * self.config.range_at_full),
            mileage=self._mileage,
            data_captured_at=datetime.fromtimestamp(ts, UTC).isoformat(),
        )


class NoCar(Car):
    def __init__(self, config: NoCarConfig | None = None, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock

    async def read(self) -> CarData:
        return CarData(ts=self._clock(), soc_known=False)
