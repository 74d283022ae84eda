"""Each tariff adapter's reading of its answers (recorded shapes from the fakes, and bad ones), the price
arithmetic, the day-ahead poll schedule and the settings: pure, in-process, no sockets."""

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
from pvcontrol.topics import Topics
from pvcontrol_app.settings import load_settings
from services.forecast.clock import zone
from services.tariff import awattar, entsoe_xml, octopus, prices, tibber
from services.tariff.device import Price, Prices, TariffBase
from services.tariff.registry import TARIFFS
from services.tariff.service import TariffService
from tests.fakes import entsoe as fake_entsoe
from tests.fakes.awattar import FakeAwattar
from tests.fakes.day_ahead import eur_per_mwh
from tests.fakes.entsoe import FakeEntsoe
from tests.fakes.http import Request
from tests.fakes.octopus import FakeOctopus, pence_inc_vat
from tests.fakes.tibber import HOME_ID, TOKEN, FakeTibber, total
from tests.tariff.harness import NOON, Clock, settings

BERLIN = zone("Europe/Berlin")
HOUR = 3600.0


def answer(fake: Any, path: str, query: dict[str, str] | None = None, body: Any = None) -> Any:
    """The fake's reply to one request, without a socket."""
    method = "POST" if body is not None else "GET"
    headers = {"Authorization": f"Bearer {TOKEN}"}
    return fake.respond(Request(method, path, query or {}, body, headers)).payload


def test_awattar_reads_eur_per_mwh_into_per_kwh_market_prices() -> None:
    fake = FakeAwattar(lambda: NOON)
    start = int(NOON * 1000)
    read = awattar.parse(
        answer(fake, "/v1/marketdata", {"start": str(start), "end": str(start + 86_400_000)})
    )
    assert read.market
    assert read.currency == "EUR"
    assert read.periods[0] == Price(NOON, NOON + HOUR, eur_per_mwh(NOON) / 1000)
    assert read.periods[0].price < 0  # the fake's 13:00 is below zero: a negative price is a price
    assert read.periods[-1].end == datetime(2026, 6, 22, tzinfo=BERLIN).timestamp()


def test_tibber_reads_totals_as_paid_of_the_chosen_home_in_its_currency() -> None:
    fake = FakeTibber(lambda: NOON)
    fake.publish_tomorrow()
    reply = answer(fake, "/v1-beta/gql", body={"query": tibber.query("HOURLY")})
    read = tibber.parse(reply, None, 3600.0)  # the first home has no subscription: the second's prices
    assert not read.market
    assert len(read.periods) == 48
    assert read.periods[13] == Price(NOON, NOON + HOUR, total(NOON))
    assert tibber.parse(reply, HOME_ID, 3600.0) == read
    with pytest.raises(DeviceError, match="no subscription with prices for home other"):
        tibber.parse(reply, "other", 3600.0)
    quarters = tibber.parse(
        answer(fake, "/v1-beta/gql", body={"query": tibber.query("QUARTER_HOURLY")}), None, 900
    )
    assert len(quarters.periods) == 2 * 96
    assert quarters.periods[-1].end - quarters.periods[-1].start == 900
    assert "priceInfo(resolution: QUARTER_HOURLY)" in tibber.query("QUARTER_HOURLY")


def test_octopus_reads_pence_newest_first_into_sorted_pounds() -> None:
    fake = FakeOctopus(lambda: NOON)
    path = f"/v1/products/{octopus.OctopusAgileConfig.model_fields['product'].default}/electricity-tariffs/"
    reply = answer(
        fake, path + "E-1R-AGILE-24-10-01-C/standard-unit-rates/", {"period_from": "2026-06-21T11:00Z"}
    )
    read = octopus.parse(reply)
    assert read.currency == "GBP"
    assert not read.market
    assert read.periods[0] == Price(NOON, NOON + 1800, pence_inc_vat(NOON) / 100)
    assert all(a.end == b.start for a, b in zip(read.periods, read.periods[1:], strict=False))


@pytest.mark.parametrize("resolution", [60, 15])
def test_entsoe_reads_each_resolution_and_fills_a03_gaps_with_the_price_before(resolution: int) -> None:
    fake = FakeEntsoe(lambda: NOON, resolution=resolution)
    query = {
        "securityToken": fake_entsoe.TOKEN,
        "documentType": "A44",
        "in_Domain": fake_entsoe.DE_LU,
        "out_Domain": fake_entsoe.DE_LU,
        "periodStart": "202606210000",
        "periodEnd": "202606230000",
    }
    body = answer(fake, "/api", query)
    assert body.count(b"<Point>") < 24 * 60 // resolution  # the repeated prices were left out
    read = entsoe_xml.parse(body)
    step = resolution * 60
    assert len(read) == 24 * 60 // resolution  # the whole delivery day (Berlin); tomorrow is not out yet
    assert read[0].start == datetime(2026, 6, 21, tzinfo=BERLIN).timestamp()
    assert all(p.price == eur_per_mwh(p.start) / 1000 for p in read)
    assert all(p.end - p.start == step for p in read)


def entsoe_document(*periods: tuple[str, str, str, str]) -> bytes:
    """Periods of (start, end, resolution, points xml) in one TimeSeries of curve type A03."""
    body = "".join(
        f"<Period><timeInterval><start>{s}</start><end>{e}</end></timeInterval><resolution>{r}</resolution>{p}"
        "</Period>"
        for s, e, r, p in periods
    )
    return (
        f'<Publication_MarketDocument xmlns="{fake_entsoe.NS}"><TimeSeries><curveType>A03</curveType>'
        f"<currency_Unit.name>EUR</currency_Unit.name>{body}</TimeSeries></Publication_MarketDocument>"
    ).encode()


def points(*pairs: tuple[int, float | str]) -> str:
    return "".join(
        f"<Point><position>{n}</position><price.amount>{v}</price.amount></Point>" for n, v in pairs
    )


def test_entsoe_prefers_the_finer_resolution_where_both_are_published() -> None:
    body = entsoe_document(
        ("2026-06-21T10:00Z", "2026-06-21T12:00Z", "PT60M", points((1, 100.0), (2, 200.0))),
        ("2026-06-21T11:00Z", "2026-06-21T12:00Z", "PT15M", points((1, 10.0), (3, 30.0))),
    )
    read = entsoe_xml.parse(body)
    assert [(p.end - p.start, p.price) for p in read] == [
        (3600, 0.1),
        (900, 0.01),
        (900, 0.01),  # position 2 left out: the one before
        (900, 0.03),
        (900, 0.03),
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (fake_entsoe.acknowledgement("999", "No matching data found"), "ENTSO-E: No matching data found"),
        (b"<html>Unauthorized</html>", "a html, not a Publication_MarketDocument"),
        (b"{not xml", "not an XML document"),
        (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]><lolz>&lol;</lolz>', "DTD or entities"),
        (b"<a>" + b" " * entsoe_xml.MAX_BYTES + b"</a>", "too large"),
        (
            entsoe_document(("2026-06-21T10:00Z", "2026-06-21T12:00Z", "PT60M", points((2, 5.0)))),
            "no price at",
        ),
        (entsoe_document(("2026-06-21T10:00Z", "2026-06-21T12:00Z", "P1D", points((1, 5.0)))), "resolution"),
        (
            entsoe_document(("2026-06-21T10:00Z", "2026-06-21T12:00Z", "PT60M", points((3, 5.0)))),
            "outside 1..2",
        ),
        (
            entsoe_document(("2026-06-21T10:00", "2026-06-21T12:00Z", "PT60M", points((1, 5.0)))),
            "no time zone",
        ),
        (
            entsoe_document(("2026-06-21T10:00Z", "2026-06-21T12:00Z", "PT60M", points((1, "x")))),
            "price.amount",
        ),
        (b'<Publication_MarketDocument xmlns="x"></Publication_MarketDocument>', "no TimeSeries"),
    ],
)
def test_bad_entsoe_documents_are_errors_naming_the_fault(body: bytes, message: str) -> None:
    with pytest.raises(DeviceError, match=re.escape(message)):
        entsoe_xml.parse(body)


@pytest.mark.parametrize(
    ("parse", "reply", "message"),
    [
        (awattar.parse, {"object": "list"}, "no data list"),
        (awattar.parse, {"data": ["x"]}, "not an object"),
        (awattar.parse, {"data": [{"unit": "Eur/MWh", "start_timestamp": True}]}, "start_timestamp True"),
        (
            awattar.parse,
            {
                "data": [
                    {"unit": "Eur/MWh", "start_timestamp": 1, "end_timestamp": 2, "marketprice": math.inf}
                ]
            },
            "marketprice inf",
        ),
        (
            lambda a: tibber.parse(a, None, 3600),
            {"errors": [{"message": "invalid token"}]},
            "Tibber: invalid token",
        ),
        (lambda a: tibber.parse(a, None, 3600), {"data": None}, "no homes"),
        (
            lambda a: tibber.parse(a, None, 3600),
            {"data": {"viewer": {"homes": [{"currentSubscription": {"priceInfo": {"today": "none"}}}]}}},
            "not a list",
        ),
        (
            lambda a: tibber.parse(a, None, 3600),
            {
                "data": {
                    "viewer": {
                        "homes": [
                            {
                                "currentSubscription": {
                                    "priceInfo": {
                                        "today": [
                                            {
                                                "total": 0.2,
                                                "startsAt": "2026-06-21T13:00:00.000+02:00",
                                                "currency": "EUR",
                                            },
                                            {
                                                "total": 2.0,
                                                "startsAt": "2026-06-21T14:00:00.000+02:00",
                                                "currency": "NOK",
                                            },
                                        ]
                                    }
                                }
                            }
                        ]
                    }
                }
            },
            "several currencies",
        ),
        (octopus.parse, {"detail": "Authentication credentials were not provided."}, "credentials"),
        (
            octopus.parse,
            {"results": [{"value_inc_vat": "1", "valid_from": "2026-06-21T11:00Z"}]},
            "value_inc_vat",
        ),
        (
            octopus.parse,
            {"results": [{"value_inc_vat": 1, "valid_from": "soon", "valid_to": "later"}]},
            "ISO 8601",
        ),
    ],
)
def test_bad_json_answers_are_errors_naming_the_fault(parse: Any, reply: Any, message: str) -> None:
    with pytest.raises(DeviceError, match=re.escape(message)):
        parse(reply)


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
