"""Forecast metrics."""

from prometheus_client import Gauge

from pvcontrol.models import ForecastData

ENERGY_TODAY_REMAINING = Gauge(
    "pvcontrol_forecast_energy_today_remaining_wh", "Forecast PV energy from now to local midnight"
)
ENERGY_TOMORROW = Gauge("pvcontrol_forecast_energy_tomorrow_wh", "Forecast PV energy tomorrow")
POWER = Gauge("pvcontrol_forecast_power_watts", "Forecast PV power of the current 15-minute period")
NOWCAST_FACTOR = Gauge("pvcontrol_forecast_nowcast_factor", "Measured / forecast PV over the nowcast window")
FALLBACK = Gauge("pvcontrol_forecast_fallback", "1 while ClearSky stands in for a failing source")
LAST_UPDATE = Gauge(
    "pvcontrol_forecast_last_update_timestamp_seconds", "When the source last answered (Unix s)"
)


def record(data: ForecastData, factor: float, fallback: bool) -> None:
    ENERGY_TODAY_REMAINING.set(data.energy_today_remaining)
    ENERGY_TOMORROW.set(data.energy_tomorrow)
    POWER.set(data.periods[0].power_pv if data.periods else 0.0)
    NOWCAST_FACTOR.set(factor)
    FALLBACK.set(1 if fallback else 0)
