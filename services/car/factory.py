"""Create the car adapter named by the settings."""

from __future__ import annotations

from pvcontrol.settings import (
    CarSettings,
    NoCarConfig,
    SimulatedCarConfig,
    SkodaCarConfig,
    VolkswagenIDCarConfig,
)
from services.car.device import Car


def create_car(config: CarSettings) -> Car:
    if isinstance(config, SimulatedCarConfig):
        from services.car.simulated import SimulatedCar

        return SimulatedCar(config)
    if isinstance(config, NoCarConfig):
        from services.car.simulated import NoCar

        return NoCar()
    if isinstance(config, VolkswagenIDCarConfig):
        from services.car.carconnectivity import VolkswagenIDCar

        return VolkswagenIDCar(config)
    if isinstance(config, SkodaCarConfig):
        from services.car.carconnectivity import SkodaCar

        return SkodaCar(config)
    raise NotImplementedError(f"{config.type} is not implemented yet")
