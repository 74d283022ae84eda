"""Properties of the tracking strategy over random readings (hypothesis)."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from pvcontrol.models import CarStatus, ChargeMode, MeterData, PhaseMode, Priority, WallboxData, WbError
from services.controller.law import LawInputs, LawState
from services.controller.settings import ControllerSettings
from services.controller.tracking import BRIDGE_MAX_TIME, BRIDGE_MIN_SOC, control_cycle, initial_state

NOW = 1_700_000_000.0
SETTINGS = ControllerSettings(strategy="tracking")

powers = st.floats(min_value=-20_000, max_value=20_000, allow_nan=False)
phase_counts = st.sampled_from([0, 1, 3])


@st.composite
def readings(draw: st.DrawFn, now: float) -> tuple[MeterData, WallboxData]:
    age = draw(st.sampled_from([0.0, 0.0, 0.0, 30.0, 100.0, -10.0]))  # mostly fresh
    m = MeterData(
        ts=now - age,
        power_grid=draw(powers),
        power_battery=draw(st.floats(min_value=-5000, max_value=5000, allow_nan=False)),
        soc_battery=draw(st.floats(min_value=0, max_value=100)),
    )
    wb = WallboxData(
        ts=now - draw(st.sampled_from([0.0, 0.0, 100.0])),
        error=draw(st.sampled_from([0, 0, 0, 1])),
        wb_error=draw(st.sampled_from(list(WbError))),
        car_status=draw(st.sampled_from(list(CarStatus))),
        max_current=draw(st.integers(min_value=0, max_value=32)),
        allow_charging=draw(st.booleans()),
        phases_in=draw(phase_counts),
        phases_out=draw(phase_counts),
        power=draw(st.floats(min_value=0, max_value=25_000)),
    )
    return m, wb


@st.composite
def runs(draw: st.DrawFn) -> tuple[LawState, list[LawInputs]]:
    state = replace(
        initial_state(SETTINGS),
        desired_mode=draw(st.sampled_from(list(ChargeMode))),
        phase_mode=draw(st.sampled_from([PhaseMode.AUTO, PhaseMode.CHARGE_1P, PhaseMode.CHARGE_3P])),
        desired_priority=draw(st.sampled_from(list(Priority))),
    )
    now, steps = NOW, []
    for _ in range(draw(st.integers(min_value=1, max_value=40))):
        now += draw(st.floats(min_value=0.1, max_value=60))
        m, wb = draw(readings(now))
        steps.append(LawInputs(meter=m, wallbox=wb, relay_enabled=draw(st.booleans()), now=now))
    return state, steps


@settings(max_examples=300, deadline=None)
@given(runs())
def test_current_in_range_no_phases_under_load_and_deterministic(
    run: tuple[LawState, list[LawInputs]],
) -> None:
    state, steps = run
    for inputs in steps:
        result = control_cycle(state, SETTINGS, inputs)
        assert result == control_cycle(state, SETTINGS, inputs)  # the same output for the same input
        commands = result.commands
        if commands.max_current is not None:
            assert SETTINGS.min_supported_current <= commands.max_current <= SETTINGS.max_supported_current
        if commands.phases is not None:
            assert inputs.wallbox is not None
            assert inputs.wallbox.phases_out == 0
            assert inputs.wallbox.power == 0
        state = result.state


def charging_at(now: float, amps: int, phases: int, meter: MeterData) -> LawInputs:
    """The car draws `amps` on `phases` at `now`; no relay."""
    power = amps * SETTINGS.line_voltage * phases
    wallbox = WallboxData(
        ts=now,
        car_status=CarStatus.Charging,
        allow_charging=True,
        max_current=amps,
        phases_in=phases,
        phases_out=phases,
        power=power,
    )
    return LawInputs(meter=meter, wallbox=wallbox, relay_enabled=False, now=now)


@settings(max_examples=300, deadline=None)
@given(
    phases=st.sampled_from([1, 3]),
    limit=st.sampled_from([0.0, 5.0, 10.0, 30.0]),
    priority=st.sampled_from([Priority.CAR, Priority.HOME_BATTERY]),
    soc=st.sampled_from([0.0, 40.0, 80.0, 100.0]),
    steps=st.lists(
        st.tuples(
            st.floats(min_value=0.5, max_value=12),  # s since the previous reading
            st.floats(min_value=-3000, max_value=0.999),  # surplus below the minimum, as a share
            st.integers(min_value=6, max_value=16),  # current the wallbox reports
            st.floats(min_value=-3000, max_value=3000),  # battery
        ),
        min_size=1,
        max_size=40,
    ),
)
def test_pv_only_never_charges_from_a_deficit_longer_than_the_limit(
    phases: int,
    limit: float,
    priority: Priority,
    soc: float,
    steps: list[tuple[float, float, int, float]],
) -> None:
    """From the grid never longer than the limit; from a home battery at least BRIDGE_MIN_SOC full (a
    dip it bridges) never longer than BRIDGE_MAX_TIME; from an emptier one never longer than the limit."""
    settings_ = SETTINGS.model_copy(update={"tracking_max_grid_time": limit})
    minimum = settings_.min_supported_current * settings_.line_voltage * phases
    state: LawState = replace(
        initial_state(settings_), desired_mode=ChargeMode.PV_ONLY, mode=ChargeMode.PV_ONLY
    )
    now = first = NOW
    grid_first: float | None = None
    for index, (dt, share, amps, battery) in enumerate(steps):
        if index:
            now += dt
        power = amps * settings_.line_voltage * phases
        surplus = share * minimum if share > 0 else share  # always below the car's minimum
        # surplus = -grid + power - battery (CAR); with HOME_BATTERY a charging battery does not count
        counted_battery = battery if priority == Priority.CAR or battery > 0 else 0.0
        grid = power - counted_battery - surplus
        inputs = charging_at(
            now, amps, phases, MeterData(ts=now, power_grid=grid, power_battery=battery, soc_battery=soc)
        )
        result = control_cycle(replace(state, desired_priority=priority), settings_, inputs)
        grid_first = (now if grid_first is None else grid_first) if grid > 0 else None
        bridged = soc >= BRIDGE_MIN_SOC
        if now - first >= (max(limit, BRIDGE_MAX_TIME) if bridged else limit):
            assert result.commands.allow_charging is False, (
                f"still charging {now - first:.1f} s into a deficit"
            )
        if grid_first is not None and now - grid_first >= limit:
            assert result.commands.allow_charging is False, f"{now - grid_first:.1f} s from the grid"
        state = result.state


@settings(max_examples=300, deadline=None)
@given(
    phases=st.sampled_from([1, 3]),
    limit=st.sampled_from([0.0, 5.0, 10.0]),
    solar_share=st.sampled_from([0.5, 0.8, 0.95]),
    steps=st.lists(
        st.tuples(
            st.floats(min_value=0.5, max_value=12),  # s since the previous reading
            st.floats(min_value=-1.0, max_value=0.999),  # the sun's part of the solar share asked for
            st.integers(min_value=6, max_value=16),  # current the wallbox reports
        ),
        min_size=1,
        max_size=40,
    ),
)
def test_pv_only_with_a_solar_share_never_charges_below_it_longer_than_the_limit(
    phases: int, limit: float, solar_share: float, steps: list[tuple[float, float, int]]
) -> None:
    """With `tracking_min_solar_share`, the grid may give the rest of the car's minimum; a sun below
    that share of it stops the car within `tracking_max_grid_time`, as without the share."""
    settings_ = SETTINGS.model_copy(
        update={"tracking_max_grid_time": limit, "tracking_min_solar_share": solar_share}
    )
    minimum = settings_.min_supported_current * settings_.line_voltage * phases
    state: LawState = replace(
        initial_state(settings_), desired_mode=ChargeMode.PV_ONLY, mode=ChargeMode.PV_ONLY
    )
    now = first = NOW
    for index, (dt, part, amps) in enumerate(steps):
        if index:
            now += dt
        power = amps * settings_.line_voltage * phases
        surplus = part * solar_share * minimum  # always below the share the sun must give
        inputs = charging_at(now, amps, phases, MeterData(ts=now, power_grid=power - surplus))
        result = control_cycle(state, settings_, inputs)
        if now - first >= limit:
            assert result.commands.allow_charging is False, (
                f"still charging {now - first:.1f} s below the share"
            )
        state = result.state
