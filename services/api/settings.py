"""The gateway's settings sections: `api` (HTTP, auth, UI) and `history` (the file the gateway keeps)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_core.core_schema import ValidationInfo

from pvcontrol.section import Section


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
