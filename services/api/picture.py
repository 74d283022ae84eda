"""The gateway's view of the system: the latest state, status and config of every service."""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from pvcontrol import __version__
from pvcontrol.models import (
    CarData,
    ControllerData,
    ForecastData,
    MeterData,
    RelayData,
    StateDocument,
    TariffData,
    TariffPeriod,
    WallboxData,
)
from pvcontrol.topics import ServiceName
from services.api.history.pricing import tariff_problem
from services.api.liveness import LivenessTracker

DEVICE_SERVICES: tuple[ServiceName, ...] = ("controller", "meter", "wallbox", "relay", "car")
# Shown by GET /api/pvcontrol/<service> and the live (SSE) document, not in the original's whole document.
EXTRA_SERVICES: tuple[ServiceName, ...] = ("forecast", "tariff")
STATE_MODELS: dict[str, type[StateDocument]] = {
    "controller": ControllerData,
    "meter": MeterData,
    "wallbox": WallboxData,
    "relay": RelayData,
    "car": CarData,
    "forecast": ForecastData,
    "tariff": TariffData,
}
NEVER_RECEIVED_ERROR = 1


def live_forecast(forecast: ForecastData) -> dict[str, Any]:
    """The forecast for the live document, its periods cut at today's sunset (the UI draws the rest of
    today): a few KB on every event instead of up to 14 KB. GET /api/pvcontrol/forecast has them all."""
    until = forecast.sunset if forecast.sunset is not None else forecast.ts + 86400.0
    periods = [p for p in forecast.periods if p.start < until]
    return forecast.model_copy(update={"periods": periods}).model_dump(mode="json")


def live_tariff(tariff: TariffData) -> dict[str, Any]:
    """The prices for the live document, neighbouring periods of the same prices as one (a fixed or
    time-of-use tariff's day is a few periods, not 96). GET /api/pvcontrol/tariff has them as published."""
    periods: list[TariffPeriod] = []
    for period in tariff.periods:
        if periods and _goes_on(periods[-1], period):
            periods[-1] = periods[-1].model_copy(update={"end": period.end})
        else:
            periods.append(period)
    return tariff.model_copy(update={"periods": periods}).model_dump(mode="json")


def _goes_on(last: TariffPeriod, period: TariffPeriod) -> bool:
    """`period` follows `last` without a gap, at the same prices."""
    same_prices = (last.grid_price, last.feed_in) == (period.grid_price, period.feed_in)
    return last.end == period.start and same_prices


class Picture:
    def __init__(self) -> None:
        self.states: dict[str, StateDocument] = {}
        self.status: dict[str, str] = {}
        self.configs: dict[str, dict[str, Any]] = {}
        self.broker_connected = False
        self.liveness = LivenessTracker()

    def connection_changed(self, connected: bool) -> None:
        self.broker_connected = connected
        self.liveness.reconnected()

    def update_state(self, service: str, payload: bytes) -> bool:
        """Store a state document; False if it is not valid (it is then ignored)."""
        try:
            state = STATE_MODELS[service].model_validate_json(payload)
        except ValidationError:
            self.liveness.state_received(service, None)
            return False
        if isinstance(state, TariffData) and tariff_problem(state) is not None:
            self.liveness.state_received(service, None)
            return False
        self.liveness.state_received(service, state.ts)
        self.states[service] = state
        return True

    def update_status(self, service: str, payload: bytes) -> None:
        self.status[service] = payload.decode("utf-8", errors="replace")
        self.liveness.status_received(service, self.status[service])

    def update_config(self, service: str, payload: bytes) -> bool:
        try:
            config = json.loads(payload)
        except ValueError:
            return False
        if not isinstance(config, dict):
            return False
        self.configs[service] = config
        self.liveness.config_received(service, config)
        return True

    def state(self, service: str) -> StateDocument:
        """The latest state, or the defaults with `error` > 0 when none was ever received."""
        return self.states.get(service) or STATE_MODELS[service](error=NEVER_RECEIVED_ERROR)

    def is_online(self, service: str) -> bool:
        return self.liveness.liveness(service) == "online"

    def command_refusal(self, service: str) -> str | None:
        """Why a command to `service` would not arrive now, or None when it would."""
        if not self.broker_connected:
            return "the gateway is not connected to the MQTT broker"
        return self.liveness.reason(service)

    def status_document(self) -> dict[str, str]:
        """Each service's liveness as the UI shows it (`unknown` counts as offline there)."""
        status: dict[str, str] = {s: self.liveness.liveness(s) for s in DEVICE_SERVICES}
        status["api"] = "online" if self.broker_connected else "offline"  # the gateway's broker link
        return status

    def config_type(self, service: str) -> str:
        return str(self.configs.get(service, {}).get("type", ""))

    def document(self) -> dict[str, Any]:
        """The GET /api/pvcontrol document, as in the original, and as retained at `P/state`."""
        doc: dict[str, Any] = {"version": __version__}
        for service in DEVICE_SERVICES:
            doc[service] = self.state(service).model_dump(mode="json")
        return doc

    def live_document(self) -> dict[str, Any]:
        """The document plus what the UI needs beyond the original: who is online, today's energy."""
        doc = self.document()
        doc["status"] = self.status_document()
        controller = self.state("controller")
        assert isinstance(controller, ControllerData)
        doc["energy_today"] = {"pv": controller.energy_today_pv, "grid": controller.energy_today_grid}
        forecast = self.states.get("forecast")
        doc["forecast"] = live_forecast(forecast) if isinstance(forecast, ForecastData) else None
        tariff = self.states.get("tariff")
        doc["tariff"] = live_tariff(tariff) if isinstance(tariff, TariffData) else None
        return doc

    def service_document(self, service: str) -> dict[str, Any]:
        return {
            "type": self.config_type(service),
            "config": self.configs.get(service, {}),
            "data": self.state(service).model_dump(mode="json"),
        }
