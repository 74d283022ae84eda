"""Every forecast type: its `type` name, the module with its config model and adapter, one line about it."""

from __future__ import annotations

from pvcontrol.registry import DeviceType, Registry
from services.forecast.device import ForecastBase

FORECASTS = Registry(
    "forecast",
    ForecastBase,
    default="ClearSky",
    devices=[
        DeviceType(
            "ClearSky",
            "services.forecast.clearsky",
            "ClearSkyConfig",
            "ClearSky",
            "the roof under a cloudless sky (pvlib), no internet",
        ),
        DeviceType(
            "OpenMeteo",
            "services.forecast.openmeteo",
            "OpenMeteoConfig",
            "OpenMeteo",
            "Open-Meteo's global tilted irradiance per plane, free, no key",
        ),
        DeviceType(
            "ForecastSolar",
            "services.forecast.forecastsolar",
            "ForecastSolarConfig",
            "ForecastSolar",
            "Forecast.Solar estimate per plane (free: 12 calls an hour)",
        ),
        DeviceType(
            "Solcast",
            "services.forecast.solcast",
            "SolcastConfig",
            "Solcast",
            "Solcast rooftop sites (free: 10 calls a day)",
        ),
    ],
)
