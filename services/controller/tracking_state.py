"""The tracking strategy's state, constants and small helpers (docs/CONTROL.md "Tracking strategy")."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from services.controller.battery_plan import BatteryMemory, BatteryPlan
from services.controller.model import Commands, LawState
from services.controller.settings import ControllerSettings

DAY = 86_400.0
# PV_ALL rounds its current up from a quarter step: the grid gives at most 3/4 of a step, the export at
# most 1/4 (the original's ceil(x - 0.1) buys a little more sun with more grid energy, see bench/README.md).
PV_ALL_ROUNDING_OFFSET = 0.25
# PV_ALL on 3 phases: a deficit stops the car once its minimum has drawn this share of the grid energy
# 1 phase at its stop threshold draws in `tracking_stop_delay` (a dark cloud stops 3 phases sooner).
PV_ALL_3P_GRID_BUDGET = 0.5
# PV_ONLY with a home battery (docs/CONTROL.md "Bridging a dip from the home battery"): a dip below the
# car's minimum may be bridged from the battery for BRIDGE_MAX_TIME while it is at least BRIDGE_MIN_SOC
# full and owes less than BRIDGE_MAX_WH. Everything the car draws meanwhile, and for BRIDGE_OWED_DELAYS
# start delays after (the time a stop and restart would have left to the battery), is lent; the battery's
# charge pays it back first (the car does not step up meanwhile). A nearly full battery (NEAR_FULL_SOC)
# is owed nothing and lends the remainder of a current step instead of exporting it. The grid is never
# lent: an import still stops the car within `tracking_max_grid_time`.
BRIDGE_MAX_TIME = 300.0  # s
BRIDGE_MIN_SOC = 55.0  # %
BRIDGE_MAX_WH = 500.0
BRIDGE_OWED_DELAYS = 2.0
NEAR_FULL_SOC = 97.0  # %
FULL_SOC = 99.5  # %: PV_ALL's loans are written off only once the battery is full again
# A start waits at least this long while the home battery takes the surplus and nothing is exported:
# waiting loses no sun then; fewer short runs, and the battery fills sooner.
ABSORBED_START_DELAY = 120.0  # s
# A relay switches only after the wallbox has been idle for its `idle_settle` (15 s by default): a start
# waits this long for the phases it commanded, so it does not start on the old phases meanwhile (the
# relay would then refuse the switch for the load). Past it the command counts as refused.
PHASE_SWITCH_WAIT = 60.0  # s


@dataclass(frozen=True)
class TrackingState(LawState):
    last_cycle: float | None = None  # `now` of the previous cycle: timers count real time, not cycles
    start_since: float | None = None  # since when the surplus suffices to start
    deficit_since: float | None = None  # since when charging runs below its minimum
    grid_since: float | None = None  # PV_ONLY: since when that deficit is drawn from the grid
    deficit_wh: float = 0.0  # PV_ALL, 3 phases: the grid energy the car's minimum drew in this deficit
    bridging: bool = False  # PV_ONLY: the home battery carries the car through a dip
    owed_until: float | None = None  # after a bridged dip: until when the car's draw is still lent
    lent_wh: float = 0.0  # PV_ONLY: what the car took while bridging, not yet paid back to the battery
    phase_wish: int | None = None  # phases the surplus asks for, if not those in use
    phase_wish_since: float | None = None
    phase_switches: tuple[float, ...] = ()  # times of relay switches within the last 24 h
    phases_pending: int | None = None  # phases commanded but not yet reported by the wallbox
    battery: BatteryMemory = field(
        default_factory=BatteryMemory
    )  # what the law learned about the house and its battery
    # With a forecast, priority AUTO (battery_plan.py): the battery's charging power the car leaves to it
    # (None: no plan, the priority decides) and why
    battery_reserve_w: float | None = None
    battery_reason: str | None = None
    battery_plan: BatteryPlan | None = None  # shown in the state whatever the mode


@dataclass(frozen=True)
class TrackStep:
    state: TrackingState
    commands: Commands
    reason: str | None = None
    allow_charging_wish: bool | None = None


def as_tracking_state(state: LawState) -> TrackingState:
    """The state with the tracking timers (all idle) when it comes from the original law."""
    if isinstance(state, TrackingState):
        return state
    return TrackingState(**{name: getattr(state, name) for name in LawState.__dataclass_fields__})


def idle_timers(state: TrackingState) -> TrackingState:
    return replace(
        state,
        start_since=None,
        deficit_since=None,
        grid_since=None,
        deficit_wh=0.0,
        bridging=False,
        phase_wish=None,
        phase_wish_since=None,
    )


def min_power(phases: int, settings: ControllerSettings) -> float:
    return settings.min_supported_current * settings.line_voltage * phases


def max_power(phases: int, settings: ControllerSettings) -> float:
    return settings.max_supported_current * settings.line_voltage * phases


def kw(watts: float) -> str:
    return f"{watts / 1000:.1f} kW"


def ph(phases: int) -> str:
    return "1 phase" if phases == 1 else f"{phases} phases"
