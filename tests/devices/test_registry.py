"""The device registries: every type resolves to its config model and adapter, is documented with a JSON and
an env example, and an unused driver's dependency is never imported."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from pvcontrol.registry import Registry
from pvcontrol_app.settings import load_settings
from services.car.device import Car
from services.car.registry import CARS
from services.meter.device import Meter
from services.meter.registry import METERS
from services.relay.device import PhaseRelay
from services.relay.registry import RELAYS
from services.wallbox.device import Wallbox
from services.wallbox.registry import WALLBOXES

ROOT = Path(__file__).resolve().parents[2]
DOCS = (ROOT / "docs" / "devices.md").read_text(encoding="utf-8")
KINDS: list[tuple[Registry[Any], type]] = [
    (METERS, Meter),
    (WALLBOXES, Wallbox),
    (CARS, Car),
    (RELAYS, PhaseRelay),
]
ALL = [
    pytest.param(registry, interface, device.name, id=device.name)
    for registry, interface in KINDS
    for device in registry
]


@pytest.mark.parametrize(("registry", "interface", "name"), ALL)
def test_every_type_resolves_to_its_config_model_and_adapter(
    registry: Registry[Any], interface: type, name: str
) -> None:
    config_class = registry.config_class(name)
    assert issubclass(config_class, registry.base)
    assert config_class.model_fields["type"].default == name
    device = registry.device(name)
    adapter = getattr(sys.modules[device.module], device.adapter)
    assert isinstance(adapter, type)
    assert issubclass(adapter, interface)


@pytest.mark.parametrize(("registry", "interface", "name"), ALL)
def test_every_type_has_a_json_and_an_env_example_in_the_docs(
    registry: Registry[Any], interface: type, name: str
) -> None:
    section = re.search(rf"^### {name}\b.*?(?=^##)", DOCS + "\n##", re.S | re.M)
    assert section, f"docs/devices.md has no '### {name}' section"
    text = section.group(0)
    blocks = re.findall(r"```json\n(.*?)```", text, re.S)
    assert any(json.loads(b)[registry.kind]["type"] == name for b in blocks), f"{name}: no JSON example"
    assert f"PVC_{registry.kind.upper()}__TYPE={name}" in text, f"{name}: no env example"
    for block in blocks:  # the examples are valid settings
        load_settings(None, json.loads(block))


def test_an_unknown_type_names_the_setting_and_the_known_types() -> None:
    with pytest.raises(ValidationError) as error:
        load_settings(None, {"wallbox": {"type": "FooWallbox"}})
    (only,) = error.value.errors()
    assert only["loc"] == ("wallbox", "type")
    assert "GoeWallbox" in only["msg"]


def test_settings_and_the_cli_import_no_device_driver() -> None:
    """Only the configured device's module is imported, so an unused driver's library never is."""
    code = (
        "import sys\n"
        "from pvcontrol_app import cli\n"
        "from pvcontrol_app.settings import load_settings\n"
        "cli.parser(); load_settings(None, {})\n"
        "heavy = ('ocpp', 'websockets', 'sunspec2', 'pymodbus', 'carconnectivity', 'requests', 'RPi')\n"
        "print(sorted({m.split('.')[0] for m in sys.modules if m.split('.')[0] in heavy}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]", result.stdout


@pytest.mark.parametrize("kind", ["meter", "wallbox", "car", "relay"])
def test_the_template_is_a_working_starting_point(kind: str) -> None:
    module = __import__(f"services.{kind}._template", fromlist=["_"])
    configs = [c for n, c in vars(module).items() if n.startswith("Template") and n.endswith("Config")]
    (config_class,) = configs
    name = config_class.model_fields["type"].default
    adapter = getattr(module, name)
    registries: dict[str, Registry[Any]] = {
        "meter": METERS,
        "wallbox": WALLBOXES,
        "car": CARS,
        "relay": RELAYS,
    }
    registry = registries[kind]
    assert issubclass(config_class, registry.base)
    assert name not in registry.names()  # a template is copied, never registered
    assert not getattr(adapter, "__abstractmethods__", None), "the template must implement the interface"
