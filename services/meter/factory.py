"""Create the meter adapter named by the settings."""

from __future__ import annotations

from pvcontrol.settings import (
    FroniusMeterConfig,
    KostalMeterConfig,
    MeterSettings,
    SimulatedMeterConfig,
    SmaTripowerMeterConfig,
    SolarWattMeterConfig,
)
from services.meter.device import Meter


def create_meter(config: MeterSettings) -> Meter:
    if isinstance(config, SimulatedMeterConfig):
        from services.meter.simulated import SimulatedMeter

        return SimulatedMeter(config)
    if isinstance(config, KostalMeterConfig):
        from services.meter.kostal import KostalMeter

        return KostalMeter(config)
    if isinstance(config, SolarWattMeterConfig):
        from services.meter.solarwatt import SolarWattMeter

        return SolarWattMeter(config)
    if isinstance(config, SmaTripowerMeterConfig):
        from services.meter.sma import SmaTripowerMeter

        return SmaTripowerMeter(config)
    if isinstance(config, FroniusMeterConfig):
        from services.meter.fronius import FroniusMeter

        return FroniusMeter(config)
    raise NotImplementedError(f"{config.type} is not implemented yet")
