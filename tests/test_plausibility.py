"""The plausibility rules every source applies before it publishes (pvcontrol/plausibility.py): table tests
of the stateless bounds and the counter steps, the tracker and one source's check on an injected clock, and
hypothesis properties of the counter rules."""

from __future__ import annotations

import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pvcontrol.models import CarData, MeterData, WallboxData
from pvcontrol.plausibility import (
    COUNTER_STEP,
    NOISE,
    CounterTracker,
    ImplausibleReading,
    SourceCheck,
    Step,
    counter_step,
    energy_limit,
    max_rise,
    problem,
)
from pvcontrol.readings import TrustedReading

NOW = 1_700_000_000.0


class Clock:
    def __init__(self, at: float = 0.0) -> None:
        self.at = at

    def __call__(self) -> float:
        return self.at


@pytest.mark.parametrize(
    ("reading", "found"),
    [
        (MeterData(ts=NOW, power_pv=5_000_000), "power_pv 5e+06 W is beyond"),
        (MeterData(ts=NOW, power_grid=-1e12), "power_grid -1e+12 W"),
        (MeterData(ts=NOW, power_battery=1.7e308), "power_battery 1.7e+308 W"),
        (MeterData(ts=NOW, soc_battery=180), "soc_battery 180 %"),
        (MeterData(ts=NOW, energy_consumption_grid=1e12), "energy_consumption_grid 1e+12 Wh is beyond"),
        (MeterData(ts=NOW, energy_consumption=1e308), "energy_consumption 1e+308 Wh"),
        (MeterData(ts=NOW, energy_consumption_pv=-1), "energy_consumption_pv -1 Wh is negative"),
        (MeterData(ts=NOW + 3600), "in the future"),
        (WallboxData(ts=NOW, power=1e12), "power 1e+12 W"),
        (WallboxData(ts=NOW, total_energy=1e12), "total_energy 1e+12 Wh"),
        (WallboxData(ts=NOW, charged_energy=1.7e308), "charged_energy 1.7e+308 Wh"),
        (WallboxData(ts=NOW, power=-500), "power -500 W is negative"),
        (CarData(ts=NOW, soc=101), "soc 101 %"),
        (CarData(ts=NOW, soc=50, cruising_range=1e9), "cruising_range"),
        (CarData(ts=NOW, soc=50, mileage=-3), "mileage"),
        (CarData(ts=NOW, soc=50, session_energy=1e12), "session_energy"),
    ],
)
def test_implausible_readings_name_their_problem(reading: MeterData, found: str) -> None:
    assert found in (problem(reading, NOW) or "")


@pytest.mark.parametrize(
    "reading",
    [
        MeterData(ts=NOW, power_pv=9_000, power_grid=-49_999, soc_battery=100, energy_consumption=3e7),
        WallboxData(ts=NOW, power=22_000, charged_energy=80_000, total_energy=5e6, max_current=32),
        WallboxData(ts=NOW, power=-20),  # a few watts below zero: measurement noise
        CarData(ts=NOW, soc=0, cruising_range=0, mileage=250_000, session_energy=0),
        MeterData(ts=NOW + 4),  # a clock a little ahead
    ],
)
def test_plausible_readings_pass(reading: MeterData) -> None:
    assert problem(reading, NOW) is None


def test_the_energy_bound_follows_the_plant_limit() -> None:
    assert problem(MeterData(ts=NOW, energy_consumption=2e10), NOW) is None  # 46 years at 50 kW
    assert problem(MeterData(ts=NOW, energy_consumption=2e10), NOW, power_limit=10_000) is not None


# --- counter steps ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("previous", "value", "elapsed", "kind", "published"),
    [
        (None, 5000.0, 0.0, Step.FIRST, 5000.0),
        (5000.0, 5000.0, 5.0, Step.RISE, 5000.0),
        (5000.0, 5020.0, 5.0, Step.RISE, 5020.0),
        (5000.0, 4999.0 + max_rise(5.0), 5.0, Step.RISE, 4999.0 + max_rise(5.0)),
        (5000.0, 5001.0 + max_rise(5.0), 5.0, Step.IMPLAUSIBLE, 5001.0 + max_rise(5.0)),
        (5000.0, 80_000.0, 3600.0, Step.RISE, 80_000.0),  # 50 kW for an hour
        (5000.0, 1e12, 3600.0, Step.IMPLAUSIBLE, 1e12),
        (5010.0, 5000.0, 5.0, Step.NOISE, 5010.0),  # a late answer 10 Wh lower: no reset
        (5010.0, 5010.0 - NOISE, 5.0, Step.NOISE, 5010.0),
        (7e6, 7e6 - 600, 5.0, Step.NOISE, 7e6),  # 1e-4 of a large counter
        (5010.0, 10.0, 5.0, Step.RESET, 10.0),  # a new session
        (5010.0, 0.0, 0.0, Step.RESET, 0.0),
        (80.0, 0.0, 5.0, Step.RESET, 0.0),  # even a short session ends in a reset
        (5010.0, 3000.0, 5.0, Step.IMPLAUSIBLE, 3000.0),  # neither noise nor near zero
        (5010.0, -1.0, 5.0, Step.IMPLAUSIBLE, -1.0),
        (5010.0, 5000.0, -30.0, Step.NOISE, 5010.0),  # an older reading: noise, never a rise
        (None, 1.7e308, 0.0, Step.IMPLAUSIBLE, 1.7e308),
    ],
)
def test_counter_steps(
    previous: float | None, value: float, elapsed: float, kind: Step, published: float
) -> None:
    step = counter_step(previous, value, elapsed)
    assert (step.kind, step.value) == (kind, published)
    assert (step.reason is not None) == (kind is Step.IMPLAUSIBLE)
    counted = {Step.RISE: value - (previous or 0), Step.RESET: value}.get(kind, 0.0)
    assert step.added == counted  # what a history adds to a session


counters = st.floats(min_value=0, max_value=1e9, allow_nan=False)
elapsed_times = st.floats(min_value=-60, max_value=86_400, allow_nan=False)


@given(counters, counters, elapsed_times)
def test_an_accepted_counter_never_rises_faster_than_the_plant_limit_allows(
    previous: float, value: float, elapsed: float
) -> None:
    step = counter_step(previous, value, elapsed)
    if step.kind is not Step.IMPLAUSIBLE:
        assert step.value - previous <= max_rise(elapsed) + 1e-6
    if step.kind is Step.RESET:
        assert step.value <= max_rise(elapsed)
        assert step.value < previous


@given(counters, counters, elapsed_times)
def test_a_counter_never_goes_back_except_by_a_reset(previous: float, value: float, elapsed: float) -> None:
    step = counter_step(previous, value, elapsed)
    if step.kind in (Step.RISE, Step.NOISE):
        assert step.value >= previous


@given(st.floats(min_value=1_000, max_value=1e9), st.floats(min_value=0.001, max_value=NOISE))
def test_a_small_step_back_is_never_a_reset(previous: float, back: float) -> None:
    assert counter_step(previous, previous - back, 5.0).kind is Step.NOISE


@given(st.floats(allow_nan=True, allow_infinity=True), elapsed_times)
def test_no_value_beyond_the_bounds_is_ever_accepted(value: float, elapsed: float) -> None:
    step = counter_step(1000.0, value, elapsed)
    if not 0 <= value <= energy_limit(50_000):
        assert step.kind is Step.IMPLAUSIBLE


@given(
    st.floats(min_value=1_000, max_value=1e7),
    st.lists(
        st.tuples(st.floats(min_value=0, max_value=20), st.integers(min_value=0, max_value=3)), max_size=60
    ),
)
def test_late_answers_never_count_energy_twice(start: float, steps: list[tuple[float, int]]) -> None:
    """A true counter rising by up to 20 Wh every 5 s, read with some answers up to 3 readings late: what
    the steps add up to is what the counter really rose (5,010 Wh must never become 10,010 Wh)."""
    true = [start]
    for rise, _ in steps:
        true.append(true[-1] + rise)
    previous, counted, highest = start, 0.0, start
    for i, (_, late) in enumerate(steps, start=1):
        answer = true[max(0, i - late)]
        step = counter_step(previous, answer, 5.0)
        assert step.kind in (Step.RISE, Step.NOISE)  # never a reset
        counted += step.added
        previous, highest = step.value, max(highest, answer)
    assert counted == pytest.approx(highest - start)


# --- the tracker --------------------------------------------------------------------------------------


def test_a_reading_is_committed_as_a_whole_or_not_at_all() -> None:
    tracker = CounterTracker()
    assert tracker.check({"a": 1000.0, "b": 2000.0}, 0.0).problem is None
    refused = tracker.check({"a": 1010.0, "b": 1e9}, 5.0)
    assert (refused.problem or "").startswith("b rose by")
    assert tracker.accepted["a"].value == 1000.0  # the good counter did not move on either
    assert tracker.check({"a": 1020.0, "b": 2010.0}, 10.0).problem is None


def test_a_counter_at_zero_is_not_counting_yet_and_the_next_value_starts_the_series() -> None:
    tracker = CounterTracker()
    assert tracker.check({"a": 0.0}, 0.0).problem is None  # e.g. no MeterValues yet
    assert tracker.check({"a": 1_000_000.0}, 1.0).problem is None
    assert tracker.check({"a": 2_000_000.0}, 2.0).problem is not None  # from there on it is counted
    assert tracker.check({"a": 1e12}, 3.0).problem is not None


def test_noise_is_held_at_the_previous_value() -> None:
    tracker = CounterTracker()
    tracker.check({"a": 5010.0}, 0.0)
    assert tracker.check({"a": 5000.0}, 5.0).values == {"a": 5010.0}
    assert tracker.check({"a": 5015.0}, 10.0).values == {"a": 5015.0}


def test_an_honest_rise_after_a_refused_reading_counts_from_the_last_accepted_one() -> None:
    tracker = CounterTracker()
    tracker.check({"a": 10.0}, 0.0)
    assert tracker.check({"a": 1e12}, 5.0).problem is not None
    assert tracker.check({"a": 3000.0}, 10.0).problem is not None
    # 120 s after the last accepted reading, 50 kW could have delivered 1.67 kWh (+ slack, + a step)
    assert tracker.check({"a": 3000.0}, 120.0).problem is None


def test_a_replaced_meter_is_taken_as_a_new_series_after_it_ran_consistently() -> None:
    tracker = CounterTracker(rebase_after=300.0)
    tracker.check({"a": 9_000_000.0}, 0.0)
    for t in range(5, 305, 5):  # the new series begins at 5 s
        assert tracker.check({"a": 400_000.0 + t}, float(t)).problem is not None, t
    verdict = tracker.check({"a": 400_305.0}, 305.0)
    assert (verdict.problem, verdict.rebased, verdict.values) == (None, ["a"], {"a": 400_305.0})
    assert tracker.check({"a": 400_310.0}, 310.0).problem is None


def test_an_erratic_series_is_never_taken_as_a_new_one() -> None:
    tracker = CounterTracker(rebase_after=30.0)
    tracker.check({"a": 9_000_000.0}, 0.0)
    for t in range(5, 600, 5):
        garbage = 1e6 if t % 10 else 5e8  # jumps back and forth
        assert tracker.check({"a": garbage}, float(t)).problem is not None


# --- one source --------------------------------------------------------------------------------------


def test_a_source_check_raises_for_implausible_readings_and_holds_noise() -> None:
    clock = Clock()
    check = SourceCheck[WallboxData](clock=clock, wall=lambda: NOW, rebase_after=60)
    assert check.check(WallboxData(ts=NOW, charged_energy=5010, total_energy=1e6)).charged_energy == 5010
    clock.at = 5
    held = check.check(WallboxData(ts=NOW, charged_energy=5000, total_energy=1e6))
    assert held.charged_energy == 5010
    with pytest.raises(ImplausibleReading, match="1e\\+12 W"):
        check.check(WallboxData(ts=NOW, power=1e12))
    with pytest.raises(ImplausibleReading, match="total_energy rose by"):
        check.check(WallboxData(ts=NOW, total_energy=1e9))
    clock.at = 10
    reset = check.check(WallboxData(ts=NOW, charged_energy=0, total_energy=1e6 + 20))
    assert reset.charged_energy == 0
    cars = SourceCheck[CarData](clock=clock, wall=lambda: NOW)
    assert cars.check(CarData(ts=NOW, soc=50)) == CarData(ts=NOW, soc=50)
    with pytest.raises(ImplausibleReading, match="soc 180"):
        cars.check(CarData(ts=NOW, soc=180))


def test_a_rebase_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    check = SourceCheck[MeterData](clock=clock, wall=lambda: NOW, rebase_after=20)
    check.log = logging.getLogger("test.plausibility")
    check.check(MeterData(ts=NOW, energy_consumption_grid=9e6))
    with caplog.at_level(logging.WARNING, "test.plausibility"):
        for t in (5, 10, 15):
            clock.at = t
            with pytest.raises(ImplausibleReading):
                check.check(MeterData(ts=NOW, energy_consumption_grid=500_000 + t))
        clock.at = 25
        rebased = check.check(MeterData(ts=NOW, energy_consumption_grid=500_025))
    assert rebased.energy_consumption_grid == 500_025
    assert [r.message for r in caplog.records] == [
        "energy_consumption_grid ran off its series for 20 s: taken as a new count"
    ]
    assert COUNTER_STEP > 0


# --- what a consumer receives (pvcontrol/readings.py) ------------------------------------------------


def wallbox_document(ts: float, charged: float, total: float, error: int = 0) -> bytes:
    return (
        WallboxData(ts=ts, charged_energy=charged, total_energy=total, error=error).model_dump_json().encode()
    )


def test_a_consumer_applies_the_counter_rules_to_what_it_receives() -> None:
    reading = TrustedReading(
        WallboxData, "wallbox", logging.getLogger("test.readings"), clock=lambda: NOW + 60
    )
    first = reading.receive(wallbox_document(NOW, 5010, 1_005_010))
    assert first is not None
    late = reading.receive(wallbox_document(NOW + 5, 5000, 1_005_000))  # one late answer, 10 Wh lower
    assert late is not None
    assert (late.charged_energy, late.total_energy) == (5010, 1_005_010)  # noise, not a new session
    assert reading.receive(wallbox_document(NOW + 10, 1e9, 1e9)) is None  # +1 GWh in 5 s
    assert reading.latest is None
    assert reading.receive(wallbox_document(NOW + 12, 0, 0, error=3)) is not None  # repeats, moves nothing
    new_session = reading.receive(wallbox_document(NOW + 15, 20, 1_005_030))
    assert new_session is not None
    assert new_session.charged_energy == 20
    assert reading.receive(wallbox_document(NOW + 20, 1.7e308, 1_005_040)) is None
