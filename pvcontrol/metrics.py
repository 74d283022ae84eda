"""Metrics every service shares, and serving them on a service's own port."""

from __future__ import annotations

import logging

from prometheus_client import Counter, Gauge, start_http_server

MQTT_MESSAGES = Counter(
    "pvcontrol_mqtt_messages", "MQTT messages sent and received", ["service", "direction"]
)
MQTT_CONNECTED = Gauge("pvcontrol_mqtt_connected", "1 while connected to the broker", ["service"])
ERRORS = Gauge("pvcontrol_error", "Consecutive read failures of the service's device", ["service"])


def serve_metrics(port: int, logger: logging.Logger) -> None:
    """Serve /metrics on `port` (0 = off). A port in use is logged once; the service keeps running."""
    if port == 0:
        return
    try:
        start_http_server(port)
    except OSError as e:
        logger.warning("metrics port %d not available (%s); metrics endpoint disabled", port, e.strerror)
    else:
        logger.info("metrics on port %d", port)
