"""Create the wallbox adapter named by the settings."""

from __future__ import annotations

from pvcontrol.settings import SimulatedWallboxConfig, WallboxSettings
from services.wallbox.device import Wallbox


def create_wallbox(config: WallboxSettings) -> Wallbox:
    if isinstance(config, SimulatedWallboxConfig):
        from services.wallbox.simulated import SimulatedWallbox

        return SimulatedWallbox(config)
    raise NotImplementedError(f"{config.type} is not implemented yet")
