"""Wallbox metrics, named as in the original pv-control."""

from prometheus_client import Gauge

from pvcontrol.models import WallboxData

POWER = Gauge("pvcontrol_wallbox_power_watts", "Charging power")
MAX_CURRENT = Gauge("pvcontrol_wallbox_max_current_amperes", "Charging current limit")
PHASES_IN = Gauge("pvcontrol_wallbox_phases_in", "Phases before the contactor")
PHASES_OUT = Gauge("pvcontrol_wallbox_phases_out", "Phases after the contactor (charging)")
ALLOW_CHARGING = Gauge("pvcontrol_wallbox_allow_charging", "1 if charging is allowed")
CAR_STATUS = Gauge("pvcontrol_wallbox_car_status", "1 no car, 2 charging, 3 waiting, 4 finished")
WB_ERROR = Gauge("pvcontrol_wallbox_error", "Charger error code (0 ok)")
CHARGED_ENERGY = Gauge("pvcontrol_wallbox_charged_energy_wh", "Energy charged in this session")
TOTAL_ENERGY = Gauge("pvcontrol_wallbox_total_energy_wh", "Energy charged in all sessions")
TEMPERATURE = Gauge("pvcontrol_wallbox_temperature_celsius", "Charger temperature")


def record(data: WallboxData) -> None:
    POWER.set(data.power)
    MAX_CURRENT.set(data.max_current)
    PHASES_IN.set(data.phases_in)
    PHASES_OUT.set(data.phases_out)
    ALLOW_CHARGING.set(int(data.allow_charging))
    CAR_STATUS.set(int(data.car_status))
    WB_ERROR.set(int(data.wb_error))
    CHARGED_ENERGY.set(data.charged_energy)
    TOTAL_ENERGY.set(data.total_energy)
    TEMPERATURE.set(data.temperature)
