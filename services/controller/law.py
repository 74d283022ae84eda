"""The control law of CONTROL.md as a pure function: readings, settings, state and time in; commands out.

No I/O and no clock: `now` is an argument. The service around it keeps the latest readings, calls
`control_cycle` every `cycle_time` seconds and publishes the commands.
"""

from __future__ import annotations

from dataclasses import dataclass

from pvcontrol.models import ChargeMode, MeterData, PhaseMode, Priority, WallboxData
from pvcontrol.settings import ControllerSettings


@dataclass(frozen=True)
class LawInputs:
    meter: MeterData | None  # None: never received
    wallbox: WallboxData | None
    relay_enabled: bool  # a phase relay is enabled (`P/relay/state` enabled = true)
    now: float  # Unix seconds


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


def control_cycle(state: LawState, settings: ControllerSettings, inputs: LawInputs) -> CycleResult:
    raise NotImplementedError
