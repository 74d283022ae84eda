"""A simulated charger that obeys its commands and charges a car while allowed and plugged in."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

from pydantic import Field, computed_field, field_validator

from pvcontrol.device import DeviceError
from pvcontrol.models import CarStatus, RelayData, WallboxData, WbError
from services.wallbox.device import Wallbox, WallboxBase

PLUGGED_IN = (CarStatus.Charging, CarStatus.WaitingForVehicle)


class SimulatedWallboxConfig(WallboxBase):
    type: Literal["SimulatedWallbox"] = "SimulatedWallbox"
    phase_switching: Literal["none", "native"] = "none"
    phases: int = Field(default=3, description="phases_in without a relay (at start, with native)")
    line_voltage: float = 230.0
    car_status: int = Field(default=3, ge=1, le=4, description="initial car_status (3: plugged in)")

    @field_validator("phases")
    @classmethod
    def _one_or_three(cls, phases: int) -> int:
        if phases not in (1, 3):
            raise ValueError("must be 1 or 3")
        return phases

    @computed_field  # type: ignore[prop-decorator]
    @property
    def car_status_settable(self) -> bool:
        return True


class SimulatedWallboxWithRelayConfig(SimulatedWallboxConfig):
    type: Literal["SimulatedWallboxWithRelay"] = "SimulatedWallboxWithRelay"  # type: ignore[assignment]
    phase_switching: Literal["relay"] = "relay"  # type: ignore[assignment]


class SimulatedWallbox(Wallbox):
    def __init__(self, config: SimulatedWallboxConfig, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self._clock = clock
        self._follows_relay = isinstance(config, SimulatedWallboxWithRelayConfig)
        self._native = config.phase_switching == "native"
        self._phases_in = config.phases
        self._max_current = config.min_supported_current
        self._allow = False
        self._car_status = CarStatus(config.car_status)
        self._charged = 0.0
        self._total = 0.0
        self._last_update = clock()

    def _charging(self) -> bool:
        return self._allow and self._car_status in PLUGGED_IN and self._phases_in > 0

    def _power(self) -> float:
        return self._phases_in * self._max_current * self.config.line_voltage if self._charging() else 0.0

    def _advance(self) -> None:
        """Integrate the energy charged since the last change, before anything changes."""
        ts = self._clock()
        energy = self._power() * (ts - self._last_update) / 3600
        self._charged += energy
        self._total += energy
        self._last_update = ts

    async def read(self) -> WallboxData:
        self._advance()
        charging = self._charging()
        status = self._car_status
        if status in PLUGGED_IN:
            status = CarStatus.Charging if charging else CarStatus.WaitingForVehicle
        return WallboxData(
            ts=self._last_update,
            wb_error=WbError.OK,
            car_status=status,
            max_current=self._max_current,
            allow_charging=self._allow,
            phases_in=self._phases_in,
            phases_out=self._phases_in if charging else 0,
            power=self._power(),
            charged_energy=round(self._charged, 3),
            total_energy=round(self._total, 3),
            temperature=22.0 + self._power() / 1000,
        )

    async def set_max_current(self, amperes: int) -> None:
        self._advance()
        self._max_current = amperes

    async def allow_charging(self, allowed: bool) -> None:
        self._advance()
        self._allow = allowed

    async def reset(self) -> None:
        self._advance()

    def on_relay_state(self, relay: RelayData) -> None:
        if self._follows_relay and relay.enabled and relay.phases in (1, 3):
            self._advance()
            self._phases_in = relay.phases

    async def set_phases(self, phases: int) -> None:
        if not self._native:
            raise DeviceError("this simulated wallbox has fixed phases (phase_switching none)")
        if self._power() > 0:
            # As a real contactor must not: the service pauses charging and waits for no current first.
            raise DeviceError("refusing to switch phases under load")
        self._advance()
        self._phases_in = phases

    def set_car_status(self, status: CarStatus) -> None:
        self._advance()
        if status == CarStatus.NoVehicle:
            self._charged = 0.0
        self._car_status = status
