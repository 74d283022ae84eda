"""Where the MQTT broker is and how to log in: `mqtt://[user:password@]host[:port]` plus the `mqtt.*`
settings (username, password or password_file, TLS files), which take precedence over the URL."""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import aiomqtt

if TYPE_CHECKING:
    from pvcontrol.settings import MqttSettings


@dataclass(frozen=True)
class BrokerAddress:
    host: str
    port: int
    tls: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_file: Path | None = None
    client_cert: Path | None = None
    client_key: Path | None = None

    @classmethod
    def parse(cls, url: str) -> BrokerAddress:
        parts = urlsplit(url)
        tls = parts.scheme == "mqtts"
        return cls(
            host=parts.hostname or "localhost",
            port=parts.port or (8883 if tls else 1883),
            tls=tls,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )

    @classmethod
    def from_settings(cls, mqtt: MqttSettings) -> BrokerAddress:
        """The URL, overridden by the explicit settings. Reads `password_file` (OSError if it cannot)."""
        address = cls.parse(mqtt.url)
        password = mqtt.read_password()
        return replace(
            address,
            tls=address.tls or mqtt.ca_file is not None or mqtt.client_cert is not None,
            username=mqtt.username or address.username,
            password=password if password is not None else address.password,
            ca_file=mqtt.ca_file,
            client_cert=mqtt.client_cert,
            client_key=mqtt.client_key,
        )

    def ssl_context(self) -> ssl.SSLContext | None:
        """The TLS context to connect with, None without TLS. Raises `ssl.SSLError` or `OSError` for
        certificate files that cannot be used."""
        if not self.tls:
            return None
        context = ssl.create_default_context(cafile=self.ca_file)
        if self.client_cert is not None:
            context.load_cert_chain(self.client_cert, self.client_key)
        return context

    def client(self, **options: Any) -> aiomqtt.Client:
        """A client of this broker, logging in (and with TLS) as set here; `options` are the rest of
        `aiomqtt.Client`'s (identifier, will, timeout, ...)."""
        return aiomqtt.Client(
            self.host,
            self.port,
            username=self.username,
            password=self.password,
            tls_context=self.ssl_context(),
            **options,
        )

    def __str__(self) -> str:
        """For logs: never the credentials."""
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"
