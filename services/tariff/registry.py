"""Every tariff type: its `type` name, the module with its config model and adapter, one line about it."""

from __future__ import annotations

from pvcontrol.registry import DeviceType, Registry
from services.tariff.device import TariffBase

TARIFFS = Registry(
    "tariff",
    TariffBase,
    default="Fixed",
    devices=[
        DeviceType(
            "Fixed",
            "services.tariff.fixed",
            "FixedConfig",
            "Fixed",
            "one grid price at all times (no internet)",
        ),
        DeviceType(
            "TimeOfUse",
            "services.tariff.timeofuse",
            "TimeOfUseConfig",
            "TimeOfUse",
            "a weekly table of grid prices (no internet)",
        ),
        DeviceType(
            "Awattar",
            "services.tariff.awattar",
            "AwattarConfig",
            "Awattar",
            "aWATTar's day-ahead market prices, DE and AT, free, no key",
        ),
        DeviceType(
            "Tibber",
            "services.tariff.tibber",
            "TibberConfig",
            "Tibber",
            "your Tibber subscription's prices (token)",
        ),
        DeviceType(
            "Entsoe",
            "services.tariff.entsoe",
            "EntsoeConfig",
            "Entsoe",
            "ENTSO-E day-ahead prices of a bidding zone (free token)",
        ),
        DeviceType(
            "OctopusAgile",
            "services.tariff.octopus",
            "OctopusAgileConfig",
            "OctopusAgile",
            "Octopus Energy Agile (UK), half-hourly",
        ),
    ],
)
