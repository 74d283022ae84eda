"""The car's goals on top of a strategy, still pure: one controller cycle with goals.

`cycle_with_goals` asks `goals.decide` first. FULL_POWER runs the strategy as if MAX were chosen (so
phases and the relay interlock work as for MAX) but keeps the user's mode; STOP runs the strategy for
its bookkeeping and sends only the stop; NONE runs the strategy as it is. A charge in MAX stopped by
the limit resumes when the limit is raised. A FULL_POWER that a price asks for (a plan's cheapest slot,
the price limit) needs fresh readings: on stale or implausible ones the PV mode's stop applies.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from pvcontrol.models import CarData, CarStatus, ChargeMode, MeterData, PlanState, WallboxData
from services.controller.goals import (
    Action,
    CarModel,
    Decision,
    Goals,
    current_soc,
    decide,
    local_datetime,
    plan_document,
)
from services.controller.law import Commands, CycleResult, LawInputs, LawState
from services.controller.price_plan import HOUSE_AVERAGE_TIME, Market, usable_tariff
from services.controller.rules import readings_fresh
from services.controller.settings import ControllerSettings

Strategy = Callable[[LawState, ControllerSettings, LawInputs], CycleResult]


@dataclass(frozen=True)
class GoalState:
    goals: Goals = field(default_factory=Goals)
    plan_charging: bool = False  # a plan's full-power charge has begun (latched until done)
    resume_max: bool = False  # the limit stopped a MAX charge: MAX again once the limit allows
    house_w: float | None = None  # the house's consumption without the car, averaged (the plan's sun)
    house_at: float | None = None  # when it was last updated


def car_model(settings: ControllerSettings, phases: int) -> CarModel:
    return CarModel(
        battery_wh=settings.battery_capacity * 1000,
        efficiency=settings.charging_efficiency,
        full_power_w=settings.max_supported_current * settings.line_voltage * phases,
        soc_stale_after=settings.soc_stale_after,
        assumed_soc_at_plug_in=settings.assumed_soc_without_car,
    )


def effective_mode(state: LawState) -> ChargeMode:
    """What the user chose: MAX and OFF turn into MANUAL after their first cycle, `mode` still says."""
    return state.desired_mode if state.desired_mode != ChargeMode.MANUAL else state.mode


def cycle_with_goals(
    strategy: Strategy,
    state: LawState,
    settings: ControllerSettings,
    inputs: LawInputs,
    goal_state: GoalState,
    car: CarData | None,
) -> tuple[CycleResult, Decision, GoalState]:
    wallbox = inputs.wallbox
    plugged_in = wallbox is not None and wallbox.error == 0 and wallbox.car_status != CarStatus.NoVehicle
    phases = 3 if inputs.relay_enabled else max(wallbox.phases_in if wallbox else 1, 1)
    model = car_model(settings, phases)
    soc = current_soc(car, wallbox.charged_energy if wallbox else 0.0, inputs.now, model)
    now = local_datetime(inputs.now)
    mode = ChargeMode.MAX if goal_state.resume_max else effective_mode(state)
    fresh = readings_fresh(inputs, settings.stale_after)
    if fresh and inputs.meter is not None and wallbox is not None:
        goal_state = _average_house(goal_state, inputs.meter, wallbox, inputs.now)
    market = _market(inputs, settings, goal_state)
    decision = decide(goal_state.goals, mode, plugged_in, soc, now, model, goal_state.plan_charging, market)
    goal_state = replace(goal_state, plan_charging=decision.plan_charging)
    full_power = decision.action == Action.FULL_POWER and (fresh or not decision.by_price)

    if full_power or (goal_state.resume_max and decision.action == Action.NONE):
        result = strategy(replace(state, desired_mode=ChargeMode.MAX), settings, inputs)
        if goal_state.resume_max:
            return result, decision, replace(goal_state, resume_max=False)
        return (
            replace(result, state=replace(result.state, desired_mode=state.desired_mode)),
            decision,
            goal_state,
        )
    result = strategy(state, settings, inputs)
    if decision.action == Action.STOP:
        already_stopped = wallbox is not None and not wallbox.allow_charging
        stop = Commands(allow_charging=None if already_stopped else False)
        resume_max = goal_state.resume_max or mode == ChargeMode.MAX
        stopped = replace(result, commands=stop, allow_charging_wish=None)
        return stopped, decision, replace(goal_state, resume_max=resume_max)
    return result, decision, goal_state


def _average_house(goal_state: GoalState, meter: MeterData, wallbox: WallboxData, at: float) -> GoalState:
    house = max(meter.power_consumption - wallbox.power, 0.0)
    if goal_state.house_w is None or goal_state.house_at is None:
        return replace(goal_state, house_w=house, house_at=at)
    share = min(max(at - goal_state.house_at, 0.0) / HOUSE_AVERAGE_TIME, 1.0)
    return replace(goal_state, house_w=goal_state.house_w + share * (house - goal_state.house_w), house_at=at)


def _market(inputs: LawInputs, settings: ControllerSettings, goal_state: GoalState) -> Market | None:
    """The prices a plan and the price limit go by, None without a usable tariff."""
    tariff = usable_tariff(inputs.tariff, inputs.now)
    if tariff is None:
        return None
    return Market(
        tariff=tariff,
        forecast=inputs.forecast,
        house_w=goal_state.house_w or 0.0,
        forecast_margin=settings.forecast_margin,
        min_car_w=settings.min_supported_current * settings.line_voltage,
    )


def plan_state(goal_state: GoalState, decision: Decision | None) -> PlanState | None:
    plan = goal_state.goals.plan
    if plan is None:
        return None
    document = plan_document(plan)
    projection = decision.plan if decision is not None else None
    if projection is None:
        return PlanState.model_validate(document)
    finish = projection.projected_finish
    purchase = projection.purchase
    return PlanState.model_validate(
        {
            **document,
            "deadline": projection.deadline.timestamp(),
            "energy_needed_wh": projection.energy_needed_wh,
            "grid_start": projection.grid_start.timestamp(),
            "projected_finish": finish.timestamp() if finish is not None else None,
            "achievable": projection.achievable,
            "slots": list(projection.slots),
            "cost_estimate": purchase.cost if purchase is not None else None,
        }
    )
