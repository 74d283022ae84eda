"""The energy-accounting rules (pvcontrol/energy.py) and the meter reading built from flows."""

from __future__ import annotations

import pytest

from pvcontrol.energy import charged_increase, meter_counters_moved, split_by_counters, split_by_flows
from services.meter.flows import meter_data_from_flows


@pytest.mark.parametrize(
    ("previous", "current", "expected"),
    [(1000, 1250, 250), (1000, 999, 0), (1000, 998, 998), (5000, 0, 0)],
    ids=["rise", "1Wh-back-is-no-reset", "2Wh-back-is-a-reset", "reset-to-0"],
)
def test_charged_increase(previous: float, current: float, expected: float) -> None:
    assert charged_increase(previous, current) == expected


def test_meter_counters_move_only_by_more_than_1_wh() -> None:
    assert not meter_counters_moved(1000, 1001)
    assert meter_counters_moved(1000, 1001.5)


@pytest.mark.parametrize(
    ("charged", "grid_rise", "expected"),
    [(400, 100, (300, 100)), (400, 1000, (0, 400)), (400, -50, (400, 0))],
    ids=["part-grid", "grid-above-charged", "grid-counter-back"],
)
def test_split_by_counters(charged: float, grid_rise: float, expected: tuple[float, float]) -> None:
    assert split_by_counters(charged, grid_rise) == expected


def test_split_by_flows_counts_the_unknown_as_bought_and_grid_before_battery() -> None:
    assert split_by_flows(1000, 2000, None, 0) == (0, 0, 1000)
    assert split_by_flows(1000, 0, -500, 0) == (0, 0, 1000)
    assert split_by_flows(1000, 2000, 1000, 1500) == pytest.approx((0, 500, 500))
    assert split_by_flows(-5, 2000, 1000, 0) == (0, 0, 0)


def test_a_reading_from_flows_derives_what_the_device_does_not_measure() -> None:
    derived = meter_data_from_flows(3000, -1200, 400, 55, energy_grid=700, energy_pv=300, ts=5)
    assert (derived.power_consumption, derived.energy_consumption) == (2200, 1000)
    assert (derived.soc_battery, derived.ts) == (55, 5)
    measured = meter_data_from_flows(3000, -1200, 400, consumption=2150, energy=990)
    assert (measured.power_consumption, measured.energy_consumption) == (2150, 990)
