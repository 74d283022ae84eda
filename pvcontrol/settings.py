"""The whole configuration: one section per service, each device type with its own options.

Sources, highest first: command line > `PVC_<SECTION>__<KEY>` environment > config file (JSON/YAML)
> defaults.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import (
    BaseModel,
    Field,
    PlainValidator,
    SecretStr,
    SerializeAsAny,
    field_validator,
    model_validator,
)
from pydantic_core.core_schema import ValidationInfo
from pydantic_settings import BaseSettings, EnvSettingsSource, SettingsConfigDict

from pvcontrol.section import Section
from services.car.device import CarBase
from services.car.registry import CARS
from services.forecast.device import ForecastBase
from services.forecast.registry import FORECASTS
from services.meter.device import MeterBase
from services.meter.registry import METERS
from services.relay.device import RelayBase
from services.relay.registry import RELAYS
from services.wallbox.device import WallboxBase
from services.wallbox.registry import WALLBOXES


class MqttSettings(Section):
    """Credentials: `username` overrides the URL's user; `password` (PVC_MQTT__PASSWORD) or `password_file`
    (not both) override the URL's password, so the password need not show in the process list. TLS is on
    with `mqtts://` or any of the certificate files."""

    url: str = "mqtt://localhost:1883"
    prefix: str = "pvcontrol"
    embedded_broker: bool = Field(
        default=True, description="`pvcontrol all` only: start a broker at `url` if none answers"
    )
    username: str | None = Field(default=None, min_length=1)
    password: SecretStr | None = None
    password_file: Path | None = Field(default=None, description="a file holding the password (stripped)")
    ca_file: Path | None = Field(default=None, description="PEM CA certificates that sign the broker's")
    client_cert: Path | None = Field(default=None, description="PEM client certificate (may hold the key)")
    client_key: Path | None = Field(default=None, description="PEM key of client_cert")

    @field_validator("password_file", "ca_file", "client_cert", "client_key")
    @classmethod
    def _readable_file(cls, path: Path | None) -> Path | None:
        if path is not None:
            try:
                with path.open("rb"):
                    pass
            except OSError as e:
                raise ValueError(f"cannot read {path}: {e.strerror}") from e
            if path.is_dir():
                raise ValueError(f"{path} is a directory")
        return path

    @model_validator(mode="after")
    def _consistent(self) -> MqttSettings:
        if self.password is not None and self.password_file is not None:
            raise ValueError("set mqtt.password or mqtt.password_file, not both")
        if self.client_key is not None and self.client_cert is None:
            raise ValueError("mqtt.client_key needs mqtt.client_cert")
        if self.password_file is not None and not self.read_password():
            raise ValueError(f"mqtt.password_file {self.password_file} is empty")
        if self.has_password() and not (self.username or urlsplit(self.url).username):
            raise ValueError("an MQTT password needs a user: mqtt.username or user@ in mqtt.url")
        return self

    def read_password(self) -> str | None:
        """The password of `password` or `password_file`, None if neither is set."""
        if self.password is not None:
            return self.password.get_secret_value()
        if self.password_file is not None:
            return self.password_file.read_text(encoding="utf-8").strip()
        return None

    def has_password(self) -> bool:
        return (
            self.password is not None or self.password_file is not None or bool(urlsplit(self.url).password)
        )

    @field_validator("url")
    @classmethod
    def _valid_url(cls, url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise ValueError("expected mqtt://[user:password@]host[:port] or mqtts://...")
        parts.port  # noqa: B018 - raises ValueError on a bad port
        return url

    @field_validator("prefix")
    @classmethod
    def _valid_prefix(cls, prefix: str) -> str:
        if not prefix or any(c in prefix for c in "#+") or prefix.startswith("/"):
            raise ValueError("must be a non-empty topic without wildcards or leading '/'")
        return prefix.rstrip("/")


# --- controller ----------------------------------------------------------------------------------


class ControllerSettings(Section):
    type: Literal["ChargeController"] = "ChargeController"
    metrics_port: int = Field(default=9105, ge=0, le=65535)
    cycle_time: float = Field(default=30.0, gt=0)
    enable_auto_phase_switching: bool = True
    enable_charging_when_connecting_car: Literal["OFF", "PV_ONLY", "PV_ALL", "MAX", "MANUAL"] = "OFF"
    line_voltage: float = Field(default=230.0, gt=0)
    current_rounding_offset: float = 0.1
    power_hysteresis: float = Field(default=200.0, ge=0)
    pv_all_min_power: float = Field(default=500.0, ge=0)
    pv_allow_charging_delay: float = Field(default=120.0, ge=0)
    unplug_off_delay: float = Field(default=300.0, ge=0)
    stale_after: float = Field(default=90.0, gt=0)
    restore_timeout: float = Field(
        default=2.0, ge=0, description="s to wait at start for the retained state that restores the settings"
    )
    prio_auto_soc_threshold: float = Field(default=50.0, ge=0, le=100)
    # `tracking` (the default): services/controller/tracking.py with these settings; `original`: CONTROL.md
    strategy: Literal["original", "tracking"] = "tracking"
    tracking_start_delay: float = Field(default=45.0, ge=0, description="s a surplus must last to start")
    tracking_stop_delay: float = Field(default=90.0, ge=0, description="s PV_ALL runs below its minimum")
    tracking_max_grid_time: float = Field(
        default=10.0, ge=0, description="s PV_ONLY may draw from the grid before it stops"
    )
    tracking_min_solar_share: float = Field(
        default=1.0,
        gt=0,
        le=1,
        description="PV_ONLY: share of the minimum from the sun",
    )
    tracking_tolerance: float = Field(default=100.0, ge=0, description="W of surplus a step up needs")
    tracking_phase_up_delay: float = Field(default=120.0, ge=0, description="s before 1 -> 3 phases")
    tracking_phase_down_delay: float = Field(default=60.0, ge=0, description="s before 3 -> 1 phases")
    tracking_phase_min_dwell: float = Field(default=600.0, ge=0, description="s between relay switches")
    tracking_phase_switches_per_day: int = Field(default=10, ge=0, description="relay switches in 24 h")
    tracking_pv_all_prio_auto_soc_threshold: float = Field(
        default=100.0, ge=0, le=100, description="PV_ALL, priority AUTO: home battery first below this SOC"
    )
    home_battery_capacity: float = Field(
        default=0.0, ge=0, description="Wh of the home battery; 0 = learn it from SOC and battery power"
    )
    home_battery_max_power: float = Field(
        default=0.0, ge=0, description="W the home battery charges at most; 0 = the highest seen"
    )
    home_battery_full_before_sunset: float = Field(
        default=3600.0,
        description="s: with a forecast the home battery is planned full this long before sunset",
    )
    forecast_margin: float = Field(
        default=0.9, gt=0, le=1, description="share of the forecast PV energy the plan counts on"
    )
    min_supported_current: int = Field(default=6, ge=1, le=32)
    max_supported_current: int = Field(default=16, ge=1, le=32)
    plant_power_limit: float = Field(
        default=50_000.0, gt=0, description="W; a reading with a larger |power| is implausible (ignored)"
    )
    # The car's goals (min_soc, limit_soc, plan) need to know the car:
    battery_capacity: float = Field(default=58.0, gt=0, le=500, description="kWh usable")
    charging_efficiency: float = Field(default=0.9, gt=0, le=1, description="share of charged energy stored")
    soc_stale_after: float = Field(default=86_400.0, gt=0, description="s; an older car SOC is not used")
    assumed_soc_without_car: float = Field(
        default=20.0, ge=0, le=100, description="% at plug-in when the car says nothing (NoCar, stale SOC)"
    )


# --- api -----------------------------------------------------------------------------------------


class ApiSettings(Section):
    type: Literal["Gateway"] = "Gateway"
    host: str = "0.0.0.0"  # noqa: S104 - a home server is reached from the phone on the LAN
    port: int = Field(default=8080, ge=0, le=65535)
    basehref: str = ""
    ui_dir: Path | None = Field(default=None, description="built UI; default: ui/dist/pvcontrol/browser")
    auth_token: SecretStr | None = Field(
        default=None, description="when set, every PUT needs `Authorization: Bearer <token>`"
    )
    auth_read: bool = Field(default=False, description="reads (GET, SSE) need the token too")

    @field_validator("auth_token")
    @classmethod
    def _empty_token_is_none(cls, token: SecretStr | None) -> SecretStr | None:
        return token if token is not None and token.get_secret_value() else None

    @field_validator("auth_read")
    @classmethod
    def _read_auth_needs_token(cls, auth_read: bool, info: ValidationInfo) -> bool:
        if auth_read and info.data.get("auth_token") is None:
            raise ValueError("needs api.auth_token")
        return auth_read


# --- history (kept by the gateway) -------------------------------------------------------------------


class HistorySettings(Section):
    """The charging sessions and power history file, `pvcontrol-history.sqlite` in `data_dir`."""

    data_dir: Path | None = Field(default=None, description="default: the config file's directory, else cwd")
    grid_price: float = Field(default=0.30, ge=0, allow_inf_nan=False, description="per kWh bought")
    feed_in_tariff: float = Field(
        default=0.08, ge=0, allow_inf_nan=False, description="per kWh sold (what solar would have earned)"
    )
    keep_samples_days: float = Field(default=7.0, gt=0, le=366, description="days of per-minute power kept")
    start_fresh_if_corrupt: bool = Field(
        default=False, description="set a corrupt file aside and start an empty one (else: no history)"
    )


# Each device section is the config model of its `type`, found through the kind's registry (services/<kind>/
# registry.py), so only the configured device's module is imported.
MeterSettings = Annotated[SerializeAsAny[MeterBase], PlainValidator(METERS.validate)]
WallboxSettings = Annotated[SerializeAsAny[WallboxBase], PlainValidator(WALLBOXES.validate)]
CarSettings = Annotated[SerializeAsAny[CarBase], PlainValidator(CARS.validate)]
RelaySettings = Annotated[SerializeAsAny[RelayBase], PlainValidator(RELAYS.validate)]
ForecastSettings = Annotated[SerializeAsAny[ForecastBase], PlainValidator(FORECASTS.validate)]


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


def public_config(section: BaseModel) -> dict[str, Any]:
    """The section as published on `P/<service>/config`: secrets removed."""
    return {
        name: value
        for name, value in section.model_dump(mode="json").items()
        if not isinstance(getattr(section, name), SecretStr)
    }


def __getattr__(name: str) -> Any:
    """Device config models moved next to their adapters; `from pvcontrol.settings import KostalMeterConfig`
    still works (it imports that device's module)."""
    for registry in (METERS, WALLBOXES, CARS, RELAYS, FORECASTS):
        for device in registry:
            if device.config == name:
                return registry.config_class(device.name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
