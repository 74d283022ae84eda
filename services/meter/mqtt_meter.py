"""Any meter that publishes its values over MQTT: Tasmota (SML smart-meter readers), Shelly, OpenDTU, Home
Assistant's MQTT statestream, ... Each value comes from its own topic, a JSON path into the payload
(or the payload itself, a plain number) and a scale (e.g. 1000 for kWh -> Wh, -1 to flip the sign).

A value older than `stale_after` s, or never received, makes the read fail: the meter service then keeps
the last data and, after a few failures, publishes stale zeros so the controller stops PV charging.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Literal

from pydantic import Field, SecretStr, field_validator

from pvcontrol.models import MeterData
from pvcontrol.mqtt_values import MqttValue, MqttValues, broker_address, mqtt_url
from services.meter.device import Meter, MeterBase
from services.meter.flows import meter_data_from_flows

log = logging.getLogger("pvcontrol.meter.mqtt")
FIELDS = (
    "power_grid",
    "power_pv",
    "power_battery",
    "soc_battery",
    "energy_consumption",
    "energy_consumption_grid",
    "energy_consumption_pv",
)


class MqttMeterConfig(MeterBase):
    type: Literal["MqttMeter"] = "MqttMeter"
    url: str = Field(default="mqtt://localhost:1883", description="the broker the meter publishes to")
    username: str | None = None
    password: SecretStr | None = None
    stale_after: float = Field(default=60.0, gt=0, description="s; an older value fails the read")
    power_grid: MqttValue = Field(description="W, + import / - feed-in")
    power_pv: MqttValue | None = None
    power_battery: MqttValue | None = Field(default=None, description="W, + discharge / - charge")
    soc_battery: MqttValue | None = None
    energy_consumption: MqttValue | None = None
    energy_consumption_grid: MqttValue | None = None
    energy_consumption_pv: MqttValue | None = None

    _url = field_validator("url")(mqtt_url)

    def values(self) -> dict[str, MqttValue]:
        return {name: value for name in FIELDS if (value := getattr(self, name)) is not None}


class MqttMeter(Meter):
    def __init__(self, config: MqttMeterConfig, clock: Callable[[], float] = time.monotonic) -> None:
        password = config.password.get_secret_value() if config.password else None
        broker = broker_address(config.url, config.username, password)
        self.values = MqttValues(broker, config.values(), config.stale_after, "MQTT meter", log, clock)

    async def read(self) -> MeterData:
        values = await self.values.values()
        return meter_data_from_flows(
            values.get("power_pv", 0.0),
            values["power_grid"],
            values.get("power_battery", 0.0),
            values.get("soc_battery", 0.0),
            energy_grid=values.get("energy_consumption_grid", 0.0),
            energy_pv=values.get("energy_consumption_pv", 0.0),
            energy=values.get("energy_consumption", 0.0),  # only as published: a missing one stays 0
        )

    async def close(self) -> None:
        await self.values.close()
