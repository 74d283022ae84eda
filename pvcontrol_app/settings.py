"""The whole configuration: one section per service, each device type with its own options.

Sources, highest first: command line > `PVC_<SECTION>__<KEY>` environment > config file (JSON/YAML)
> defaults.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field
from pydantic_settings import BaseSettings, EnvSettingsSource, SettingsConfigDict

from pvcontrol.settings import MqttSettings
from services.api.settings import ApiSettings, HistorySettings
from services.car.registry import CARS
from services.car.settings import CarSettings
from services.controller.settings import ControllerSettings
from services.forecast.registry import FORECASTS
from services.forecast.settings import ForecastSettings
from services.meter.registry import METERS
from services.meter.settings import MeterSettings
from services.relay.registry import RELAYS
from services.relay.settings import RelaySettings
from services.tariff.registry import TARIFFS
from services.tariff.settings import TariffSettings
from services.wallbox.registry import WALLBOXES
from services.wallbox.settings import WallboxSettings


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="PVC_", env_nested_delimiter="__", case_sensitive=False, extra="forbid"
    )

    mqtt: MqttSettings = MqttSettings()
    meter: MeterSettings = Field(default_factory=METERS.default_config)
    wallbox: WallboxSettings = Field(default_factory=WALLBOXES.default_config)
    car: CarSettings = Field(default_factory=CARS.default_config)
    relay: RelaySettings = Field(default_factory=RELAYS.default_config)
    controller: ControllerSettings = ControllerSettings()
    forecast: ForecastSettings = Field(default_factory=FORECASTS.default_config)
    tariff: TariffSettings = Field(default_factory=TARIFFS.default_config)
    api: ApiSettings = ApiSettings()
    history: HistorySettings = HistorySettings()


class ConfigFileError(ValueError):
    pass


def read_config_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigFileError(f"cannot read config file {path}: {e.strerror}") from e
    except UnicodeDecodeError as e:
        raise ConfigFileError(f"config file {path} is not UTF-8 text: {e.reason} at byte {e.start}") from e
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as e:
        # YAML errors span several lines (with a caret under the bad spot): one line is enough.
        reason = " ".join(str(e).split())
        raise ConfigFileError(f"config file {path} is not valid JSON/YAML: {reason}") from e
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigFileError(f"config file {path} must hold a mapping of sections")
    return data


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def load_settings(config_file: Path | None, overrides: dict[str, Any]) -> Settings:
    """Merge defaults < file < environment < command line and validate the result.

    Raises `ConfigFileError` or pydantic's `ValidationError`, naming the bad setting.
    """
    file_data = read_config_file(config_file) if config_file else {}
    env_data = EnvSettingsSource(Settings)()
    merged = _deep_merge(_deep_merge(file_data, env_data), overrides)
    return Settings.model_validate(merged)
