"""The pure parts of the forecast: the clear-sky model of a roof, 15-minute slots, energies, the nowcast
factor and the free tiers' call budget, on fixed dates and an injected clock."""

from __future__ import annotations

import itertools
from datetime import datetime

import pytest

from pvcontrol.device import DeviceError
from pvcontrol.local_time import SLOT, midnight, zone
from pvcontrol.models import ForecastPeriod
from services.forecast import periods
from services.forecast.budget import CallBudget
from services.forecast.device import Plane
from services.forecast.nowcast import Nowcast
from services.forecast.solar import clear_sky, sun_times

BERLIN = zone("Europe/Berlin")
MUNICH = (48.14, 11.58)
SOUTH = [Plane(kwp=10, tilt=30, azimuth=180)]
EAST_WEST = [Plane(kwp=5, tilt=30, azimuth=90), Plane(kwp=5, tilt=30, azimuth=270)]


def local(*args: int) -> float:
    return datetime(*args, tzinfo=BERLIN).timestamp()  # type: ignore[arg-type, misc]


def day_of(planes: list[Plane], *date: int) -> list[ForecastPeriod]:
    start = local(*date)
    return clear_sky(*MUNICH, 520.0, planes, 0.85, start, midnight(start, BERLIN, 1))


def energy(day: list[ForecastPeriod]) -> float:
    return sum(p.power_pv for p in day) * SLOT / 3600


@pytest.fixture(scope="module")
def june_south() -> list[ForecastPeriod]:
    return day_of(SOUTH, 2026, 6, 21)


@pytest.fixture(scope="module")
def june_east_west() -> list[ForecastPeriod]:
    return day_of(EAST_WEST, 2026, 6, 21)


# --- the clear-sky model ---------------------------------------------------------------------------


def test_a_clear_june_day_on_a_south_roof_has_the_right_order_of_magnitude(
    june_south: list[ForecastPeriod],
) -> None:
    assert len(june_south) == 96
    assert 50_000 < energy(june_south) < 80_000  # 5-8 kWh per kWp after losses
    assert 6_500 < max(p.power_pv for p in june_south) < 8_600  # below 10 kWp x 0.85
    assert all(p.power_pv == 0 for p in june_south[:16])  # 00:00-04:00 dark
    assert all(p.power_pv == 0 for p in june_south[-8:])  # 22:00-24:00 dark


def test_the_south_roof_peaks_at_solar_noon_and_is_symmetric_around_it(
    june_south: list[ForecastPeriod],
) -> None:
    peak = max(june_south, key=lambda p: p.power_pv)
    # solar noon in Munich on 21 June: 13:15 CEST (longitude 11.58 E, equation of time -2 min)
    noon = local(2026, 6, 21, 13, 15)
    assert abs((peak.start + peak.end) / 2 - noon) <= SLOT
    by_middle = {round((p.start + p.end) / 2): p.power_pv for p in june_south}
    centre = round(local(2026, 6, 21, 13, 7, 30))  # a slot middle next to solar noon
    for hours in (1, 2, 3, 4, 5):
        before, after = by_middle[centre - hours * 3600], by_middle[centre + hours * 3600 + 900]
        assert before == pytest.approx(after, rel=0.06)


def test_an_east_west_roof_gives_less_at_noon_more_early_and_late_and_mirrors_itself(
    june_south: list[ForecastPeriod], june_east_west: list[ForecastPeriod]
) -> None:
    assert energy(june_east_west) < energy(june_south)
    assert max(p.power_pv for p in june_east_west) < 0.9 * max(p.power_pv for p in june_south)
    seven, nineteen = 7 * 4, 19 * 4 + 2  # slots at 07:00 and 19:30 CEST
    assert june_east_west[seven].power_pv > june_south[seven].power_pv
    assert june_east_west[nineteen].power_pv > june_south[nineteen].power_pv
    east = day_of([EAST_WEST[0]], 2026, 6, 21)
    west = day_of([EAST_WEST[1]], 2026, 6, 21)
    assert energy(east) == pytest.approx(energy(west), rel=0.05)
    assert energy(east[:53]) > 2 * energy(east[53:])  # east before solar noon (13:15)
    assert energy(west[53:]) > 2 * energy(west[:53])


def test_december_gives_far_less_than_june(june_south: list[ForecastPeriod]) -> None:
    december = day_of(SOUTH, 2026, 12, 21)
    assert 10_000 < energy(december) < 0.5 * energy(june_south)


def test_sunrise_and_sunset_in_munich_and_none_in_the_polar_night() -> None:
    sunrise, sunset = sun_times(*MUNICH, local(2026, 6, 21, 12), BERLIN)
    assert sunrise == pytest.approx(local(2026, 6, 21, 5, 13), abs=300)
    assert sunset == pytest.approx(local(2026, 6, 21, 21, 17), abs=300)
    assert sun_times(78.2, 15.6, local(2026, 12, 21, 12), zone("Arctic/Longyearbyen")) == (None, None)


# --- slots, resampling, energies --------------------------------------------------------------------


def test_the_periods_run_from_the_current_quarter_hour_to_the_end_of_tomorrow() -> None:
    grid = periods.slots(local(2026, 6, 21, 10, 7, 12), BERLIN)
    assert grid[0] == (local(2026, 6, 21, 10), local(2026, 6, 21, 10, 15))
    assert grid[-1][1] == local(2026, 6, 23)
    assert len(grid) == 14 * 4 + 96  # 10:00-24:00 today, all of tomorrow
    assert all(b[0] == a[1] for a, b in itertools.pairwise(grid))


def test_a_25_hour_tomorrow_has_100_periods() -> None:
    grid = periods.slots(local(2026, 10, 24, 23, 50), BERLIN)  # clocks go back on 25 October 2026
    assert len(grid) == 1 + 100


def test_resampling_averages_by_time_and_leaves_gaps_empty() -> None:
    half_hours = [
        ForecastPeriod(start=0, end=1800, power_pv=1000),
        ForecastPeriod(start=1800, end=3600, power_pv=3000),
    ]
    grid = [(0.0, 900.0), (900.0, 1800.0), (1800.0, 2700.0), (3600.0, 4500.0)]
    assert periods.resample(half_hours, grid) == [1000, 1000, 3000, None]
    assert periods.resample(half_hours, [(900.0, 2700.0)]) == [2000]
    assert periods.resample(half_hours, [(3000.0, 3900.0)]) == [3000]  # 600 of 900 s covered
    assert periods.resample(half_hours, [(3300.0, 4200.0)]) == [None]  # 300 of 900 s: a gap


def test_energies_count_from_now_to_midnight_and_all_of_tomorrow() -> None:
    now = local(2026, 6, 21, 22, 37, 30)
    grid = periods.slots(now, BERLIN)
    constant = periods.corrected(grid, [1000.0] * len(grid), midnight(now, BERLIN, 1), 1.0)
    data = periods.document(now, BERLIN, constant, "test", 0, (None, None))
    assert data.periods[0].start == local(2026, 6, 21, 22, 30)
    assert data.energy_today_remaining == pytest.approx(1000 * (1 + 22.5 / 60))  # 22:37:30 -> 24:00
    assert data.energy_tomorrow == pytest.approx(24_000)


def test_the_nowcast_scales_today_only() -> None:
    now = local(2026, 6, 21, 22)
    grid = periods.slots(now, BERLIN)
    scaled = periods.corrected(grid, [1000.0] * len(grid), midnight(now, BERLIN, 1), 0.4)
    assert {p.power_pv for p in scaled if p.start < local(2026, 6, 22)} == {400}
    assert {p.power_pv for p in scaled if p.start >= local(2026, 6, 22)} == {1000}


def test_planes_are_summed_where_every_plane_has_a_forecast() -> None:
    east = [ForecastPeriod(start=0, end=900, power_pv=100), ForecastPeriod(start=900, end=1800, power_pv=200)]
    west = [
        ForecastPeriod(start=900, end=1800, power_pv=50),
        ForecastPeriod(start=1800, end=2700, power_pv=60),
    ]
    assert periods.sum_planes([east, west]) == [ForecastPeriod(start=900, end=1800, power_pv=250)]


# --- the nowcast factor ------------------------------------------------------------------------------


def nowcast() -> Nowcast:
    return Nowcast(window=3600, low=0.1, high=1.5, min_forecast=500)


def feed(n: Nowcast, start: float, seconds: float, measured: float, forecast: float) -> None:
    for t in range(int(start), int(start + seconds), 5):
        n.add(t, measured, forecast)


def test_the_nowcast_factor_is_measured_over_forecast_in_the_last_hour() -> None:
    n = nowcast()
    feed(n, 0, 3600, 1500, 5000)
    assert n.factor(3600) == pytest.approx(0.3)
    feed(n, 3600, 3600, 4000, 5000)  # the sky cleared an hour ago: the old readings have left the window
    assert n.factor(7200) == pytest.approx(0.8, abs=0.01)


@pytest.mark.parametrize(("measured", "factor"), [(0.0, 0.1), (100.0, 0.1), (9000.0, 1.5)])
def test_the_nowcast_factor_is_bounded(measured: float, factor: float) -> None:
    n = nowcast()
    feed(n, 0, 3600, measured, 5000)
    assert n.factor(3600) == factor


def test_no_correction_without_enough_readings_or_forecast() -> None:
    n = nowcast()
    feed(n, 0, 1200, 1000, 5000)  # 20 minutes: less than half the window
    assert n.factor(1200) == 1.0
    dawn = nowcast()
    feed(dawn, 0, 3600, 50, 200)  # too little sun to compare
    assert dawn.factor(3600) == 1.0
    late = nowcast()
    feed(late, 0, 3600, 1000, 5000)
    assert late.factor(3600 + 7200) == 1.0  # the meter went silent two hours ago


# --- the call budget ---------------------------------------------------------------------------------


def test_the_call_budget_refuses_calls_beyond_the_limit_until_the_period_passed() -> None:
    now = [0.0]
    budget = CallBudget(limit=12, period=3600, clock=lambda: now[0])
    for _ in range(6):
        budget.spend(2)  # two planes per poll
    with pytest.raises(DeviceError, match="12 calls in 3600 s used up; next in 3600 s"):
        budget.spend(2)
    now[0] = 3600.0
    budget.spend(2)
