"""The `wallbox` settings section: the config model of its `type`, found through the registry, so only the
configured device's module is imported."""

from __future__ import annotations

from typing import Annotated

from pydantic import PlainValidator, SerializeAsAny

from services.wallbox.device import WallboxBase
from services.wallbox.registry import WALLBOXES

WallboxSettings = Annotated[SerializeAsAny[WallboxBase], PlainValidator(WALLBOXES.validate)]
