"""Every meter type: its `type` name, the module with its config model and adapter, one line about it."""

from __future__ import annotations

from pvcontrol.registry import DeviceType, Registry
from services.meter.device import MeterBase

METERS = Registry(
    "meter",
    MeterBase,
    default="SimulatedMeter",
    devices=[
        DeviceType(
            "SimulatedMeter",
            "services.meter.simulated",
            "SimulatedMeterConfig",
            "SimulatedMeter",
            "a simulated house: PV, base load, the car, a home battery",
            simulated=True,
        ),
        DeviceType(
            "KostalMeter",
            "services.meter.kostal",
            "KostalMeterConfig",
            "KostalMeter",
            "Kostal Plenticore, Modbus TCP",
        ),
        DeviceType(
            "SolarWattMeter",
            "services.meter.solarwatt",
            "SolarWattMeterConfig",
            "SolarWattMeter",
            "SolarWatt Manager / Energy Manager, HTTP",
        ),
        DeviceType(
            "SmaTripowerMeter",
            "services.meter.sma",
            "SmaTripowerMeterConfig",
            "SmaTripowerMeter",
            "SMA Sunny Tripower with Energy Meter / Home Manager, WebConnect HTTPS",
        ),
        DeviceType(
            "FroniusMeter",
            "services.meter.fronius",
            "FroniusMeterConfig",
            "FroniusMeter",
            "Fronius Solar API v1, HTTP",
        ),
        DeviceType(
            "SunSpecMeter",
            "services.meter.sunspec",
            "SunSpecMeterConfig",
            "SunSpecMeter",
            "any SunSpec Modbus TCP inverter, meter and battery (models 1, 101-103, 111-113, 201-204, 802)",
        ),
        DeviceType(
            "MqttMeter",
            "services.meter.mqtt_meter",
            "MqttMeterConfig",
            "MqttMeter",
            "values from MQTT topics (Tasmota SML, OpenDTU, Shelly, Home Assistant, ...)",
        ),
        DeviceType(
            "ShellyMeter",
            "services.meter.shelly",
            "ShellyMeterConfig",
            "ShellyMeter",
            "Shelly Pro 3EM / Pro EM / EM Gen3 at the grid point, Gen2 RPC over HTTP",
        ),
    ],
)
