"""One registration point per device kind: the `type` name -> the module holding its config model and adapter.

A device module is imported only when its type is configured (or asked for by name), so an unused driver's
dependency (`ocpp`, `pymodbus`, `carconnectivity`, ...) is never imported. Each kind lists its devices in
`services/<kind>/registry.py`; settings, factories, the CLI and the docs test read from there.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

from pydantic import create_model

from pvcontrol.section import Section

C = TypeVar("C", bound=Section)


@dataclass(frozen=True)
class DeviceType:
    """`module` holds the config model `config` and the adapter `adapter` (a class or function taking the
    config). `summary` is one line for the CLI help and the docs."""

    name: str
    module: str
    config: str
    adapter: str
    summary: str
    simulated: bool = False


class Registry(Generic[C]):
    def __init__(self, kind: str, base: type[C], default: str, devices: list[DeviceType]) -> None:
        self.kind = kind
        self.base = base
        self.default = default
        self._devices = {device.name: device for device in devices}
        if default not in self._devices:
            raise ValueError(f"default {kind} type {default} is not registered")
        names: Any = tuple(self._devices)
        # Only for the error message of an unknown type: "Input should be 'A', 'B' or 'C'", at `<kind>.type`.
        self._type_check = create_model(f"{kind}_type", type=(Literal[names], ...))

    def __iter__(self) -> Iterator[DeviceType]:
        return iter(self._devices.values())

    def names(self) -> list[str]:
        return list(self._devices)

    def device(self, name: str) -> DeviceType:
        try:
            return self._devices[name]
        except KeyError:
            raise KeyError(f"unknown {self.kind} type {name!r}; known: {', '.join(self._devices)}") from None

    def config_class(self, name: str) -> type[C]:
        device = self.device(name)
        cls = getattr(importlib.import_module(device.module), device.config)
        if not (isinstance(cls, type) and issubclass(cls, self.base)):
            raise TypeError(f"{device.module}.{device.config} is not a {self.base.__name__}")
        return cls

    def validate(self, value: Any) -> C:
        """A settings section: the model of its `type` (default `self.default`), validated strictly."""
        if isinstance(value, self.base):
            return value
        if not isinstance(value, dict):
            raise ValueError(f"expected a mapping with the {self.kind} settings")
        name = value.get("type", self.default)
        if name not in self._devices:
            self._type_check.model_validate({"type": name})  # raises, naming `<kind>.type`
        return self.config_class(name).model_validate(value)

    def default_config(self) -> C:
        return self.config_class(self.default)()

    def create(self, config: C) -> Any:
        """The adapter for `config` (its module is imported now)."""
        device = self.device(getattr(config, "type", ""))
        factory = getattr(importlib.import_module(device.module), device.adapter)
        return factory(config)
