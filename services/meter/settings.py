"""The `meter` settings section: the config model of its `type`, found through the registry, so only the
configured device's module is imported."""

from __future__ import annotations

from typing import Annotated

from pydantic import PlainValidator, SerializeAsAny

from services.meter.device import MeterBase
from services.meter.registry import METERS

MeterSettings = Annotated[SerializeAsAny[MeterBase], PlainValidator(METERS.validate)]
