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
    ConfigDict,
    Discriminator,
    Field,
    SecretStr,
    Tag,
    field_validator,
    model_validator,
)
from pydantic_core.core_schema import ValidationInfo
from pydantic_settings import BaseSettings, EnvSettingsSource, SettingsConfigDict


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


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


# --- meter ---------------------------------------------------------------------------------------


class MeterBase(Section):
    poll_interval: float = Field(default=5.0, gt=0)
    metrics_port: int = Field(default=9101, ge=0, le=65535)


class SimulatedMeterConfig(MeterBase):
    type: Literal["SimulatedMeter"] = "SimulatedMeter"
    profile: Literal["sine", "day"] = "sine"
    pv_max: float = Field(default=3000.0, ge=0)
    pv_period: float = Field(default=600.0, gt=0, description="s, sine profile")
    consumption_baseline: float = Field(default=500.0, ge=0)
    consumption_variation: float = Field(default=500.0, ge=0)
    consumption_period: float = Field(default=300.0, gt=0)
    battery_max_power: float = Field(default=1000.0, ge=0)
    battery_capacity: float = Field(default=833.0, gt=0, description="Wh")
    battery_initial_soc: float = Field(default=50.0, ge=0, le=100)
    day_length: float = Field(default=3600.0, gt=0, description="s of one simulated day, day profile")
    day_start_hour: float = Field(default=8.0, ge=0, lt=24, description="day profile: the hour it starts at")
    clouds: bool = Field(default=True, description="day profile: passing clouds")


class KostalMeterConfig(MeterBase):
    type: Literal["KostalMeter"] = "KostalMeter"
    host: str
    port: int = Field(default=1502, ge=1, le=65535)
    unit_id: int = Field(default=71, ge=0, le=255)
    word_order: Literal["big", "little"] = "big"
    timeout: float = Field(default=5.0, gt=0)


class SolarWattMeterConfig(MeterBase):
    type: Literal["SolarWattMeter"] = "SolarWattMeter"
    url: str
    location_guid: str
    timeout: float = Field(default=5.0, gt=0)


class SmaTripowerMeterConfig(MeterBase):
    type: Literal["SmaTripowerMeter"] = "SmaTripowerMeter"
    url: str
    user: Literal["user", "installer"] = "user"
    password: SecretStr
    verify_ssl: bool = False
    timeout: float = Field(default=5.0, gt=0)


class FroniusMeterConfig(MeterBase):
    type: Literal["FroniusMeter"] = "FroniusMeter"
    url: str
    timeout: float = Field(default=5.0, gt=0)


# --- wallbox -------------------------------------------------------------------------------------


class WallboxBase(Section):
    poll_interval: float = Field(default=5.0, gt=0)
    metrics_port: int = Field(default=9102, ge=0, le=65535)
    min_supported_current: int = Field(default=6, ge=1, le=32)
    max_supported_current: int = Field(default=16, ge=1, le=32)
    switch_phases_reset_delay: float = Field(default=2.0, ge=0)
    controller_timeout: float = Field(
        default=120.0, gt=0, description="s without controller state in a PV mode until charging stops"
    )


class SimulatedWallboxConfig(WallboxBase):
    type: Literal["SimulatedWallbox"] = "SimulatedWallbox"
    phases: int = Field(default=3, description="phases_in without a relay")
    line_voltage: float = 230.0
    car_status: int = Field(default=3, ge=1, le=4, description="initial car_status (3: plugged in)")

    @field_validator("phases")
    @classmethod
    def _one_or_three(cls, phases: int) -> int:
        if phases not in (1, 3):
            raise ValueError("must be 1 or 3")
        return phases


class SimulatedWallboxWithRelayConfig(SimulatedWallboxConfig):
    type: Literal["SimulatedWallboxWithRelay"] = "SimulatedWallboxWithRelay"  # type: ignore[assignment]


class GoeWallboxConfig(WallboxBase):
    type: Literal["GoeWallbox"] = "GoeWallbox"
    url: str
    api_version: Literal["auto", "v1", "v2"] = "auto"
    timeout: float = Field(default=5.0, gt=0)


# --- car -----------------------------------------------------------------------------------------


class CarBase(Section):
    poll_interval: float = Field(default=300.0, gt=0, description="s; cloud cars: only while charging")
    metrics_port: int = Field(default=9103, ge=0, le=65535)
    battery_capacity: float = Field(default=58.0, gt=0, description="kWh usable, for the SOC estimate")
    charging_efficiency: float = Field(default=0.9, gt=0, le=1, description="share of charged energy stored")


class NoCarConfig(CarBase):
    type: Literal["NoCar"] = "NoCar"


class SimulatedCarConfig(CarBase):
    type: Literal["SimulatedCar"] = "SimulatedCar"
    poll_interval: float = Field(default=5.0, gt=0)
    initial_soc: float = Field(default=50.0, ge=0, le=100)
    wh_per_percent: float = Field(default=580.0, gt=0)
    range_at_full: float = Field(default=400.0, ge=0, description="km")


class VolkswagenIDCarConfig(CarBase):
    type: Literal["VolkswagenIDCar"] = "VolkswagenIDCar"
    user: str
    password: SecretStr
    vin: str


class SkodaCarConfig(CarBase):
    """Škoda's public API (carconnectivity-connector-skoda 0.13) takes the MyŠkoda app's API key, no login."""

    type: Literal["SkodaCar"] = "SkodaCar"
    api_key: SecretStr
    vin: str


# --- relay ---------------------------------------------------------------------------------------


class RelayBase(Section):
    metrics_port: int = Field(default=9104, ge=0, le=65535)
    stale_after: float = Field(default=90.0, gt=0, description="s; older wallbox data blocks switching")
    idle_settle: float = Field(
        default=15.0, ge=0, description="s the wallbox must have reported no load (>= 2 wallbox polls)"
    )
    plant_power_limit: float = Field(default=50_000.0, gt=0, description="W; more is implausible")
    publish_interval: float = Field(default=30.0, gt=0)


class DisabledPhaseRelayConfig(RelayBase):
    type: Literal["DisabledPhaseRelay"] = "DisabledPhaseRelay"


class SimulatedPhaseRelayConfig(RelayBase):
    type: Literal["SimulatedPhaseRelay"] = "SimulatedPhaseRelay"
    phase_relay_type: Literal["NO", "NC"] = "NO"


class RaspiPhaseRelayConfig(RelayBase):
    type: Literal["RaspiPhaseRelay"] = "RaspiPhaseRelay"
    phase_relay_type: Literal["NO", "NC"] = "NO"
    pin: int = Field(default=26, ge=0, le=27, description="BCM pin; Waveshare CH1=26, CH2=20, CH3=21")
    installed_on_host: str | None = None


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
    prio_auto_soc_threshold: float = Field(default=50.0, ge=0, le=100)
    # `original`: docs/CONTROL.md exactly; `tracking`: services/controller/tracking.py with these settings
    strategy: Literal["original", "tracking"] = "original"
    tracking_start_delay: float = Field(default=60.0, ge=0, description="s a surplus must last to start")
    tracking_stop_delay: float = Field(default=90.0, ge=0, description="s PV_ALL runs below its minimum")
    tracking_max_grid_time: float = Field(
        default=10.0, ge=0, description="s PV_ONLY may draw from the grid before it stops"
    )
    tracking_tolerance: float = Field(default=100.0, ge=0, description="W of surplus a step up needs")
    tracking_phase_up_delay: float = Field(default=120.0, ge=0, description="s before 1 -> 3 phases")
    tracking_phase_down_delay: float = Field(default=60.0, ge=0, description="s before 3 -> 1 phases")
    tracking_phase_min_dwell: float = Field(default=600.0, ge=0, description="s between relay switches")
    tracking_phase_switches_per_day: int = Field(default=10, ge=0, description="relay switches in 24 h")
    tracking_pv_all_prio_auto_soc_threshold: float = Field(
        default=100.0, ge=0, le=100, description="PV_ALL, priority AUTO: home battery first below this SOC"
    )
    min_supported_current: int = Field(default=6, ge=1, le=32)
    max_supported_current: int = Field(default=16, ge=1, le=32)
    plant_power_limit: float = Field(
        default=50_000.0, gt=0, description="W; a reading with a larger |power| is implausible (ignored)"
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


def _type_of(default: str) -> Any:
    def discriminate(value: Any) -> str:
        if isinstance(value, dict):
            return str(value.get("type", default))
        return str(getattr(value, "type", default))

    return discriminate


MeterSettings = Annotated[
    Annotated[SimulatedMeterConfig, Tag("SimulatedMeter")]
    | Annotated[KostalMeterConfig, Tag("KostalMeter")]
    | Annotated[SolarWattMeterConfig, Tag("SolarWattMeter")]
    | Annotated[SmaTripowerMeterConfig, Tag("SmaTripowerMeter")]
    | Annotated[FroniusMeterConfig, Tag("FroniusMeter")],
    Discriminator(_type_of("SimulatedMeter")),
]
WallboxSettings = Annotated[
    Annotated[SimulatedWallboxConfig, Tag("SimulatedWallbox")]
    | Annotated[SimulatedWallboxWithRelayConfig, Tag("SimulatedWallboxWithRelay")]
    | Annotated[GoeWallboxConfig, Tag("GoeWallbox")],
    Discriminator(_type_of("SimulatedWallboxWithRelay")),
]
CarSettings = Annotated[
    Annotated[SimulatedCarConfig, Tag("SimulatedCar")]
    | Annotated[NoCarConfig, Tag("NoCar")]
    | Annotated[VolkswagenIDCarConfig, Tag("VolkswagenIDCar")]
    | Annotated[SkodaCarConfig, Tag("SkodaCar")],
    Discriminator(_type_of("SimulatedCar")),
]
RelaySettings = Annotated[
    Annotated[SimulatedPhaseRelayConfig, Tag("SimulatedPhaseRelay")]
    | Annotated[DisabledPhaseRelayConfig, Tag("DisabledPhaseRelay")]
    | Annotated[RaspiPhaseRelayConfig, Tag("RaspiPhaseRelay")],
    Discriminator(_type_of("SimulatedPhaseRelay")),
]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="PVC_", env_nested_delimiter="__", case_sensitive=False, extra="forbid"
    )

    mqtt: MqttSettings = MqttSettings()
    meter: MeterSettings = SimulatedMeterConfig()
    wallbox: WallboxSettings = SimulatedWallboxWithRelayConfig()
    car: CarSettings = SimulatedCarConfig()
    relay: RelaySettings = SimulatedPhaseRelayConfig()
    controller: ControllerSettings = ControllerSettings()
    api: ApiSettings = ApiSettings()


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
