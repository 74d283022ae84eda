"""The controller's settings section (`controller` in the config file, `PVC_CONTROLLER__<KEY>`)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from pvcontrol.section import Section


class ControllerSettings(Section):
    type: Literal["ChargeController"] = "ChargeController"
    metrics_port: int = Field(default=9105, ge=0, le=65535)
    cycle_time: float = Field(default=30.0, gt=0)
    enable_auto_phase_switching: bool = True
    enable_charging_when_connecting_car: Literal["OFF", "PV_ONLY", "PV_ALL", "MAX", "MANUAL"] = "OFF"
    line_voltage: float = Field(default=230.0, gt=0)
    current_rounding_offset: float = 0.1
    power_hysteresis: float = Field(default=200.0, ge=0)
    pv_all_min_power: float = Field(default=500.0, ge=0)
    pv_allow_charging_delay: float = Field(default=120.0, ge=0)
    unplug_off_delay: float = Field(default=300.0, ge=0)
    stale_after: float = Field(default=90.0, gt=0)
    restore_timeout: float = Field(
        default=2.0, ge=0, description="s to wait at start for the retained state that restores the settings"
    )
    prio_auto_soc_threshold: float = Field(default=50.0, ge=0, le=100)
    # `tracking` (the default): services/controller/tracking.py with these settings; `original`: CONTROL.md
    strategy: Literal["original", "tracking"] = "tracking"
    tracking_start_delay: float = Field(default=45.0, ge=0, description="s a surplus must last to start")
    tracking_stop_delay: float = Field(default=90.0, ge=0, description="s PV_ALL runs below its minimum")
    tracking_max_grid_time: float = Field(
        default=10.0, ge=0, description="s PV_ONLY may draw from the grid before it stops"
    )
    tracking_min_solar_share: float = Field(
        default=1.0,
        gt=0,
        le=1,
        description="PV_ONLY: share of the minimum from the sun",
    )
    tracking_tolerance: float = Field(default=100.0, ge=0, description="W of surplus a step up needs")
    tracking_phase_up_delay: float = Field(default=120.0, ge=0, description="s before 1 -> 3 phases")
    tracking_phase_down_delay: float = Field(default=60.0, ge=0, description="s before 3 -> 1 phases")
    tracking_phase_min_dwell: float = Field(default=600.0, ge=0, description="s between relay switches")
    tracking_phase_switches_per_day: int = Field(default=10, ge=0, description="relay switches in 24 h")
    tracking_pv_all_prio_auto_soc_threshold: float = Field(
        default=100.0, ge=0, le=100, description="PV_ALL, priority AUTO: home battery first below this SOC"
    )
    home_battery_capacity: float = Field(
        default=0.0, ge=0, description="Wh of the home battery; 0 = learn it from SOC and battery power"
    )
    home_battery_max_power: float = Field(
        default=0.0, ge=0, description="W the home battery charges at most; 0 = the highest seen"
    )
    home_battery_full_before_sunset: float = Field(
        default=3600.0,
        description="s: with a forecast the home battery is planned full this long before sunset",
    )
    forecast_margin: float = Field(
        default=0.9, gt=0, le=1, description="share of the forecast PV energy the plan counts on"
    )
    min_supported_current: int = Field(default=6, ge=1, le=32)
    max_supported_current: int = Field(default=16, ge=1, le=32)
    plant_power_limit: float = Field(
        default=50_000.0, gt=0, description="W; a reading with a larger |power| is implausible (ignored)"
    )
    # The car's goals (min_soc, limit_soc, plan) need to know the car:
    battery_capacity: float = Field(default=58.0, gt=0, le=500, description="kWh usable")
    charging_efficiency: float = Field(default=0.9, gt=0, le=1, description="share of charged energy stored")
    soc_stale_after: float = Field(default=86_400.0, gt=0, description="s; an older car SOC is not used")
    assumed_soc_without_car: float = Field(
        default=20.0, ge=0, le=100, description="% at plug-in when the car says nothing (NoCar, stale SOC)"
    )
