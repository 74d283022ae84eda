"""The `car` settings section: the config model of its `type`, found through the registry, so only the
configured device's module is imported."""

from __future__ import annotations

from typing import Annotated

from pydantic import PlainValidator, SerializeAsAny

from services.car.device import CarBase
from services.car.registry import CARS

CarSettings = Annotated[SerializeAsAny[CarBase], PlainValidator(CARS.validate)]
