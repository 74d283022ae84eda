"""Create the car adapter named by the settings."""

from __future__ import annotations

from services.car.device import Car, CarBase
from services.car.registry import CARS


def create_car(config: CarBase) -> Car:
    car: Car = CARS.create(config)
    return car
