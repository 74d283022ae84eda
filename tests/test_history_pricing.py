"""Session costs at the price of the minutes charged in (services/api/history/pricing.py), stored in the
history file; the pure parts and the file, no broker (the gateway's part: test_gateway_tariff.py)."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest

from pvcontrol.models import CarStatus, MeterData, TariffData, TariffPeriod, WallboxData
from services.api.history.pricing import NOTHING_PRICED, Priced, cost_with, price_step, tariff_problem
from services.api.history.recorder import History
from services.api.history.schema import MIGRATIONS
from services.api.history.sessions import Session, Tariff
from services.api.history.store import HistoryStore
from services.api.settings import HistorySettings

HOUR = 3600.0
DAY = 24 * HOUR
NOON = 1_781_000_000.0 - 1_781_000_000.0 % HOUR
FLAT = Tariff(grid_price=0.30, feed_in_tariff=0.08)


def two_prices(cheap: float = 0.10, dear: float = 0.40) -> TariffData:
    """`cheap` (feed-in 0.05) the 12 hours before NOON, `dear` (feed-in 0.07) the 12 after."""
    return TariffData(
        ts=NOON - 12 * HOUR,
        periods=[
            TariffPeriod(start=NOON - 12 * HOUR, end=NOON, grid_price=cheap, feed_in=0.05),
            TariffPeriod(start=NOON, end=NOON + 12 * HOUR, grid_price=dear, feed_in=0.07),
        ],
    )


def test_a_step_across_the_boundary_is_priced_in_proportion_to_its_time_in_each_period() -> None:
    # 1000 Wh grid + 200 Wh solar from 11:45 to 12:15: half at 0.10/0.05, half at 0.40/0.07
    priced = price_step(1000, 200, NOON - 900, NOON + 900, two_prices())
    assert priced.cost == pytest.approx(0.5 * (0.10 + 0.2 * 0.05) + 0.5 * (0.40 + 0.2 * 0.07))
    assert (priced.grid_wh, priced.solar_wh) == pytest.approx((1000, 200))


def test_time_no_period_covers_is_left_to_the_flat_prices() -> None:
    # 1000 Wh from 23:30 to 00:30 the next day: the tariff ends at midnight, half of it is not priced
    priced = price_step(1000, 0, NOON + 11.5 * HOUR, NOON + 12.5 * HOUR, two_prices())
    assert (priced.cost, priced.grid_wh, priced.solar_wh) == pytest.approx((0.5 * 0.40, 500, 0))
    session = Session(started_at=0, energy_wh=1000, grid_wh=1000, priced=priced)
    assert session.cost(FLAT) == pytest.approx(0.5 * 0.40 + 0.5 * 0.30)


@pytest.mark.parametrize(
    ("tariff", "start", "end"),
    [
        pytest.param(None, NOON, NOON + 60, id="no-tariff"),
        pytest.param(two_prices(), NOON + 13 * HOUR, NOON + 14 * HOUR, id="after-the-last-period"),
        pytest.param(TariffData(ts=NOON), NOON, NOON + 60, id="no-periods"),
    ],
)
def test_without_prices_for_the_step_nothing_is_priced(
    tariff: TariffData | None, start: float, end: float
) -> None:
    assert price_step(1000, 500, start, end, tariff) == NOTHING_PRICED


def test_an_instant_takes_the_period_holding_it() -> None:
    assert price_step(1000, 0, NOON, NOON, two_prices()).cost == pytest.approx(0.40)
    assert price_step(1000, 0, NOON - 1, NOON - 1, two_prices()).cost == pytest.approx(0.10)


def test_with_nothing_priced_the_cost_is_the_flat_one_to_the_last_digit() -> None:
    for grid, solar in ((750.0, 1250.0), (1234.5678, 0.1), (0.0, 9999.99)):
        expected = round(grid / 1000 * 0.30 + solar / 1000 * 0.08, 4)
        assert cost_with(NOTHING_PRICED, grid, solar, 0.30, 0.08) == expected


def test_negative_prices_lower_the_cost() -> None:
    priced = price_step(2000, 0, NOON + HOUR, NOON + 2 * HOUR, two_prices(dear=-0.05))
    assert Session(started_at=0, grid_wh=2000, energy_wh=2000, priced=priced).cost(FLAT) == pytest.approx(
        -0.10
    )


def shifted(tariff: TariffData, **change: float) -> TariffData:
    periods = [tariff.periods[0], tariff.periods[1].model_copy(update=change)]
    return tariff.model_copy(update={"periods": periods})


@pytest.mark.parametrize(
    ("tariff", "reason"),
    [
        pytest.param(shifted(two_prices(), end=NOON), "not after its start", id="empty-period"),
        pytest.param(shifted(two_prices(), start=NOON - HOUR), "overlaps", id="overlapping"),
        pytest.param(shifted(two_prices(), grid_price=1e6), "beyond", id="absurd-price"),
        pytest.param(shifted(two_prices(), feed_in=-1e5), "beyond", id="absurd-feed-in"),
        pytest.param(two_prices().model_copy(update={"currency": "euro"}), "ISO 4217", id="currency"),
    ],
)
def test_a_tariff_that_cannot_price_energy_says_why(tariff: TariffData, reason: str) -> None:
    assert reason in (tariff_problem(tariff) or "")


def test_a_good_tariff_has_no_problem() -> None:
    assert tariff_problem(two_prices()) is None
    assert tariff_problem(TariffData(ts=NOON, currency="GBP")) is None


# --- the fold with prices (History, without the broker) ---------------------------------------------


def charging(ts: float, charged: float, status: CarStatus = CarStatus.Charging) -> WallboxData:
    return WallboxData(ts=ts, car_status=status, charged_energy=charged, power=4000, phases_out=3)


def test_history_prices_each_step_and_keeps_the_last_valid_tariff(tmp_path: Path) -> None:
    history = History(
        HistorySettings(data_dir=tmp_path), logging.getLogger("test"), wall_clock=lambda: NOON + DAY
    )
    history.open()
    history.tariff_state(two_prices())
    history.tariff_state(shifted(two_prices(0.99, 0.99), start=NOON - HOUR))  # invalid: ignored
    history.meter(MeterData(ts=NOON - HOUR, power_grid=4000))  # all from the grid
    for ts, charged in ((NOON - 1800, 0), (NOON - 900, 1000), (NOON + 900, 3000), (NOON + 1800, 4000)):
        history.wallbox(charging(ts, charged))
    history.wallbox(charging(NOON + 1900, 4000, CarStatus.NoVehicle))
    history.close()

    stored = HistoryStore(tmp_path / "pvcontrol-history.sqlite").sessions()
    assert len(stored) == 1
    # 2 kWh before noon at 0.10, 2 kWh after at 0.40
    assert stored[0].cost(FLAT) == pytest.approx(2 * 0.10 + 2 * 0.40)
    priced = stored[0].priced
    assert (priced.cost, priced.grid_wh, priced.solar_wh) == pytest.approx((1.0, 4000, 0))


# --- the file -------------------------------------------------------------------------------------


def test_the_priced_part_is_stored_and_read_back(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path / "history.sqlite")
    priced = Priced(cost=1.25, grid_wh=3000, solar_wh=500)
    saved = store.save(
        Session(started_at=1, updated_at=2, energy_wh=4000, grid_wh=3000, pv_wh=1000, priced=priced)
    )
    assert store.sessions()[0].priced == priced
    store.save(Session(**{**saved.__dict__, "priced": priced + Priced(0.5, 1000, 0)}))
    assert store.sessions()[0].priced == Priced(1.75, 4000, 500)
    totals = store.totals()
    assert (totals["priced_cost"], totals["priced_grid_wh"], totals["priced_solar_wh"]) == (1.75, 4000, 500)


def test_a_file_of_schema_3_gains_the_priced_columns_and_its_sessions_keep_their_cost(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    with sqlite3.connect(path) as db:
        db.executescript(";".join(MIGRATIONS[:3]) + "; PRAGMA user_version = 3;")
        db.execute(
            "INSERT INTO sessions (started_at, ended_at, updated_at, energy_wh, pv_wh, grid_wh) "
            "VALUES (1, 2, 2, 2000, 1250, 750)"
        )
    store = HistoryStore(path)
    assert store.schema_version == len(MIGRATIONS) == 4
    old = store.sessions()[0]
    assert old.priced == NOTHING_PRICED
    assert old.cost(FLAT) == round(0.75 * 0.30 + 1.25 * 0.08, 4)
