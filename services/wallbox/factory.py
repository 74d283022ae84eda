"""Create the wallbox adapter named by the settings."""

from __future__ import annotations

from services.wallbox.device import Wallbox, WallboxBase
from services.wallbox.registry import WALLBOXES


def create_wallbox(config: WallboxBase) -> Wallbox:
    wallbox: Wallbox = WALLBOXES.create(config)
    return wallbox
