"""Every car type: its `type` name, the module with its config model and adapter, one line about it."""

from __future__ import annotations

from pvcontrol.registry import DeviceType, Registry
from services.car.device import CarBase

CARS = Registry(
    "car",
    CarBase,
    default="SimulatedCar",
    devices=[
        DeviceType(
            "SimulatedCar",
            "services.car.simulated",
            "SimulatedCarConfig",
            "SimulatedCar",
            "a simulated car whose SOC follows the charged energy",
            simulated=True,
        ),
        DeviceType("NoCar", "services.car.simulated", "NoCarConfig", "NoCar", "no car data at all"),
        DeviceType(
            "WallboxCar",
            "services.car.wallbox_car",
            "WallboxCarConfig",
            "WallboxCar",
            "no car API: SOC unknown, the session's energy from the wallbox (for unsupported brands)",
        ),
        DeviceType(
            "VolkswagenIDCar",
            "services.car.carconnectivity",
            "VolkswagenIDCarConfig",
            "VolkswagenIDCar",
            "Volkswagen We Connect ID cloud (carconnectivity)",
        ),
        DeviceType(
            "SkodaCar",
            "services.car.carconnectivity",
            "SkodaCarConfig",
            "SkodaCar",
            "Škoda public API with the MyŠkoda app's key (carconnectivity)",
        ),
        DeviceType(
            "MqttCar",
            "services.car.mqtt_car",
            "MqttCarConfig",
            "MqttCar",
            "SOC (and range, mileage) from MQTT topics: an OBD dongle, Home Assistant, ...",
        ),
    ],
)
