"""One table: the Home Assistant entities pv-control announces, and the templates that read their values.

Each row names an entity and where its value is (service, state field); `services/api/discovery.py`
builds the discovery documents from them.
"""

from __future__ import annotations

from pvcontrol.goal_commands import SOC_RANGE, SocGoal
from pvcontrol.topics import ServiceName

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

# The PV forecast (P/forecast/state): object id, name, field; Wh without a state class (no measurement).
FORECAST_SENSORS: tuple[tuple[str, str, str], ...] = (
    ("forecast_energy_today_remaining", "PV forecast rest of today", "energy_today_remaining"),
    ("forecast_energy_tomorrow", "PV forecast tomorrow", "energy_tomorrow"),
)

# The charging sessions' totals from the gateway's history file, on P/api/state (every 30 s).
SESSION_SENSORS: tuple[tuple[str, str, str], ...] = (
    ("sessions_energy", "Car energy in sessions", "energy_wh"),
    ("sessions_energy_pv", "Car energy in sessions from PV", "pv_wh"),
    ("sessions_energy_battery", "Car energy in sessions from home battery", "battery_wh"),
    ("sessions_energy_grid", "Car energy in sessions from grid", "grid_wh"),
)
# The car's goals as numbers: object id, name, field (shown as its value for none when unset)
GOAL_NUMBERS: tuple[tuple[str, str, SocGoal], ...] = (
    ("min_soc", "Minimum car SOC", "min_soc"),
    ("limit_soc", "Car charge limit", "limit_soc"),
)
# Both goals' sliders span the whole SOC scale in steps of 5, so that the steps land on round values;
# the controller refuses a value outside the goal's own range (a limit of 0).
SOC_SCALE = (min(low for low, _ in SOC_RANGE.values()), max(high for _, high in SOC_RANGE.values()))

# The plan as set ({"soc": 80, "time": "07:00", "days": [...]}, the text entity's value and command),
# its projected finish (a timestamp sensor) and whether it can still be met (an attribute).
PLAN_TEXT = (
    "{{ {'soc': value_json.plan.soc, 'time': value_json.plan.time, 'days': value_json.plan.days} | tojson "
    "if value_json.plan else '' }}"
)
BATTERY_FULL_AT = (
    "{{ as_datetime(value_json.home_battery.full_at).isoformat() "
    "if value_json.home_battery and value_json.home_battery.full_at else none }}"
)
PLAN_FINISH = (
    "{{ as_datetime(value_json.plan.projected_finish).isoformat() "
    "if value_json.plan and value_json.plan.projected_finish else none }}"
)
# The price limit (per kWh, in the tariff's currency) as a number: its minimum, -1, stands for off (a
# number entity cannot send the empty payload that clears it).
PRICE_LIMIT_OFF = -1
PRICE_LIMIT_VALUE = (
    f"{{{{ value_json.price_limit if value_json.price_limit is not none else {PRICE_LIMIT_OFF} }}}}"
)
PRICE_LIMIT_COMMAND = f"{{{{ 'off' if value <= {PRICE_LIMIT_OFF} else value }}}}"
PLAN_ACHIEVABLE = "{{ {'achievable': value_json.plan.achievable if value_json.plan else none} | tojson }}"
# The price now: the `P/tariff/state` period holding the moment each document arrives (it begins with the
# current period when published; the template also takes a later one once the first has passed).
GRID_PRICE = (
    "{% set t = as_timestamp(now()) %}"
    "{% set p = value_json.periods | selectattr('start', 'le', t) | selectattr('end', 'gt', t) | first %}"
    "{{ p.grid_price if p else none }}"
)
PLAN_COST = (
    "{{ value_json.plan.cost_estimate "
    "if value_json.plan and value_json.plan.cost_estimate is number else none }}"
)
