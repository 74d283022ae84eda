"""The settings types every service shares: `MqttSettings` (the `mqtt` section) and `public_config`.

Each service's own section lives next to its code (`services/<service>/settings.py`); the whole
configuration (`Settings`, loaded from file, environment and command line) is assembled in
`pvcontrol_app/settings.py`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator

from pvcontrol.section import Section


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


def public_config(section: BaseModel) -> dict[str, Any]:
    """The section as published on `P/<service>/config`: secrets removed."""
    return {
        name: value
        for name, value in section.model_dump(mode="json").items()
        if not isinstance(getattr(section, name), SecretStr)
    }
