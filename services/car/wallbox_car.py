"""A car nothing can be asked about: no cloud, no dongle. Its SOC is unknown (`soc_known` false); what it
reports is the energy charged in the wallbox's current session, as the wallbox counts it (reset at
plug-in by the wallbox). The recommended type for a car brand pv-control has no adapter for."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Literal

from pydantic import Field

from pvcontrol.device import DeviceError
from pvcontrol.models import CarData, WallboxData
from pvcontrol.plausibility import problem
from services.car.device import Car, CarBase

log = logging.getLogger("pvcontrol.car.wallbox")


class WallboxCarConfig(CarBase):
    type: Literal["WallboxCar"] = "WallboxCar"
    poll_interval: float = Field(default=5.0, gt=0, description="s between publishing the session energy")
    stale_after: float = Field(
        default=60.0, gt=0, description="s without a good wallbox state before the car reports an error"
    )


class WallboxCar(Car):
    def __init__(
        self,
        config: WallboxCarConfig,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self._clock = clock
        self._monotonic = monotonic
        self._session_energy: float | None = None
        self._received_at: float | None = None
        self._problem: str | None = None

    def on_wallbox_state(self, wallbox: WallboxData) -> None:
        found = _problem(wallbox, self._clock())
        if found != self._problem:
            if found is not None:
                log.warning("wallbox state not used for the session energy: %s", found)
            elif self._problem is not None:
                log.info("wallbox state usable again")
            self._problem = found
        if found is None:
            self._session_energy = wallbox.charged_energy
            self._received_at = self._monotonic()

    async def read(self) -> CarData:
        if self._received_at is not None:
            age = self._monotonic() - self._received_at
            if age > self.config.stale_after:
                raise DeviceError(f"WallboxCar: no good wallbox state for {age:.0f} s")
        return CarData(ts=self._clock(), soc_known=False, session_energy=self._session_energy)


def _problem(wallbox: WallboxData, now: float) -> str | None:
    if wallbox.error:
        return f"the wallbox reports {wallbox.error} failed reads"
    return problem(wallbox, now)
