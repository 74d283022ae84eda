"""Create the wallbox adapter named by the settings."""

from __future__ import annotations

from pvcontrol.settings import GoeWallboxConfig, SimulatedWallboxConfig, WallboxSettings
from services.wallbox.device import Wallbox


def create_wallbox(config: WallboxSettings) -> Wallbox:
    if isinstance(config, SimulatedWallboxConfig):
        from services.wallbox.simulated import SimulatedWallbox

        return SimulatedWallbox(config)
    if isinstance(config, GoeWallboxConfig):
        from services.wallbox.goe import GoeWallbox

        return GoeWallbox(config)
    raise NotImplementedError(f"{config.type} is not implemented yet")
