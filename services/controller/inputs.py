"""The readings the controller follows (meter, wallbox, car, relay, forecast, tariff, the wallbox's
phase switching) and whether they are fresh enough to plan with."""

from __future__ import annotations

import asyncio
import json

from pvcontrol.broker import BrokerAddress
from pvcontrol.models import CarData, ForecastData, MeterData, RelayData, TariffData, WallboxData
from pvcontrol.readings import TrustedReading
from pvcontrol.service import ConfiguredService
from pvcontrol.throttle import Episode
from pvcontrol.topics import Topics
from services.controller.battery_plan import FORECAST_MAX_AGE
from services.controller.cycle import Strategy
from services.controller.price_plan import usable_tariff
from services.controller.settings import ControllerSettings


class ControllerInputs(ConfiguredService[ControllerSettings]):
    """Subscribes to the readings; an implausible or invalid one replaces the last with None (stale)."""

    strategy: Strategy

    def __init__(self, config: ControllerSettings, broker: BrokerAddress, topics: Topics) -> None:
        super().__init__(config, broker, topics)
        self._fresh_meter = asyncio.Event()  # a strategy may cycle on every fresh meter reading
        limit = config.plant_power_limit
        self._meter_reading = TrustedReading(MeterData, "meter", self.log, limit)
        self._wallbox_reading = TrustedReading(WallboxData, "wallbox", self.log, limit)
        self._car_reading = TrustedReading(CarData, "car", self.log, limit)
        self._forecast_reading = TrustedReading(ForecastData, "forecast", self.log, limit)
        self._tariff_reading = TrustedReading(TariffData, "tariff", self.log, limit)
        self._stale_forecast = Episode(self.log, "forecast too old, planned without one")
        self._stale_tariff = Episode(self.log, "tariff prices too old or none ahead, planned without prices")
        self.meter: MeterData | None = None
        self.wallbox: WallboxData | None = None
        self.relay: RelayData | None = None
        self.native_phases = False  # the wallbox switches phases itself (its config: phase_switching native)
        self.car: CarData | None = None
        self.forecast: ForecastData | None = None
        self.tariff: TariffData | None = None
        self.link.on(topics.state("meter"), self._on_meter)
        self.link.on(topics.state("wallbox"), self._on_wallbox)
        self.link.on(topics.state("relay"), self._on_relay)
        self.link.on(topics.state("car"), self._on_car)
        self.link.on(topics.state("forecast"), self._on_forecast)
        self.link.on(topics.state("tariff"), self._on_tariff)
        self.link.on(topics.config("wallbox"), self._on_wallbox_config)

    @property
    def relay_enabled(self) -> bool:
        return self.relay is not None and self.relay.enabled

    @property
    def phases_switchable(self) -> bool:
        """By a phase relay, or by the wallbox itself: the law then decides phases."""
        return self.relay_enabled or self.native_phases

    async def _on_meter(self, payload: bytes) -> None:
        self.meter = self._meter_reading.receive(payload)
        if self.strategy.every_reading and self.meter is not None:
            self._fresh_meter.set()

    async def _on_wallbox(self, payload: bytes) -> None:
        self.wallbox = self._wallbox_reading.receive(payload)

    async def _on_wallbox_config(self, payload: bytes) -> None:
        try:
            config = json.loads(payload)
        except ValueError:
            return
        native = isinstance(config, dict) and config.get("phase_switching") == "native"
        if native != self.native_phases:
            self.log.info(
                "phases are switched by %s", "the wallbox itself" if native else "a phase relay, if any"
            )
        self.native_phases = native

    async def _on_car(self, payload: bytes) -> None:
        self.car = self._car_reading.receive(payload)

    async def _on_forecast(self, payload: bytes) -> None:
        self.forecast = self._forecast_reading.receive(payload)

    def _usable_forecast(self, at: float) -> ForecastData | None:
        """The latest valid forecast, None once it is older than the law plans with (logged once)."""
        if self.forecast is None:
            return None
        age = at - self.forecast.ts
        if age > FORECAST_MAX_AGE:
            self._stale_forecast.seen(f"published {age:.0f} s ago")
            return None
        self._stale_forecast.over()
        return self.forecast

    async def _on_tariff(self, payload: bytes) -> None:
        self.tariff = self._tariff_reading.receive(payload)

    def _usable_tariff(self, at: float) -> TariffData | None:
        """The latest valid prices, None once they are stale or cover nothing ahead (logged once)."""
        if self.tariff is None:
            return None
        tariff = usable_tariff(self.tariff, at)
        if tariff is None:
            self._stale_tariff.seen(f"published {at - self.tariff.ts:.0f} s ago")
            return None
        self._stale_tariff.over()
        return tariff

    async def _on_relay(self, payload: bytes) -> None:
        self.relay = self.parse_state(RelayData, payload, "relay") or self.relay
