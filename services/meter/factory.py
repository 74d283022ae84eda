"""Create the meter adapter named by the settings."""

from __future__ import annotations

from pvcontrol.settings import MeterSettings, SimulatedMeterConfig
from services.meter.device import Meter


def create_meter(config: MeterSettings) -> Meter:
    if isinstance(config, SimulatedMeterConfig):
        from services.meter.simulated import SimulatedMeter

        return SimulatedMeter(config)
    raise NotImplementedError(f"{config.type} is not implemented yet")
