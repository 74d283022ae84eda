"""Create the meter adapter named by the settings."""

from __future__ import annotations

from services.meter.device import Meter, MeterBase
from services.meter.registry import METERS


def create_meter(config: MeterBase) -> Meter:
    meter: Meter = METERS.create(config)
    return meter
