"""The price arithmetic, the checks every answer passes, the day-ahead poll schedule, the registry and the
settings: in-process, without a broker (one against the aWATTar fake)."""

from __future__ import annotations

import asyncio
import math
import re
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from pydantic import ValidationError

from pvcontrol.broker import BrokerAddress
from pvcontrol.device import DeviceError
from pvcontrol.local_time import zone
from pvcontrol.topics import Topics
from pvcontrol_app.settings import load_settings
from services.tariff import prices
from services.tariff.device import Price, Prices, TariffBase
from services.tariff.registry import TARIFFS
from services.tariff.service import TariffService
from tests.fakes.awattar import FakeAwattar
from tests.source_harness import NOON, Clock
from tests.tariff.harness import settings

BERLIN = zone("Europe/Berlin")
HOUR = 3600.0


def prices_of(*periods: tuple[float, float, float], market: bool = True) -> Prices:
    return Prices([Price(*p) for p in periods], "EUR", market)


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (prices_of(), "no prices"),
        (prices_of((NOON, NOON + HOUR, math.nan)), "not a finite number"),
        (prices_of((NOON, NOON + 60, 0.1)), "a period of 60 s"),
        (prices_of((NOON, NOON + HOUR, 250.0)), "implausible price 250"),
        (prices_of((NOON, NOON + HOUR, 0.1), (NOON + 1800, NOON + 5400, 0.1)), "overlap or are not sorted"),
        (
            prices_of((NOON + HOUR, NOON + 2 * HOUR, 0.1), (NOON, NOON + HOUR, 0.1)),
            "overlap or are not sorted",
        ),
        (prices_of((NOON + HOUR, NOON + 2 * HOUR, 0.1)), "no price for the current period"),
    ],
)
def test_implausible_answers_are_refused(answer: Prices, message: str) -> None:
    with pytest.raises(DeviceError, match=re.escape(message)):
        prices.checked(answer, NOON)


def test_markup_and_vat_apply_to_market_prices_only() -> None:
    market = prices_of((NOON, NOON + HOUR, 0.1), (NOON + HOUR, NOON + 2 * HOUR, -0.05))
    paid = prices.paid(market, 0.12, 0.19, 0.08)
    assert [p.grid_price for p in paid] == [round(0.22 * 1.19, 6), round(0.07 * 1.19, 6)]
    assert {p.feed_in for p in paid} == {0.08}
    as_paid = prices.paid(prices_of((NOON, NOON + HOUR, 0.25), market=False), 0.12, 0.19, 0.08)
    assert as_paid[0].grid_price == 0.25
    assert prices.from_now(paid, NOON + HOUR) == paid[1:]
    assert prices.from_now(paid, NOON + 2 * HOUR) == []


def unconnected(config: TariffBase, clock: Callable[[], float] = time.time) -> TariffService:
    """The service, never started: its MQTT link has no connection and publishes nothing."""
    return TariffService(config, TARIFFS.create(config), BrokerAddress("127.0.0.1", 1), Topics("t"), clock)


def local(hour: int, minute: int = 0) -> float:
    return datetime(2026, 6, 21, hour, minute, tzinfo=BERLIN).timestamp()


def test_tomorrows_day_ahead_prices_are_polled_for_every_10_minutes_from_13_to_15_until_they_come() -> None:
    config = settings(type="Awattar", poll_interval=3600.0, day_ahead_interval=600.0)
    service = TariffService(
        config, TARIFFS.create(config), BrokerAddress("127.0.0.1", 1), Topics("t"), Clock()
    )
    today = prices.paid(prices_of((local(0), local(23) + HOUR, 0.1)), 0, 0, 0)  # to midnight
    service.known = today
    assert service._poll_delay(local(10)) == 3600  # before the window: hourly
    assert service._poll_delay(local(12, 30)) == 1800  # not past 13:00
    assert service._poll_delay(local(13)) == 600
    assert service._poll_delay(local(14, 59)) == 600
    assert service._poll_delay(local(15)) == 3600  # late: hourly again
    service.known = today + prices.paid(prices_of((local(23) + HOUR, local(23) + 25 * HOUR, 0.1)), 0, 0, 0)
    assert service._poll_delay(local(13)) == 3600  # tomorrow is known
    fixed = settings(poll_interval=3600.0)
    assert unconnected(fixed)._poll_delay(local(13)) == 3600


def test_the_environment_names_of_the_acceptance_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PVC_TARIFF__TYPE", "Awattar")
    monkeypatch.setenv("PVC_TARIFF__URL", "http://127.0.0.1:8094")
    monkeypatch.setenv("PVC_TARIFF__MARKUP", "0.12")
    monkeypatch.setenv("PVC_TARIFF__VAT", "0.19")
    tariff = load_settings(None, {}).tariff
    assert (tariff.type, tariff.markup, tariff.vat) == ("Awattar", 0.12, 0.19)
    assert tariff.url == "http://127.0.0.1:8094"  # type: ignore[attr-defined]
    assert tariff.metrics_port == 9107
    assert tariff.poll_interval == 3600


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"type": "Awattar", "vat": 19}, "tariff.vat"),
        ({"type": "Spot"}, "tariff.type"),
        ({"type": "Tibber"}, "tariff.token"),
        ({"type": "Entsoe", "token": "t", "zone": "DE"}, "tariff.zone"),
        ({"type": "Fixed", "timezone": "Mars/Olympus"}, "unknown time zone 'Mars/Olympus'"),
        (
            {"type": "TimeOfUse", "table": [{"start": "07:10", "end": "08:00", "grid_price": 0.2}]},
            "steps of 15",
        ),
        (
            {
                "type": "TimeOfUse",
                "table": [
                    {"start": "22:00", "end": "06:00", "grid_price": 0.2},
                    {"days": ["tue"], "start": "05:00", "end": "07:00", "grid_price": 0.3},
                ],
            },
            "table windows 0 and 1 overlap on tue at 05:00",
        ),
    ],
)
def test_bad_tariff_settings_are_refused_naming_them(section: dict[str, Any], message: str) -> None:
    from pvcontrol_app.cli import describe

    with pytest.raises(ValidationError) as caught:
        load_settings(None, {"tariff": section})
    assert message in describe(caught.value)


@pytest.mark.parametrize("name", TARIFFS.names())
def test_every_tariff_type_resolves_to_its_config_model_and_adapter(name: str) -> None:
    from services.tariff.device import TariffSource

    config_class = TARIFFS.config_class(name)
    assert config_class.model_fields["type"].default == name
    device = TARIFFS.device(name)
    adapter = getattr(__import__(device.module, fromlist=["_"]), device.adapter)
    assert issubclass(adapter, TariffSource)


def test_a_working_source_is_called_again_when_its_prices_run_out_so_they_never_do() -> None:
    """23:59:30 in Berlin, tomorrow's prices never published, an hour's poll_interval: the next call is at
    midnight, where aWATTar's new day begins, not at 00:59:30 after half an hour of Fixed."""
    clock = Clock(local(23, 59) + 30)
    with FakeAwattar(clock) as fake:
        config = settings(type="Awattar", url=fake.url, poll_interval=3600.0, day_ahead_interval=600.0)
        service = unconnected(config, clock)
        before = asyncio.run(service.update())
        assert service.next_fetch == local(23) + HOUR
        clock.now = local(23) + HOUR + 1
        after = asyncio.run(service.update())
    assert before.source == after.source == "Awattar"
    assert after.periods[0].start == local(23) + HOUR
    assert len(fake.requests) == 2
