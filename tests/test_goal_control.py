"""The goals on top of the strategies (pure), and the controller process taking goal commands."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import time as clock_time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pvcontrol.models import CarData, CarStatus, ChargeMode, MeterData, WallboxData
from services.controller import law, tracking
from services.controller.goal_control import GoalState, cycle_with_goals
from services.controller.goals import Goals, Plan
from services.controller.law import LawInputs, LawState
from services.controller.settings import ControllerSettings
from tests.helpers import RESTORES, Broker, MqttProbe, ServiceProcess, running

SETTINGS = ControllerSettings(cycle_time=1)
NOW = 1_800_000_000.0
PV_ONLY, MAX, MANUAL = ChargeMode.PV_ONLY, ChargeMode.MAX, ChargeMode.MANUAL


def inputs(grid: float = 0.0, allow: bool = False, power: float = 0.0, phases_out: int = 0) -> LawInputs:
    meter = MeterData(ts=NOW, power_grid=grid, soc_battery=100)
    wallbox = WallboxData(
        ts=NOW,
        car_status=CarStatus.Charging if allow else CarStatus.WaitingForVehicle,
        allow_charging=allow,
        max_current=6,
        phases_in=1,
        phases_out=phases_out,
        power=power,
    )
    return LawInputs(meter=meter, wallbox=wallbox, relay_enabled=False, now=NOW)


def car(soc: float) -> CarData:
    return CarData(ts=NOW, soc=soc)


@pytest.mark.parametrize(
    ("goals", "soc", "mode", "expected_current", "expected_allow"),
    [
        pytest.param(Goals(min_soc=20), 10, PV_ONLY, 16, True, id="pv-no-sun-soc10-min20-16A-on"),
        pytest.param(Goals(min_soc=20), 25, PV_ONLY, None, None, id="pv-no-sun-soc25-min20-strategy-idle"),
        pytest.param(
            Goals(limit_soc=80), 80, MAX, None, None, id="max-first-cycle-soc80-limit80-nothing-to-stop"
        ),
    ],
)
def test_goal_overrides_with_the_original_law(
    goals: Goals, soc: float, mode: ChargeMode, expected_current: int | None, expected_allow: bool | None
) -> None:
    state = LawState(desired_mode=mode, mode=mode)
    result, _, _ = cycle_with_goals(law.control_cycle, state, SETTINGS, inputs(), GoalState(goals), car(soc))
    assert result.commands.max_current == expected_current
    assert result.commands.allow_charging == expected_allow
    if mode != MAX:
        assert result.state.desired_mode == mode  # the user's mode is kept


def test_limit_stops_pv_charging_and_sends_nothing_else() -> None:
    state = LawState(desired_mode=PV_ONLY, mode=PV_ONLY)
    charging = inputs(grid=-3000, allow=True, power=1380, phases_out=1)
    result, decision, _ = cycle_with_goals(
        law.control_cycle, state, SETTINGS, charging, GoalState(Goals(limit_soc=80)), car(80)
    )
    assert (result.commands.allow_charging, result.commands.max_current) == (False, None)
    assert decision.reason == "limit 80 % reached (80 %)"


def test_a_max_charge_stopped_by_the_limit_resumes_when_the_limit_is_raised() -> None:
    state = LawState(desired_mode=MANUAL, mode=MAX)  # MAX after its first cycle
    charging = inputs(allow=True, power=3680, phases_out=1)
    result, _, goal_state = cycle_with_goals(
        law.control_cycle, state, SETTINGS, charging, GoalState(Goals(limit_soc=80)), car(81)
    )
    assert result.commands.allow_charging is False
    assert goal_state.resume_max
    stopped = inputs(allow=False)
    raised = GoalState(Goals(limit_soc=90), resume_max=True)
    result, _, goal_state = cycle_with_goals(
        law.control_cycle, result.state, SETTINGS, stopped, raised, car(81)
    )
    assert (result.commands.max_current, result.commands.allow_charging) == (16, True)
    assert not goal_state.resume_max


def test_a_plan_due_now_charges_at_full_power_and_says_why() -> None:
    state = LawState(desired_mode=PV_ONLY, mode=PV_ONLY)
    deadline = time.localtime(NOW + 1800)  # 30 min from now: 30 -> 80 % cannot be done
    plan = Plan(80, clock_time(deadline.tm_hour, deadline.tm_min))
    result, decision, goal_state = cycle_with_goals(
        law.control_cycle, state, SETTINGS, inputs(), GoalState(Goals(plan=plan)), car(30)
    )
    assert (result.commands.max_current, result.commands.allow_charging) == (16, True)
    assert goal_state.plan_charging
    assert decision.reason is not None
    assert "cannot be met" in decision.reason


READINGS = st.builds(
    inputs,
    grid=st.floats(-12_000, 12_000),
    allow=st.booleans(),
    power=st.floats(0, 11_000),
    phases_out=st.sampled_from([0, 1, 3]),
)
STATES = st.builds(
    LawState,
    desired_mode=st.sampled_from(list(ChargeMode)),
    mode=st.sampled_from(list(ChargeMode)),
    allow_charging_delay=st.floats(0, 120),
)


@settings(max_examples=300, deadline=None)
@given(state=STATES, readings=READINGS, soc=st.floats(1, 100))
def test_without_goals_each_strategy_is_unchanged_bit_for_bit(
    state: LawState, readings: LawInputs, soc: float
) -> None:
    for strategy in (law.control_cycle, tracking.control_cycle):
        alone = strategy(state, SETTINGS, readings)
        with_goals, _, _ = cycle_with_goals(strategy, state, SETTINGS, readings, GoalState(), car(soc))
        assert with_goals == alone


# --- the controller process ------------------------------------------------------------------------


@pytest.fixture
def controller(
    mqtt_broker: Broker, prefix: str, probe: MqttProbe, tmp_path: Path
) -> Iterator[ServiceProcess]:
    env = {"PVC_CONTROLLER__CYCLE_TIME": "0.2"}
    with running(["controller"], mqtt_broker, prefix, tmp_path, env) as process:
        probe.wait_for(f"{prefix}/controller/status", lambda m: m.payload == b"online")
        yield process


def publish_readings(probe: MqttProbe, prefix: str, soc: float) -> None:
    probe.publish_json(f"{prefix}/meter/state", {"ts": time.time(), "power_grid": 200, "soc_battery": 100})
    wallbox = {"ts": time.time(), "car_status": 3, "max_current": 6, "phases_in": 3}
    probe.publish_json(f"{prefix}/wallbox/state", wallbox)
    probe.publish_json(f"{prefix}/car/state", {"ts": time.time(), "soc": soc})


def controller_state(probe: MqttProbe, prefix: str, after: int, **expected: Any) -> dict[str, Any]:
    state: dict[str, Any] = probe.wait_json(
        f"{prefix}/controller/state", lambda s: all(s.get(k) == v for k, v in expected.items()), after=after
    )
    return state


def test_min_soc_over_mqtt_charges_at_full_power_without_sun(
    probe: MqttProbe, prefix: str, controller: ServiceProcess
) -> None:
    publish_readings(probe, prefix, soc=12)
    probe.publish(f"{prefix}/controller/desired_mode/set", "PV_ONLY")
    mark = probe.mark()
    probe.publish(f"{prefix}/controller/min_soc/set", "20")
    assert probe.wait_for(f"{prefix}/wallbox/max_current/set", after=mark).payload == b"16"
    assert probe.wait_for(f"{prefix}/wallbox/allow_charging/set", after=mark).payload == b"true"
    state = controller_state(probe, prefix, mark, min_soc=20, soc=12.0, soc_source="car")
    assert state["desired_mode"] == "PV_ONLY"
    assert "below the minimum" in state["reason"]


def test_bad_goal_commands_are_rejected_and_change_nothing(
    probe: MqttProbe, prefix: str, controller: ServiceProcess
) -> None:
    probe.publish(f"{prefix}/controller/min_soc/set", "30")
    controller_state(probe, prefix, 0, min_soc=30)
    for topic, payload in [
        ("min_soc", "150"),
        ("limit_soc", "20"),  # below the minimum
        ("plan", '{"soc": 80, "time": "25:00"}'),
        ("plan", "tomorrow"),
        ("price_limit", "25"),  # cents, not per kWh
        ("price_limit", "cheap"),
    ]:
        mark = probe.mark()
        probe.publish(f"{prefix}/controller/{topic}/set", payload)
        error = probe.wait_json(f"{prefix}/controller/error", lambda _e: True, after=mark)
        assert error["topic"].endswith(f"{topic}/set")
    mark = probe.mark()
    state = controller_state(probe, prefix, mark)
    assert (state["min_soc"], state["limit_soc"], state["plan"], state["price_limit"]) == (
        30,
        None,
        None,
        None,
    )


def test_goals_survive_a_restart(probe: MqttProbe, prefix: str, mqtt_broker: Broker, tmp_path: Path) -> None:
    env = {"PVC_CONTROLLER__CYCLE_TIME": "0.2"}
    publish_readings(probe, prefix, soc=50)
    with running(["controller"], mqtt_broker, prefix, tmp_path, env):
        probe.wait_for(f"{prefix}/controller/status", lambda m: m.payload == b"online")
        probe.publish(f"{prefix}/controller/limit_soc/set", "85")
        probe.publish(f"{prefix}/controller/price_limit/set", "0.12")
        probe.publish(f"{prefix}/controller/plan/set", '{"soc": 80, "time": "07:00", "days": ["mon"]}')
        state = controller_state(probe, prefix, 0, limit_soc=85, price_limit=0.12)
        probe.wait_json(f"{prefix}/controller/state", lambda s: s["plan"] is not None)
    mark = probe.mark()
    with running(["controller"], mqtt_broker, prefix, tmp_path, {**env, **RESTORES}):
        state = controller_state(probe, prefix, mark, limit_soc=85, price_limit=0.12)
        assert state["plan"]["soc"] == 80
        assert state["plan"]["days"] == ["mon"]
        assert state["plan"]["grid_start"] < state["plan"]["deadline"]
        mark = probe.mark()
        probe.publish(f"{prefix}/controller/plan/set", "")  # an empty payload clears the plan
        controller_state(probe, prefix, mark, plan=None)
        mark = probe.mark()
        probe.publish(f"{prefix}/controller/price_limit/set", "")  # empty: off
        controller_state(probe, prefix, mark, price_limit=None)


def hourly_tariff(prices: list[float]) -> dict[str, Any]:
    hour = time.time() - 600  # the current period has 50 min to go whenever the test runs
    periods = [
        {"start": hour + k * 3600, "end": hour + (k + 1) * 3600, "grid_price": p, "feed_in": 0.08}
        for k, p in enumerate(prices)
    ]
    return {"ts": time.time(), "error": 0, "source": "Awattar", "currency": "EUR", "periods": periods}


def test_a_plan_buys_in_the_cheapest_hours_of_p_tariff_state(
    probe: MqttProbe, prefix: str, controller: ServiceProcess
) -> None:
    """P/tariff/state as the tariff service publishes it: 50 -> 70 % (13 kWh, 1.2 h at 11 kW) by 6 h from
    now; this hour is the cheapest, then it is the dearest."""
    publish_readings(probe, prefix, soc=50)
    probe.publish(f"{prefix}/controller/desired_mode/set", "PV_ONLY")
    probe.publish_json(f"{prefix}/tariff/state", hourly_tariff([0.05, 0.3, 0.3, 0.3, 0.25, 0.3, 0.3, 0.3]))
    deadline = time.localtime(time.time() + 6 * 3600)
    mark = probe.mark()
    probe.publish(
        f"{prefix}/controller/plan/set",
        f'{{"soc": 70, "time": "{deadline.tm_hour:02}:{deadline.tm_min:02}"}}',
    )
    assert probe.wait_for(f"{prefix}/wallbox/max_current/set", after=mark).payload == b"16"
    assert probe.wait_for(f"{prefix}/wallbox/allow_charging/set", after=mark).payload == b"true"
    state = probe.wait_json(
        f"{prefix}/controller/state", lambda s: bool(s["plan"] and s["plan"]["slots"]), after=mark
    )
    plan = state["plan"]
    assert plan["slots"][0]["grid_price"] == 0.05
    assert plan["cost_estimate"] is not None
    assert "from the grid at 0.05" in state["reason"]
    assert state["desired_mode"] == "PV_ONLY"

    mark = probe.mark()
    publish_readings(probe, prefix, soc=50)
    probe.publish_json(f"{prefix}/tariff/state", hourly_tariff([0.9, 0.3, 0.3, 0.3, 0.25, 0.3, 0.3, 0.3]))
    state = probe.wait_json(
        f"{prefix}/controller/state", lambda s: "sun first" in (s.get("reason") or ""), after=mark
    )
    assert 0.9 not in [slot["grid_price"] for slot in state["plan"]["slots"]]
    assert 0.25 in [slot["grid_price"] for slot in state["plan"]["slots"]]
