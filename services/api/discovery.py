"""Home Assistant MQTT discovery documents, so pv-control appears in Home Assistant by itself.

Each installation (MQTT prefix) has its own: topics `homeassistant/<component>/<node>/pvcontrol_<id>/config`
and unique ids `pvcontrol_<node>_<id>`, where the node is the prefix, so two installations on one broker
never take over each other's entities. Versions before this one published `homeassistant/<component>/
pvcontrol_<id>/config` for every prefix alike ("legacy"); `is_own_legacy` tells which of those documents
pointed at this prefix, so the gateway's upgrade and `pvcontrol ha-cleanup` remove only their own.
The entities themselves (names, fields, templates) are the table in `services/api/discovery_entities.py`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pvcontrol import __version__
from pvcontrol.goal_commands import SOC_NONE, SocGoal
from pvcontrol.models import ChargeMode, Priority, TariffData
from pvcontrol.topics import ServiceName, Topics
from services.api.discovery_entities import (
    BATTERY_FULL_AT,
    CAR_SOC,
    ENERGY_SENSORS,
    FORECAST_SENSORS,
    GOAL_NUMBERS,
    GRID_PRICE,
    PLAN_ACHIEVABLE,
    PLAN_COST,
    PLAN_FINISH,
    PLAN_TEXT,
    PRICE_LIMIT_COMMAND,
    PRICE_LIMIT_OFF,
    PRICE_LIMIT_VALUE,
    SENSORS,
    SESSION_SENSORS,
    SOC_SCALE,
)

DEFAULT_PREFIX = Topics().prefix
DEFAULT_CURRENCY = TariffData().currency
_NODE = re.compile(r"[A-Za-z0-9_-]+")  # what Home Assistant takes as a node id in a discovery topic


def node_id(prefix: str) -> str:
    """The prefix as a discovery node id: as it is when it can be; else its other characters as `_`
    and a short hash, so that `home/1` and `home_1` stay apart."""
    if _NODE.fullmatch(prefix):
        return prefix
    digest = hashlib.sha256(prefix.encode()).hexdigest()[:8]
    return f"{re.sub(r'[^A-Za-z0-9_-]', '_', prefix)}_{digest}"


@dataclass(frozen=True)
class Naming:
    """Topics, unique ids and the device of one installation's documents."""

    topics: Topics
    legacy: bool = False  # the names of versions before per-prefix discovery (only to remove them)

    @property
    def node(self) -> str:
        return node_id(self.topics.prefix)

    def topic(self, component: str, object_id: str) -> str:
        if self.legacy:
            return f"homeassistant/{component}/pvcontrol_{object_id}/config"
        return f"homeassistant/{component}/{self.node}/pvcontrol_{object_id}/config"

    def unique_id(self, object_id: str) -> str:
        return f"pvcontrol_{object_id}" if self.legacy else f"pvcontrol_{self.node}_{object_id}"

    @property
    def device(self) -> dict[str, Any]:
        prefix = self.topics.prefix
        return {
            "identifiers": ["pvcontrol" if self.legacy else f"pvcontrol_{self.node}"],
            "name": "pv-control" if prefix == DEFAULT_PREFIX else f"pv-control {prefix}",
            "manufacturer": "pv-control",
            "sw_version": __version__,
        }


def _availability(names: Naming, service: ServiceName) -> dict[str, Any]:
    return {
        "availability_topic": names.topics.status(service),
        "payload_available": "online",
        "payload_not_available": "offline",
    }


def _sensor(
    names: Naming,
    object_id: str,
    name: str,
    service: ServiceName,
    field: str,
    unit: str,
    device_class: str | None,
    state_class: str = "measurement",
) -> dict[str, Any]:
    config: dict[str, Any] = {
        "name": name,
        "unique_id": names.unique_id(object_id),
        "state_topic": names.topics.state(service),
        "value_template": f"{{{{ value_json.{field} }}}}",
        "device": names.device,
        **_availability(names, service),
    }
    if unit:
        config["unit_of_measurement"] = unit
        config["state_class"] = state_class
    if device_class:
        config["device_class"] = device_class
    return config


def _select(names: Naming, object_id: str, name: str, options: list[str]) -> tuple[str, dict[str, Any]]:
    """A controller setting (its state field and command are named as the object)."""
    return names.topic("select", object_id), {
        "name": name,
        "unique_id": names.unique_id(object_id),
        "state_topic": names.topics.state("controller"),
        "value_template": f"{{{{ value_json.{object_id} }}}}",
        "command_topic": names.topics.command("controller", object_id),
        "options": options,
        "device": names.device,
        **_availability(names, "controller"),
    }


def _goal_number(names: Naming, object_id: str, name: str, field: SocGoal) -> dict[str, Any]:
    unset = SOC_NONE[field]
    return {
        "name": name,
        "unique_id": names.unique_id(object_id),
        "state_topic": names.topics.state("controller"),
        "value_template": f"{{{{ value_json.{field} if value_json.{field} is not none else {unset} }}}}",
        "command_topic": names.topics.command("controller", field),
        "min": SOC_SCALE[0],
        "max": SOC_SCALE[1],
        "step": 5,
        "mode": "slider",
        "unit_of_measurement": "%",
        "device": names.device,
        **_availability(names, "controller"),
    }


def _price_limit(names: Naming) -> dict[str, Any]:
    return {
        "name": "Grid price limit per kWh (-1 = off)",
        "unique_id": names.unique_id("price_limit"),
        "state_topic": names.topics.state("controller"),
        "value_template": PRICE_LIMIT_VALUE,
        "command_topic": names.topics.command("controller", "price_limit"),
        "command_template": PRICE_LIMIT_COMMAND,
        "min": PRICE_LIMIT_OFF,
        "max": 2,
        "step": 0.01,
        "mode": "box",
        "device": names.device,
        **_availability(names, "controller"),
    }


def _goals(names: Naming) -> Iterator[tuple[str, dict[str, Any]]]:
    """Minimum and limit as numbers; the plan as JSON text (empty clears it) and its projected finish."""
    topics = names.topics
    for object_id, name, field in GOAL_NUMBERS:
        yield names.topic("number", object_id), _goal_number(names, object_id, name, field)
    yield names.topic("number", "price_limit"), _price_limit(names)
    yield (
        names.topic("text", "plan"),
        {
            "name": "Departure plan",
            "unique_id": names.unique_id("plan"),
            "state_topic": topics.state("controller"),
            "value_template": PLAN_TEXT,
            "command_topic": topics.command("controller", "plan"),
            "max": 255,
            "device": names.device,
            **_availability(names, "controller"),
        },
    )
    yield (
        names.topic("sensor", "plan_finish"),
        {
            "name": "Departure plan projected finish",
            "unique_id": names.unique_id("plan_finish"),
            "state_topic": topics.state("controller"),
            "value_template": PLAN_FINISH,
            "json_attributes_topic": topics.state("controller"),
            "json_attributes_template": PLAN_ACHIEVABLE,
            "device_class": "timestamp",
            "device": names.device,
            **_availability(names, "controller"),
        },
    )


def _battery_full_at(names: Naming) -> dict[str, Any]:
    """When the forecast fills the home battery; unknown without a plan or when not today."""
    config = _sensor(names, "home_battery_full_at", "Home battery full at", "controller", "", "", "timestamp")
    return {**config, "value_template": BATTERY_FULL_AT}


def _prices(names: Naming, currency: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """The grid price now and the plan's estimated cost: monetary, without a state class (Home Assistant
    allows only `total` for money, and neither is a total)."""
    price = _sensor(names, "grid_price", "Grid price", "tariff", "", f"{currency}/kWh", "monetary")
    del price["state_class"]
    yield names.topic("sensor", "grid_price"), {**price, "value_template": GRID_PRICE}
    cost = _sensor(names, "plan_cost", "Departure plan cost estimate", "controller", "", currency, "monetary")
    del cost["state_class"]
    yield names.topic("sensor", "plan_cost"), {**cost, "value_template": PLAN_COST}


def _session_totals(names: Naming) -> Iterator[tuple[str, dict[str, Any]]]:
    for object_id, name, field in SESSION_SENSORS:
        config = _sensor(names, object_id, name, "api", field, "Wh", "energy", "total_increasing")
        yield names.topic("sensor", object_id), _of_sessions(config, field)
    cost = _sensor(names, "sessions_cost", "Car charging cost in sessions", "api", "cost", "", None)
    yield names.topic("sensor", "sessions_cost"), _of_sessions(cost, "cost")


def _of_sessions(config: dict[str, Any], field: str) -> dict[str, Any]:
    """`sessions` is null while the gateway has no usable history file: the sensor is then unknown."""
    template = f"{{{{ value_json.sessions.{field} if value_json.sessions else none }}}}"
    return {**config, "value_template": template}


def documents(
    topics: Topics, phase_select: bool, currency: str = DEFAULT_CURRENCY
) -> Iterator[tuple[str, dict[str, Any]]]:
    """(topic, config) pairs of this installation; the phase-mode select only when a relay is enabled;
    prices in the tariff's `currency`."""
    return _documents(Naming(topics), phase_select, currency)


def _documents(
    names: Naming, phase_select: bool, currency: str = DEFAULT_CURRENCY
) -> Iterator[tuple[str, dict[str, Any]]]:
    for object_id, name, service, field, unit, device_class in SENSORS:
        config = _sensor(names, object_id, name, service, field, unit, device_class)
        if object_id == "car_soc":
            config["value_template"] = CAR_SOC
        yield names.topic("sensor", object_id), config
    for object_id, name, service, field in ENERGY_SENSORS:
        config = _sensor(names, object_id, name, service, field, "Wh", "energy", "total_increasing")
        yield names.topic("sensor", object_id), config
    yield _select(names, "desired_mode", "Charge mode", [m.value for m in ChargeMode])
    yield _select(names, "desired_priority", "Charge priority", [p.value for p in Priority])
    yield from _goals(names)
    yield from _session_totals(names)
    for object_id, name, field in FORECAST_SENSORS:
        config = _sensor(names, object_id, name, "forecast", field, "Wh", "energy")
        del config["state_class"]
        yield names.topic("sensor", object_id), config
    yield names.topic("sensor", "home_battery_full_at"), _battery_full_at(names)
    yield from _prices(names, currency)
    if phase_select:
        yield _select(names, "phase_mode", "Phase mode", ["AUTO", "CHARGE_1P", "CHARGE_3P"])


def all_topics(topics: Topics) -> list[str]:
    """Every discovery topic this installation may publish, the phase-mode select too."""
    return [topic for topic, _ in documents(topics, phase_select=True)]


def legacy_topics() -> list[str]:
    """The topics every installation shared before per-prefix discovery (to remove its own there)."""
    return [topic for topic, _ in _documents(Naming(Topics(), legacy=True), phase_select=True)]


def is_own_legacy(payload: bytes, topics: Topics) -> bool:
    """Whether a retained document on a legacy topic was published by this installation: its state,
    status or command topics are exactly this prefix's (another prefix's, or not ours at all: False)."""
    try:
        config = json.loads(payload)
    except (ValueError, RecursionError):
        return False
    if not isinstance(config, dict):
        return False
    own = {
        value
        for _, document in documents(topics, phase_select=True)
        for key, value in document.items()
        if key.endswith("_topic")
    }
    named = [value for key, value in config.items() if key.endswith("_topic")]
    return bool(named) and all(value in own for value in named)
