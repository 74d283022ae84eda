"""The `tariff` settings section: the config model of its `type`, found through the registry, so only the
configured type's module is imported."""

from __future__ import annotations

from typing import Annotated

from pydantic import PlainValidator, SerializeAsAny

from services.tariff.device import TariffBase
from services.tariff.registry import TARIFFS

TariffSettings = Annotated[SerializeAsAny[TariffBase], PlainValidator(TARIFFS.validate)]
