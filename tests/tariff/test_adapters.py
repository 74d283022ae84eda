"""Each tariff adapter's reading of its answers: the recorded shapes of the fakes (answered in-process,
no sockets) and bad answers, each an error naming the fault."""

from __future__ import annotations

import math
import re
from datetime import datetime
from typing import Any

import pytest

from pvcontrol.device import DeviceError
from pvcontrol.local_time import zone
from services.tariff import awattar, entsoe_xml, octopus, tibber
from services.tariff.device import Price
from tests.fakes import entsoe as fake_entsoe
from tests.fakes.awattar import FakeAwattar
from tests.fakes.day_ahead import eur_per_mwh
from tests.fakes.entsoe import FakeEntsoe
from tests.fakes.http import Request
from tests.fakes.octopus import FakeOctopus, pence_inc_vat
from tests.fakes.tibber import HOME_ID, TOKEN, FakeTibber, total
from tests.source_harness import NOON

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
