"""Tariff metrics."""

from prometheus_client import Gauge

from pvcontrol.models import TariffData

GRID_PRICE = Gauge("pvcontrol_tariff_grid_price", "Grid price per kWh of the current period, as paid")
FEED_IN = Gauge("pvcontrol_tariff_feed_in", "Feed-in price per kWh of the current period")
PERIODS = Gauge("pvcontrol_tariff_periods", "Periods with a known price, from the current one on")
FALLBACK = Gauge("pvcontrol_tariff_fallback", "1 while Fixed stands in for a failing source")
LAST_UPDATE = Gauge(
    "pvcontrol_tariff_last_update_timestamp_seconds", "When the source last answered (Unix s)"
)


def record(data: TariffData, fallback: bool) -> None:
    current = data.periods[0] if data.periods else None
    GRID_PRICE.set(current.grid_price if current else float("nan"))
    FEED_IN.set(current.feed_in if current else float("nan"))
    PERIODS.set(len(data.periods))
    FALLBACK.set(1 if fallback else 0)
