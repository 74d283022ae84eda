"""The tariff service on the real broker, in the test process with a set clock, against fakes of aWATTar,
Tibber, ENTSO-E and Octopus (real HTTP sockets): the prices as paid from the current period on, tomorrow's
when they appear, the last known prices kept while a source fails and then `Fixed`, with `error` counting
up (one log line when the outage starts, one when it ends), bad answers refused, the state at each
period's start."""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from pvcontrol.local_time import midnight, zone
from pvcontrol.models import TariffData
from tests.fakes import entsoe, octopus, tibber
from tests.fakes.awattar import FakeAwattar
from tests.fakes.day_ahead import eur_per_mwh
from tests.fakes.entsoe import FakeEntsoe
from tests.fakes.http import FakeHttpDevice, Fault
from tests.fakes.octopus import FakeOctopus
from tests.fakes.tibber import FakeTibber
from tests.helpers import Broker, MqttProbe
from tests.source_harness import (
    NOON,
    Clock,
    counted_one_by_one,
    each_bad_answer_fails,
    retained_state_and_config,
    source_fixtures,
)
from tests.tariff.harness import settings, state, tariff_service

BERLIN = zone("Europe/Berlin")
MARKUP, VAT = 0.12, 0.19


def market(ts: float) -> float:
    return round((eur_per_mwh(ts) / 1000 + MARKUP) * (1 + VAT), 6)


@dataclass(frozen=True)
class Source:
    make: Callable[[Clock], FakeHttpDevice]
    config: Callable[[FakeHttpDevice], dict[str, Any]]
    price: Callable[[float], float]  # the grid price as paid of the period holding a time
    currency: str = "EUR"


SOURCES = {
    "Awattar": Source(
        FakeAwattar, lambda fake: {"type": "Awattar", "url": fake.url, "markup": MARKUP, "vat": VAT}, market
    ),
    "Tibber": Source(
        FakeTibber,
        lambda fake: {"type": "Tibber", "url": fake.url, "token": tibber.TOKEN, "markup": 9, "vat": 0.5},
        tibber.total,  # already as paid: markup and vat are not added
    ),
    "Entsoe": Source(
        FakeEntsoe,
        lambda fake: {
            "type": "Entsoe",
            "url": fake.url,
            "token": entsoe.TOKEN,
            "zone": entsoe.DE_LU,
            "markup": MARKUP,
            "vat": VAT,
        },
        market,
    ),
    "OctopusAgile": Source(
        lambda clock: FakeOctopus(clock, page_size=30),  # three pages a call
        lambda fake: {
            "type": "OctopusAgile",
            "url": fake.url,
            "tariff": octopus.TARIFF,
            "timezone": "Europe/London",
        },
        lambda ts: round(octopus.pence_inc_vat(ts // 1800 * 1800) / 100, 6),
        "GBP",
    ),
}
SECRETS = (tibber.TOKEN, entsoe.TOKEN)


source, clock, fake = source_fixtures(SOURCES)


def test_each_source_is_published_as_paid_from_the_current_period_and_tomorrow_when_it_appears(
    mqtt_broker: Broker, probe: MqttProbe, prefix: str, clock: Clock, source: Source, fake: FakeHttpDevice
) -> None:
    config = settings(**source.config(fake))
    with tariff_service(config, mqtt_broker, prefix, clock):
        today = state(probe, prefix, lambda s: s["source"] == config.type)
        retained, published = retained_state_and_config(mqtt_broker, probe, prefix, "tariff", config.type)
        fake.publish_tomorrow()  # type: ignore[attr-defined]
        clock.now = NOON + 3600.0  # the next call is due (at the latest) an hour on
        mark = probe.mark()
        both = state(probe, prefix, lambda s: s["ts"] == NOON + 3600 and len(s["periods"]) > 30, mark)
    assert retained
    assert "token" not in published
    assert not any(secret in json.dumps(published) for secret in SECRETS)
    assert today.error == 0
    assert today.currency == source.currency
    first = today.periods[0]
    assert first.start <= NOON < first.end
    assert [p.grid_price for p in today.periods] == pytest.approx(
        [source.price(p.start) for p in today.periods]
    )
    assert all(p.feed_in == 0.08 for p in today.periods)
    assert today.periods[-1].end <= midnight(NOON, BERLIN, 1)
    assert all(a.end == b.start for a, b in itertools.pairwise(today.periods))
    assert both.periods[0].start <= NOON + 3600 < both.periods[0].end  # the past hour is gone
    assert both.periods[-1].end >= midnight(NOON, BERLIN, 2) - 3600  # to the end of tomorrow
    assert [p.grid_price for p in both.periods] == pytest.approx(
        [source.price(p.start) for p in both.periods]
    )


@pytest.mark.parametrize("fault", [Fault.HTTP_500, Fault.GARBAGE, Fault.CLOSE, Fault.SLOW])
def test_a_failing_source_keeps_its_last_prices_then_falls_back_to_fixed(
    mqtt_broker: Broker,
    probe: MqttProbe,
    prefix: str,
    clock: Clock,
    fault: Fault,
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock.step = 0.01
    with FakeAwattar(clock) as fake:
        config = settings(type="Awattar", url=fake.url, markup=MARKUP, vat=VAT, timeout=0.3)
        with (
            caplog.at_level(logging.INFO, "pvcontrol.tariff"),
            tariff_service(config, mqtt_broker, prefix, clock),
        ):
            good = state(probe, prefix, lambda s: s["source"] == "Awattar")
            mark = probe.mark()
            fake.fail(fault)
            kept = state(probe, prefix, lambda s: s["error"] >= 3, mark)
            error = probe.wait_json(f"{prefix}/tariff/error", lambda e: True, mark)
            clock.now = midnight(NOON, BERLIN, 1) + 60  # today's prices have run out, tomorrow's never came
            mark = probe.mark()
            fixed = state(probe, prefix, lambda s: s["source"].startswith("Fixed"), mark)
            mark = probe.mark()
            fake.heal()
            back = state(probe, prefix, lambda s: s["error"] == 0, mark)
    assert kept.source == "Awattar"
    assert kept.periods[0].grid_price == good.periods[0].grid_price
    assert counted_one_by_one(probe, prefix, "tariff")
    assert error["error"].startswith("Awattar failed: ")
    assert (error["topic"], error["payload"]) == ("", "")
    assert fixed.source == "Fixed (fallback: Awattar failed)"
    assert fixed.error > 3
    assert {(p.grid_price, p.feed_in) for p in fixed.periods} == {(0.30, 0.08)}
    assert fixed.periods[0].start <= clock.now < fixed.periods[0].end
    assert fixed.periods[-1].end - fixed.periods[0].start == 48 * 3600
    assert back.source == "Awattar"
    assert back.periods[0].grid_price == pytest.approx(market(back.periods[0].start))
    outage = [r for r in caplog.records if "stand in" in r.getMessage()]
    assert [r.levelname for r in outage] == ["WARNING", "INFO"]  # its start and its end, nothing between


BAD_ANSWERS: dict[str, list[Any]] = {
    "Awattar": [
        {"object": "list", "data": []},
        {"data": [{"start_timestamp": 1782039600000, "end_timestamp": 1782043200000, "marketprice": "12"}]},
        {
            "data": [
                {
                    "start_timestamp": 1782039600000,
                    "end_timestamp": 1782043200000,
                    "marketprice": 1e9,
                    "unit": "Eur/MWh",
                }
            ]
        },
        {
            "data": [
                {
                    "start_timestamp": 1782039600000,
                    "end_timestamp": 1782043200000,
                    "marketprice": 50,
                    "unit": "ct/kWh",
                }
            ]
        },
        {
            "data": [
                {
                    "start_timestamp": 1782039600000,
                    "end_timestamp": 1782039600000,
                    "marketprice": 50,
                    "unit": "Eur/MWh",
                }
            ]
        },
        [1, 2, 3],
    ],
    "Tibber": [
        {"errors": [{"message": "Too many requests"}], "data": None},
        {"data": {"viewer": {"homes": []}}},
        {
            "data": {
                "viewer": {
                    "homes": [
                        {
                            "currentSubscription": {
                                "priceInfo": {
                                    "today": [{"total": 0.3, "startsAt": "noon", "currency": "EUR"}]
                                }
                            }
                        }
                    ]
                }
            }
        },
        {
            "data": {
                "viewer": {
                    "homes": [
                        {
                            "currentSubscription": {
                                "priceInfo": {
                                    "today": [
                                        {
                                            "total": None,
                                            "startsAt": "2026-06-21T13:00:00.000+02:00",
                                            "currency": "EUR",
                                        }
                                    ]
                                }
                            }
                        }
                    ]
                }
            }
        },
    ],
    "Entsoe": [
        b"<html><body>Service Unavailable</body></html>",
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>',
        entsoe.acknowledgement("999", "No matching data found"),
        b'<Publication_MarketDocument xmlns="urn:x"><TimeSeries><Period><timeInterval>'
        b"<start>2026-06-21T10:00Z</start>"
        b"<end>2026-06-21T12:00Z</end></timeInterval><resolution>PT60M</resolution><Point><position>1</position>"
        b"<price.amount>NaN</price.amount></Point><Point><position>2</position><price.amount>5</price.amount></Point>"
        b"</Period></TimeSeries></Publication_MarketDocument>",
    ],
    "OctopusAgile": [
        {"detail": "Not found."},
        {"results": [{"value_inc_vat": 20.0, "valid_from": "2026-06-21T11:00:00Z", "valid_to": None}]},
        {
            "results": [
                {
                    "value_inc_vat": 20.0,
                    "valid_from": "2026-06-21T11:00:00",
                    "valid_to": "2026-06-21T11:30:00",
                }
            ]
        },
        {
            "results": [
                {
                    "value_inc_vat": 20.0,
                    "valid_from": "2026-06-21T10:00:00Z",
                    "valid_to": "2026-06-21T10:30:00Z",
                }
            ]
        },
    ],
}


def test_bad_answers_are_failed_calls_and_the_last_prices_stay(
    mqtt_broker: Broker, probe: MqttProbe, prefix: str, clock: Clock, source: Source, fake: FakeHttpDevice
) -> None:
    config = settings(**source.config(fake))
    name = config.type
    clock.step = 0.01
    with tariff_service(config, mqtt_broker, prefix, clock) as service:
        good = state(probe, prefix, lambda s: s["source"] == name and s["error"] == 0)

        def check(answer: Any, document: dict[str, Any]) -> None:
            failing = TariffData.model_validate(document)
            assert failing.source == name, answer
            assert failing.periods[-1] == good.periods[-1], answer

        each_bad_answer_fails(probe, prefix, "tariff", name, fake, BAD_ANSWERS[name], check)
        assert service.link.connected.is_set()


def test_tokens_never_reach_the_error_topic_or_the_log(
    mqtt_broker: Broker, probe: MqttProbe, prefix: str, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    with FakeEntsoe(clock) as fake:
        fake.fail(Fault.CLOSE)
        config = settings(type="Entsoe", url=fake.url, token=entsoe.TOKEN, zone=entsoe.DE_LU)
        with caplog.at_level(logging.INFO), tariff_service(config, mqtt_broker, prefix, clock):
            error = probe.wait_json(f"{prefix}/tariff/error", lambda e: True)["error"]
            published = probe.wait_json(f"{prefix}/tariff/config", lambda c: True)
    assert error.startswith("Entsoe failed: GET 127.0.0.1:")
    assert entsoe.TOKEN not in error
    assert entsoe.TOKEN not in caplog.text
    assert entsoe.TOKEN not in json.dumps(published)
    assert fake.requests[0].query["securityToken"] == entsoe.TOKEN


def test_fixed_by_default_with_the_history_prices_and_a_time_of_use_table(
    mqtt_broker: Broker, probe: MqttProbe, prefix: str, clock: Clock
) -> None:
    mark = probe.mark()
    config = settings().model_copy(update={"grid_price": None, "feed_in": None}).with_defaults(0.35, 0.07)
    with tariff_service(config, mqtt_broker, prefix, clock):
        fixed = state(probe, prefix, lambda s: True, mark)
    assert fixed.source == "Fixed"
    assert {(p.grid_price, p.feed_in) for p in fixed.periods} == {(0.35, 0.07)}
    assert [p.start for p in fixed.periods] == [NOON + i * 3600 for i in range(48)]
    table = [
        {"start": "22:00", "end": "06:00", "grid_price": 0.21},  # past midnight
        {"days": ["Sat", "sun"], "start": "11:00", "end": "15:30", "grid_price": 0.12},
    ]
    clock.now = NOON + 1800  # Sunday 13:30 in Berlin
    mark = probe.mark()
    with tariff_service(settings(type="TimeOfUse", table=table), mqtt_broker, prefix, clock):
        tou = state(probe, prefix, lambda s: True, mark)
    price = {p.start: p.grid_price for p in tou.periods}
    hour = 3600.0
    assert tou.source == "TimeOfUse"
    assert tou.periods[0].start == NOON + 1800
    assert price[NOON + 1800] == 0.12  # Sunday 13:30
    assert price[NOON + 2.5 * hour] == 0.30  # Sunday 15:30: outside the table
    assert price[NOON + 9 * hour] == 0.21  # Sunday 22:00
    assert price[NOON + 16 * hour] == 0.21  # Monday 05:00, in the window from Sunday 22:00
    assert price[NOON + 17 * hour] == 0.30  # Monday 06:00
    assert price[NOON + 22 * hour] == 0.30  # Monday 11:00: the 0.12 window is on weekends only


def test_the_state_is_published_at_each_period_start(
    mqtt_broker: Broker, probe: MqttProbe, prefix: str
) -> None:
    """A second before 14:00, nothing due for 100 s but the period's end: the next document comes at 14:00
    (without the wake-up at the boundary it would come 100 s later, after the wait gives up)."""
    clock = Clock(NOON + 3600 - 1)
    config = settings(publish_interval=100.0, poll_interval=3600.0)
    with tariff_service(config, mqtt_broker, prefix, clock):
        before = state(probe, prefix, lambda s: True)
        clock.now = NOON + 3600 + 0.005
        after = state(probe, prefix, lambda s: s["periods"][0]["start"] == NOON + 3600)
    assert before.periods[0].start == NOON
    assert after.ts == NOON + 3600 + 0.005
