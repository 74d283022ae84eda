"""The benchmark's forecasts and home battery (bench/forecast.py, bench/plant.py): what the law is fed
must be a valid `P/forecast/state` document whose energies agree with its periods, the nowcast must
correct a wrong sky within its bounds, and a day must start with the battery the night leaves."""

from __future__ import annotations

import math

import pytest

pytest.importorskip("pvlib")  # the bench extra

from bench.day import STEPS, Day
from bench.forecast import HOUR_STEPS, PERIOD, ForecastFeed
from bench.plant import run_day, steady_battery
from bench.plant_devices import BatterySpec
from pvcontrol.models import ForecastData
from services.controller.settings import ControllerSettings

START = 1_781_474_400.0  # any local midnight
NOON_STEP = STEPS // 2


def _day(share: float = 1.0, house: float = 300.0) -> Day:
    """A 5 kW sine from 06:00 to 18:00, `share` of it delivered, the clear sky being the whole sine."""
    clear = [
        max(0.0, 5000.0 * math.sin(math.pi * (k / STEPS * 24 - 6) / 12)) if 6 <= k / STEPS * 24 < 18 else 0.0
        for k in range(STEPS)
    ]
    return Day(
        sky="broken",
        seed=1,
        pv=[share * c for c in clear],
        house=[house] * STEPS,
        start=START,
        clear=clear,
        sunrise=START + 6 * 3600,
        sunset=START + 18 * 3600,
    )


def test_perfect_forecast_is_a_valid_document_whose_energies_match_its_periods() -> None:
    day = _day()
    feed = ForecastFeed(day, "perfect", 1)
    for k in (0, 100, NOON_STEP, NOON_STEP + 7, STEPS - 1):
        document = feed(k)
        assert document is not None
        again = ForecastData.model_validate_json(document.model_dump_json())
        assert again == document
        now = document.ts
        assert document.periods[0].start <= now < document.periods[0].end
        assert document.periods[-1].end == START + 2 * 86_400
        midnight = START + 86_400
        assert document.energy_today_remaining == pytest.approx(document.energy_between(now, midnight))
        assert document.energy_tomorrow == pytest.approx(document.energy_between(midnight, midnight + 86_400))
    # a perfect forecast of the afternoon is the day's own PV
    noon = feed(NOON_STEP)
    assert noon is not None
    truth = sum(day.pv[NOON_STEP:]) * 5 / 3600
    assert noon.energy_today_remaining == pytest.approx(truth, rel=1e-3)
    assert noon.sunset == day.sunset


def test_no_forecast_is_none() -> None:
    assert ForecastFeed(_day(), "none", 1)(NOON_STEP) is None


def test_nowcast_scales_a_wrong_sky_to_what_is_measured() -> None:
    day = _day(share=0.4)
    feed = ForecastFeed(day, "wrong_sky", 1)
    assert feed.correction(NOON_STEP) == pytest.approx(0.4)
    assert feed.correction(3 * 3600 // 5) == 1.0  # night: nothing to compare
    noon = feed(NOON_STEP)
    assert noon is not None
    truth = sum(day.pv[NOON_STEP:]) * 5 / 3600
    assert noon.energy_today_remaining == pytest.approx(truth, rel=1e-3)
    assert noon.energy_tomorrow == pytest.approx(sum(day.clear) * 5 / 3600, rel=1e-3)  # not corrected


def test_nowcast_is_bounded() -> None:
    dark = ForecastFeed(_day(share=0.0), "wrong_sky", 1)
    assert dark.correction(NOON_STEP) == 0.1
    bright = ForecastFeed(_day(share=3.0), "wrong_sky", 1)
    bright.raw = bright.raw / 3  # promised a third of what comes (the raw forecast is the clear sky)
    bright.raw_sum = bright.raw_sum / 3
    assert bright.correction(NOON_STEP) == 1.5


def test_hourly_errors_are_seeded_and_constant_within_an_hour() -> None:
    day = _day()
    one, same, other = (
        ForecastFeed(day, "errors", 1),
        ForecastFeed(day, "errors", 1),
        ForecastFeed(day, "errors", 2),
    )
    assert list(one.raw) == list(same.raw)
    assert list(one.raw) != list(other.raw)
    perfect = ForecastFeed(day, "perfect", 1).raw
    factors = [one.raw[i] / perfect[i] for i in range(48, 52)]  # 12:00-13:00, four periods
    assert max(factors) == pytest.approx(min(factors))
    assert PERIOD * 4 == HOUR_STEPS * 5


def test_the_day_starts_with_what_the_same_day_without_the_car_leaves_at_midnight() -> None:
    settings = ControllerSettings()
    day = _day(share=0.5, house=400.0)
    spec = steady_battery(day, BatterySpec(10_000.0, 3000.0), settings)
    assert 0.0 < spec.soc_wh < 10_000.0
    assert run_day(day, spec, settings).battery_end_wh == pytest.approx(spec.soc_wh, abs=1.0)
