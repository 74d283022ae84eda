"""The phase relay on a Raspberry Pi: a Waveshare RPi Relay Board (active low) on one GPIO pin."""

from __future__ import annotations

import importlib
import logging
from types import ModuleType
from typing import Literal

from pydantic import Field

from services.relay.device import PhaseRelay, RelayBase

log = logging.getLogger(__name__)


class RaspiPhaseRelayConfig(RelayBase):
    type: Literal["RaspiPhaseRelay"] = "RaspiPhaseRelay"
    phase_relay_type: Literal["NO", "NC"] = "NO"
    pin: int = Field(default=26, ge=0, le=27, description="BCM pin; Waveshare CH1=26, CH2=20, CH3=21")
    installed_on_host: str | None = None


class RaspiPhaseRelay(PhaseRelay):
    """`phase_relay_type` NO: energised = 3 phases; NC: energised = 1 phase."""

    def __init__(self, config: RaspiPhaseRelayConfig, gpio: ModuleType | None = None) -> None:
        # RPi.GPIO only installs on a Pi: imported here, when a RaspiPhaseRelay is configured.
        self._gpio = gpio or importlib.import_module("RPi.GPIO")
        self._pin = config.pin
        self._type = config.phase_relay_type
        self._gpio.setwarnings(False)
        self._gpio.setmode(self._gpio.BCM)
        if self._gpio.gpio_function(self._pin) == self._gpio.OUT:
            # A restarted service must not switch the relay: keep what the pin drives.
            log.info("relay pin %d is already an output, energised=%s", self._pin, self.is_energised())
        else:
            self._gpio.setup(self._pin, self._gpio.OUT, initial=self._gpio.HIGH)
            log.info("relay pin %d set up as output, relay off", self._pin)

    @property
    def enabled(self) -> bool:
        return True

    def is_energised(self) -> bool:
        return bool(self._gpio.input(self._pin) == self._gpio.LOW)

    def phases(self) -> int:
        return 3 if self.is_energised() == (self._type == "NO") else 1

    def set_phases(self, phases: int) -> None:
        energise = (phases == 3) == (self._type == "NO")
        self._gpio.output(self._pin, self._gpio.LOW if energise else self._gpio.HIGH)

    def close(self) -> None:
        """No GPIO.cleanup(): it would turn the pin into an input and the board would release the relay."""
