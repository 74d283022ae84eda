"""Meter metrics, named as in the original pv-control so existing dashboards keep working."""

from prometheus_client import Gauge

from pvcontrol.models import MeterData

POWER = Gauge("pvcontrol_meter_power_watts", "Power by source (grid: + import)", ["source"])
POWER_CONSUMPTION = Gauge("pvcontrol_meter_power_consumption_total_watts", "Home consumption")
SOC_BATTERY = Gauge("pvcontrol_meter_soc_battery_ratio", "Home battery state of charge (0..1)")
ENERGY = Gauge("pvcontrol_meter_energy_consumption_wh", "Consumed energy counters", ["source"])


def record(data: MeterData) -> None:
    POWER.labels("pv").set(data.power_pv)
    POWER.labels("grid").set(data.power_grid)
    POWER.labels("battery").set(data.power_battery)
    POWER_CONSUMPTION.set(data.power_consumption)
    SOC_BATTERY.set(data.soc_battery / 100)
    ENERGY.labels("total").set(data.energy_consumption)
    ENERGY.labels("grid").set(data.energy_consumption_grid)
    ENERGY.labels("pv").set(data.energy_consumption_pv)
