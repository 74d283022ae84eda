"""MQTT topic names of the public interface (CONTRACT.md section 1)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ServiceName = Literal["meter", "wallbox", "car", "relay", "controller", "forecast", "tariff", "api"]


@dataclass(frozen=True)
class Topics:
    prefix: str = "pvcontrol"

    def status(self, service: ServiceName) -> str:
        return f"{self.prefix}/{service}/status"

    def state(self, service: ServiceName) -> str:
        return f"{self.prefix}/{service}/state"

    def config(self, service: ServiceName) -> str:
        return f"{self.prefix}/{service}/config"

    def error(self, service: ServiceName) -> str:
        return f"{self.prefix}/{service}/error"

    def command(self, service: ServiceName, name: str) -> str:
        return f"{self.prefix}/{service}/{name}/set"

    @property
    def whole_state(self) -> str:
        return f"{self.prefix}/state"
