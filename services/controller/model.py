"""The control law's types, shared by every strategy: inputs, state, commands and one cycle's result."""

from __future__ import annotations

from dataclasses import dataclass

from pvcontrol.models import (
    ChargeMode,
    ForecastData,
    HomeBatteryState,
    MeterData,
    PhaseMode,
    Priority,
    TariffData,
    WallboxData,
)


@dataclass(frozen=True)
class LawInputs:
    meter: MeterData | None  # None: never received
    wallbox: WallboxData | None
    relay_enabled: bool  # a phase relay is enabled (`P/relay/state` enabled = true)
    now: float  # Unix seconds
    forecast: ForecastData | None = None  # P/forecast/state; None: no forecast (behave as without one)
    tariff: TariffData | None = None  # P/tariff/state; None: no prices (plans as without a tariff)


@dataclass(frozen=True)
class LawState:
    desired_mode: ChargeMode = ChargeMode.OFF
    mode: ChargeMode = ChargeMode.OFF
    phase_mode: PhaseMode = PhaseMode.AUTO  # the user's choice; shown as DISABLED without a relay
    desired_priority: Priority = Priority.AUTO
    priority: Priority = Priority.AUTO
    unplug_timer: float = 300.0
    allow_charging_delay: float = 0.0
    # energy accounting references; None until the first reading
    last_charged_energy: float | None = None
    split_charged_energy: float | None = None
    last_energy_consumption: float | None = None
    last_energy_consumption_grid: float | None = None


@dataclass(frozen=True)
class Commands:
    """What to send this cycle; None/False = send nothing."""

    max_current: int | None = None  # -> P/wallbox/max_current/set
    allow_charging: bool | None = None  # -> P/wallbox/allow_charging/set
    reset_wallbox: bool = False  # -> P/wallbox/reset/set
    phases: int | None = None  # -> P/relay/phases/set


@dataclass(frozen=True)
class CycleResult:
    state: LawState
    commands: Commands
    charged_wh: float = 0.0  # total charged energy added this cycle
    charged_pv_wh: float = 0.0
    charged_grid_wh: float = 0.0
    # PV modes: a start (True) or stop (False) waiting for the allow-charging delay; None if nothing pending
    allow_charging_wish: bool | None = None
    # what the controller is doing or waiting for, one sentence for users (set by the tracking strategy)
    reason: str | None = None
    home_battery: HomeBatteryState | None = None  # the battery's plan with a forecast (tracking strategy)


@dataclass(frozen=True)
class Step:
    """A strategy's own step: the state after it, what to send, and why."""

    state: LawState
    commands: Commands
    reason: str | None = None
    allow_charging_wish: bool | None = None
    home_battery: HomeBatteryState | None = None
