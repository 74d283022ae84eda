"""The `forecast` settings section: the config model of its `type`, found through the registry, so only the
configured device's module is imported."""

from __future__ import annotations

from typing import Annotated

from pydantic import PlainValidator, SerializeAsAny

from services.forecast.device import ForecastBase
from services.forecast.registry import FORECASTS

ForecastSettings = Annotated[SerializeAsAny[ForecastBase], PlainValidator(FORECASTS.validate)]
