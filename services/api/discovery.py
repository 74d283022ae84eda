"""Home Assistant MQTT discovery documents, so pv-control appears in Home Assistant by itself."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pvcontrol import __version__
from pvcontrol.models import ChargeMode, Priority
from pvcontrol.topics import ServiceName, Topics

DEVICE = {
    "identifiers": ["pvcontrol"],
    "name": "pv-control",
    "manufacturer": "pv-control",
    "sw_version": __version__,
}

# object id, name, service, field, unit, device class
SENSORS: tuple[tuple[str, str, ServiceName, str, str, str | None], ...] = (
    ("power_pv", "PV power", "meter", "power_pv", "W", "power"),
    ("power_grid", "Grid power", "meter", "power_grid", "W", "power"),
    ("power_consumption", "Home consumption", "meter", "power_consumption", "W", "power"),
    ("power_battery", "Home battery power", "meter", "power_battery", "W", "power"),
    ("soc_battery", "Home battery", "meter", "soc_battery", "%", "battery"),
    ("car_soc", "Car battery", "car", "soc", "%", "battery"),
    ("wallbox_power", "Wallbox power", "wallbox", "power", "W", "power"),
    ("wallbox_max_current", "Wallbox current", "wallbox", "max_current", "A", "current"),
    ("wallbox_phases", "Wallbox phases", "wallbox", "phases_out", "", None),
)

# Without a car API (NoCar, WallboxCar) the SOC is unknown: Home Assistant shows that, not 0 %.
CAR_SOC = "{{ value_json.soc if value_json.soc_known | default(true) else none }}"

# Counters for Home Assistant's Energy dashboard (Wh, never decreasing but for a new cycle: the car's
# energy by source starts again at 0 every day, which `total_increasing` reads as a new meter cycle).
ENERGY_SENSORS: tuple[tuple[str, str, ServiceName, str], ...] = (
    ("energy_home", "Home energy", "meter", "energy_consumption"),
    ("energy_home_grid", "Home energy from grid", "meter", "energy_consumption_grid"),
    ("energy_home_pv", "Home energy from PV", "meter", "energy_consumption_pv"),
    ("wallbox_total_energy", "Wallbox total energy", "wallbox", "total_energy"),
    ("car_energy_today_pv", "Car energy from PV today", "controller", "energy_today_pv"),
    ("car_energy_today_grid", "Car energy from grid today", "controller", "energy_today_grid"),
)

# The charging sessions' totals from the gateway's history file, on P/api/state (every 30 s).
SESSION_SENSORS: tuple[tuple[str, str, str], ...] = (
    ("sessions_energy", "Car energy in sessions", "energy_wh"),
    ("sessions_energy_pv", "Car energy in sessions from PV", "pv_wh"),
    ("sessions_energy_battery", "Car energy in sessions from home battery", "battery_wh"),
    ("sessions_energy_grid", "Car energy in sessions from grid", "grid_wh"),
)
# The car's goals as numbers: object id, name, field, value when unset (0 = no minimum, 100 = no limit)
GOAL_NUMBERS: tuple[tuple[str, str, str, int], ...] = (
    ("min_soc", "Minimum car SOC", "min_soc", 0),
    ("limit_soc", "Car charge limit", "limit_soc", 100),
)

# The plan as set ({"soc": 80, "time": "07:00", "days": [...]}, the text entity's value and command),
# its projected finish (a timestamp sensor) and whether it can still be met (an attribute).
PLAN_TEXT = (
    "{{ {'soc': value_json.plan.soc, 'time': value_json.plan.time, 'days': value_json.plan.days} | tojson "
    "if value_json.plan else '' }}"
)
PLAN_FINISH = (
    "{{ as_datetime(value_json.plan.projected_finish).isoformat() "
    "if value_json.plan and value_json.plan.projected_finish else none }}"
)
PLAN_ACHIEVABLE = "{{ {'achievable': value_json.plan.achievable if value_json.plan else none} | tojson }}"


def _availability(topics: Topics, service: ServiceName) -> dict[str, Any]:
    return {
        "availability_topic": topics.status(service),
        "payload_available": "online",
        "payload_not_available": "offline",
    }


def _sensor(
    topics: Topics,
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
        "unique_id": f"pvcontrol_{object_id}",
        "state_topic": topics.state(service),
        "value_template": f"{{{{ value_json.{field} }}}}",
        "device": DEVICE,
        **_availability(topics, service),
    }
    if unit:
        config["unit_of_measurement"] = unit
        config["state_class"] = state_class
    if device_class:
        config["device_class"] = device_class
    return config


def _select(
    topics: Topics, object_id: str, name: str, field: str, command: str, options: list[str]
) -> dict[str, Any]:
    return {
        "name": name,
        "unique_id": f"pvcontrol_{object_id}",
        "state_topic": topics.state("controller"),
        "value_template": f"{{{{ value_json.{field} }}}}",
        "command_topic": topics.command("controller", command),
        "options": options,
        "device": DEVICE,
        **_availability(topics, "controller"),
    }


def _goal_number(topics: Topics, object_id: str, name: str, field: str, unset: int) -> dict[str, Any]:
    return {
        "name": name,
        "unique_id": f"pvcontrol_{object_id}",
        "state_topic": topics.state("controller"),
        "value_template": f"{{{{ value_json.{field} if value_json.{field} is not none else {unset} }}}}",
        "command_topic": topics.command("controller", field),
        "min": 0,
        "max": 100,
        "step": 5,
        "mode": "slider",
        "unit_of_measurement": "%",
        "device": DEVICE,
        **_availability(topics, "controller"),
    }


def _goals(topics: Topics) -> Iterator[tuple[str, dict[str, Any]]]:
    """Minimum and limit as numbers; the plan as JSON text (empty clears it) and its projected finish."""
    for object_id, name, field, unset in GOAL_NUMBERS:
        yield (
            f"homeassistant/number/pvcontrol_{object_id}/config",
            _goal_number(topics, object_id, name, field, unset),
        )
    yield (
        "homeassistant/text/pvcontrol_plan/config",
        {
            "name": "Departure plan",
            "unique_id": "pvcontrol_plan",
            "state_topic": topics.state("controller"),
            "value_template": PLAN_TEXT,
            "command_topic": topics.command("controller", "plan"),
            "max": 255,
            "device": DEVICE,
            **_availability(topics, "controller"),
        },
    )
    yield (
        "homeassistant/sensor/pvcontrol_plan_finish/config",
        {
            "name": "Departure plan projected finish",
            "unique_id": "pvcontrol_plan_finish",
            "state_topic": topics.state("controller"),
            "value_template": PLAN_FINISH,
            "json_attributes_topic": topics.state("controller"),
            "json_attributes_template": PLAN_ACHIEVABLE,
            "device_class": "timestamp",
            "device": DEVICE,
            **_availability(topics, "controller"),
        },
    )


def _session_totals(topics: Topics) -> Iterator[tuple[str, dict[str, Any]]]:
    for object_id, name, field in SESSION_SENSORS:
        config = _sensor(topics, object_id, name, "api", field, "Wh", "energy", "total_increasing")
        yield f"homeassistant/sensor/pvcontrol_{object_id}/config", _of_sessions(config, field)
    cost = _sensor(topics, "sessions_cost", "Car charging cost in sessions", "api", "cost", "", None)
    yield "homeassistant/sensor/pvcontrol_sessions_cost/config", _of_sessions(cost, "cost")


def _of_sessions(config: dict[str, Any], field: str) -> dict[str, Any]:
    """`sessions` is null while the gateway has no usable history file: the sensor is then unknown."""
    template = f"{{{{ value_json.sessions.{field} if value_json.sessions else none }}}}"
    return {**config, "value_template": template}


def documents(topics: Topics, phase_select: bool) -> Iterator[tuple[str, dict[str, Any]]]:
    """(topic, config) pairs; the phase-mode select only when a relay is enabled."""
    for object_id, name, service, field, unit, device_class in SENSORS:
        config = _sensor(topics, object_id, name, service, field, unit, device_class)
        if object_id == "car_soc":
            config["value_template"] = CAR_SOC
        yield f"homeassistant/sensor/pvcontrol_{object_id}/config", config
    for object_id, name, service, field in ENERGY_SENSORS:
        yield (
            f"homeassistant/sensor/pvcontrol_{object_id}/config",
            _sensor(topics, object_id, name, service, field, "Wh", "energy", "total_increasing"),
        )
    yield (
        "homeassistant/select/pvcontrol_desired_mode/config",
        _select(
            topics,
            "desired_mode",
            "Charge mode",
            "desired_mode",
            "desired_mode",
            [m.value for m in ChargeMode],
        ),
    )
    yield (
        "homeassistant/select/pvcontrol_desired_priority/config",
        _select(
            topics,
            "desired_priority",
            "Charge priority",
            "desired_priority",
            "desired_priority",
            [p.value for p in Priority],
        ),
    )
    yield from _goals(topics)
    yield from _session_totals(topics)
    if phase_select:
        yield (
            "homeassistant/select/pvcontrol_phase_mode/config",
            _select(
                topics,
                "phase_mode",
                "Phase mode",
                "phase_mode",
                "phase_mode",
                ["AUTO", "CHARGE_1P", "CHARGE_3P"],
            ),
        )


def all_topics() -> list[str]:
    """Every discovery topic the gateway may publish, the phase-mode select too (`pvcontrol ha-cleanup`)."""
    return [topic for topic, _ in documents(Topics(), phase_select=True)]
