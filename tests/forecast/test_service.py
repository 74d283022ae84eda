"""The forecast service on the real broker, in the test process with a frozen clock, against fakes of
Open-Meteo, Forecast.Solar and Solcast (real HTTP sockets): the published document, the calls each API
gets, every fault turning into ClearSky with `error` counting up (one log line when the outage starts,
one when it ends), bad answers refused, and the nowcast correction from `P/meter/state`."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from pydantic import ValidationError

from pvcontrol.local_time import midnight, zone
from pvcontrol.models import ForecastData
from pvcontrol_app.settings import load_settings
from tests.fakes.forecastsolar import FakeForecastSolar
from tests.fakes.http import FakeHttpDevice, Fault
from tests.fakes.openmeteo import FakeOpenMeteo
from tests.fakes.sky import irradiance
from tests.fakes.solcast import API_KEY, FakeSolcast
from tests.forecast.harness import forecast_service, settings, wait_samples
from tests.helpers import Broker, MqttProbe
from tests.source_harness import (
    NOON,
    Clock,
    counted_one_by_one,
    each_bad_answer_fails,
    retained_state_and_config,
    source_fixtures,
)

BERLIN = zone("Europe/Berlin")
EAST_WEST = [{"kwp": 5, "tilt": 30, "azimuth": 90}, {"kwp": 5, "tilt": 30, "azimuth": 270}]


@dataclass(frozen=True)
class Source:
    make: Callable[[Clock], FakeHttpDevice]
    config: Callable[[FakeHttpDevice], dict[str, Any]]
    expected_at_noon: float  # W of the whole roof in the 13:00-13:15 Berlin period, from the fake's sky


def _sky_mean(start: float, scale: float, step: float) -> float:
    return scale * irradiance(start + step / 2)


SOURCES = {
    # 10 kWp x GTI/1000 x losses 0.85; the fake's GTI at 11:15 UTC is the mean of 11:00-11:15
    "OpenMeteo": Source(
        lambda clock: FakeOpenMeteo(clock),
        lambda fake: {"type": "OpenMeteo", "url": fake.url, "planes": EAST_WEST},
        10 * irradiance(NOON + 450) * 0.85,
    ),
    # each plane 5 kWp x sky x 0.9 at the half hours, linear between them (11:00-11:15: 11:00 and 11:30)
    "ForecastSolar": Source(
        lambda clock: FakeForecastSolar(clock, limit=10**7),  # the free limit has a test of its own
        lambda fake: {"type": "ForecastSolar", "url": fake.url, "planes": EAST_WEST, "calls_per_hour": 10**7},
        10
        * 0.9
        * (
            0.5 * (irradiance(NOON - 1800) + irradiance(NOON + 1800)) * 0.5
            + 0.5 * (irradiance(NOON - 1800) + irradiance(NOON + 1800)) * 0.5
        ),
    ),
    # two sites of 5 kWp, kW x 1000 for the half hour 11:00-11:30 (its middle 11:15)
    "Solcast": Source(
        lambda clock: FakeSolcast(clock, sites={"site-east": 5.0, "site-west": 5.0}, daily_limit=10**7),
        lambda fake: {
            "type": "Solcast",
            "url": fake.url,
            "api_key": API_KEY,
            "resource_ids": ["site-east", "site-west"],
            "planes": EAST_WEST,
            "calls_per_day": 10**7,
        },
        2 * 1000 * round(5.0 * irradiance(NOON + 900) / 1000 * 0.9, 4),
    ),
}


source, clock, fake = source_fixtures(SOURCES)


def state(probe: MqttProbe, prefix: str, predicate: Callable[[Any], bool], after: int = 0) -> ForecastData:
    return ForecastData.model_validate(probe.wait_json(f"{prefix}/forecast/state", predicate, after))


def test_each_source_is_published_from_now_to_the_end_of_tomorrow(
    mqtt_broker: Broker, probe: MqttProbe, prefix: str, clock: Clock, source: Source, fake: FakeHttpDevice
) -> None:
    config = settings(**source.config(fake))
    with forecast_service(config, mqtt_broker, prefix, clock):
        data = state(probe, prefix, lambda s: s["source"] == config.type)
        retained, published = retained_state_and_config(mqtt_broker, probe, prefix, "forecast", config.type)
    assert retained
    assert published.get("api_key") is None
    assert API_KEY not in json.dumps(published)
    assert data.error == 0
    assert data.periods[0].start == NOON  # 13:00 Berlin
    assert data.periods[-1].end == midnight(NOON, BERLIN, 2)
    assert data.periods[0].power_pv == pytest.approx(source.expected_at_noon, rel=0.01)
    assert data.energy_today_remaining == pytest.approx(data.energy_between(NOON, midnight(NOON, BERLIN, 1)))
    assert data.energy_tomorrow > 20_000  # the fakes' day: about 5-6 kWh per kWp
    assert data.sunrise is not None
    assert data.sunset is not None
    assert data.sunrise < NOON < data.sunset


def test_open_meteo_is_asked_once_per_plane_in_its_own_azimuth_convention(
    mqtt_broker: Broker, probe: MqttProbe, prefix: str, clock: Clock
) -> None:
    with FakeOpenMeteo(clock) as fake:
        config = settings(type="OpenMeteo", url=fake.url, planes=EAST_WEST, latitude=52.52, longitude=13.41)
        with forecast_service(config, mqtt_broker, prefix, clock):
            state(probe, prefix, lambda s: s["source"] == "OpenMeteo")
        first_two = fake.requests_to("/v1/forecast")[:2]
    assert [r.query["azimuth"] for r in first_two] == ["-90", "90"]  # east, west
    assert first_two[0].query | {"azimuth": ""} == {
        "latitude": "52.5200",
        "longitude": "13.4100",
        "minutely_15": "global_tilted_irradiance",
        "tilt": "30",
        "azimuth": "",
        "timeformat": "unixtime",
        "past_days": "1",
        "forecast_days": "3",
    }


def test_solcast_gets_the_key_as_a_bearer_token_and_forecast_solar_in_the_path(
    mqtt_broker: Broker, probe: MqttProbe, prefix: str, clock: Clock
) -> None:
    with (
        FakeSolcast(clock, daily_limit=10**7) as solcast,
        FakeForecastSolar(clock, api_key="fs-key") as forecast_solar,
    ):
        for config in (
            settings(
                type="Solcast",
                url=solcast.url,
                api_key=API_KEY,
                resource_ids=["abcd-1234-efgh-5678"],
                calls_per_day=10**7,
            ),
            settings(type="ForecastSolar", url=forecast_solar.url, api_key="fs-key", calls_per_hour=10**7),
        ):
            mark = probe.mark()
            with forecast_service(config, mqtt_broker, prefix, clock):
                state(probe, prefix, lambda s: s["source"] == config.type and s["error"] == 0, mark)  # noqa: B023
        assert solcast.requests[0].headers["Authorization"] == f"Bearer {API_KEY}"
        assert solcast.requests[0].query == {"format": "json"}
        assert forecast_solar.requests[0].path == "/fs-key/estimate/48.1400/11.5800/30/0/10"


def test_the_forecast_solar_key_in_the_path_never_reaches_the_error_topic_or_the_log(
    mqtt_broker: Broker, probe: MqttProbe, prefix: str, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    with FakeForecastSolar(clock, api_key="fs-secret-key") as fake:
        fake.fail(Fault.HTTP_500)
        config = settings(type="ForecastSolar", url=fake.url, api_key="fs-secret-key", calls_per_hour=10**7)
        with caplog.at_level(logging.INFO), forecast_service(config, mqtt_broker, prefix, clock):
            error = probe.wait_json(f"{prefix}/forecast/error", lambda e: True)["error"]
    assert "/<api_key>/estimate/" in error
    assert "HTTP 500" in error
    assert "fs-secret-key" not in error
    assert "fs-secret-key" not in caplog.text


@pytest.mark.parametrize("fault", [Fault.HTTP_500, Fault.GARBAGE, Fault.CLOSE, Fault.SLOW])
def test_a_failing_source_falls_back_to_clear_sky_counting_errors_and_logs_twice(
    mqtt_broker: Broker,
    probe: MqttProbe,
    prefix: str,
    clock: Clock,
    source: Source,
    fake: FakeHttpDevice,
    fault: Fault,
    caplog: pytest.LogCaptureFixture,
) -> None:
    config = settings(**source.config(fake) | {"timeout": 0.3})
    clock.step = 0.01
    with (
        caplog.at_level(logging.INFO, "pvcontrol.forecast"),
        forecast_service(config, mqtt_broker, prefix, clock),
    ):
        good = state(probe, prefix, lambda s: s["source"] == config.type)
        mark = probe.mark()
        fake.fail(fault)
        failing = state(probe, prefix, lambda s: s["error"] >= 3, mark)
        errors = probe.wait_json(f"{prefix}/forecast/error", lambda e: True, mark)
        mark = probe.mark()
        fake.heal()
        back = state(probe, prefix, lambda s: s["error"] == 0, mark)
    assert failing.source == f"ClearSky (fallback: {config.type} failed)"
    assert failing.periods
    assert failing.energy_tomorrow > 0
    assert failing.periods != good.periods
    assert counted_one_by_one(probe, prefix, "forecast")
    assert errors["error"].startswith(f"{config.type} failed: ")
    assert back.source == config.type
    assert back.periods == good.periods
    outage = [r for r in caplog.records if "ClearSky stands in" in r.getMessage()]
    assert [r.levelname for r in outage] == ["WARNING", "INFO"]  # its start and its end, nothing between


BAD_ANSWERS = {
    "OpenMeteo": [
        {"error": True, "reason": "Cannot initialize WeatherVariable from invalid String value"},
        {"minutely_15": {"time": [1781996400], "global_tilted_irradiance": []}},
        {"minutely_15": {"time": [1781996400], "global_tilted_irradiance": [-300.0]}},
        {"minutely_15": {"time": [1781996400], "global_tilted_irradiance": [90000.0]}},
        {"minutely_15": {"time": ["soon"], "global_tilted_irradiance": [100.0]}},
        [1, 2, 3],
    ],
    "ForecastSolar": [
        {"result": None, "message": {"code": 0, "type": "success"}},
        {"result": {"watts": {"2026-06-21 06:00:00": 0, "2026-06-21 12:00:00": -50}}},
        {"result": {"watts": {"2026-06-21 06:00:00": 0, "noon": 500}}},
        {"result": {"watts": {"2026-06-21 06:00:00": 0, "2026-06-21 12:00:00": 9e9}}},
        {"result": {"watts": {"2026-06-21 06:00:00": 0, "2026-06-21 12:00:00": "many"}}},
    ],
    "Solcast": [
        {"forecasts": []},
        {
            "forecasts": [
                {"pv_estimate": -1.0, "period_end": "2026-06-21T11:30:00.0000000Z", "period": "PT30M"}
            ]
        },
        {"forecasts": [{"pv_estimate": 2.0, "period_end": "2026-06-21T11:30:00", "period": "PT30M"}]},
        {"forecasts": [{"pv_estimate": 2.0, "period_end": "2026-06-21T11:30:00Z", "period": "P1D"}]},
        {"forecasts": [{"period_end": "2026-06-21T11:30:00Z", "period": "PT30M"}]},
        {"forecasts": [{"pv_estimate": 900.0, "period_end": "2026-06-21T11:30:00Z", "period": "PT30M"}]},
    ],
}


def test_bad_answers_are_errors_and_clear_sky_stands_in(
    mqtt_broker: Broker, probe: MqttProbe, prefix: str, clock: Clock, source: Source, fake: FakeHttpDevice
) -> None:
    config = settings(**source.config(fake))
    name = config.type
    clock.step = 0.01
    with forecast_service(config, mqtt_broker, prefix, clock) as service:
        state(probe, prefix, lambda s: s["source"] == name and s["error"] == 0)

        def check(answer: Any, document: dict[str, Any]) -> None:
            failing = ForecastData.model_validate(document)
            assert failing.source == f"ClearSky (fallback: {name} failed)", answer

        each_bad_answer_fails(probe, prefix, "forecast", name, fake, BAD_ANSWERS[name], check)
        assert service.link.connected.is_set()


def test_the_free_tiers_limits_are_kept_and_their_refusals_are_only_errors(
    mqtt_broker: Broker, probe: MqttProbe, prefix: str, clock: Clock
) -> None:
    """Forecast.Solar answers 429 after 12 calls an hour; Solcast's daily calls are counted by the adapter,
    which stops calling (no request) once they are used up."""
    clock.step = 0.01
    with FakeForecastSolar(clock) as fake:
        config = settings(type="ForecastSolar", url=fake.url, calls_per_hour=10**7)
        with forecast_service(config, mqtt_broker, prefix, clock):
            failing = state(probe, prefix, lambda s: s["error"] >= 2)
            error = probe.wait_json(f"{prefix}/forecast/error", lambda e: True)
        assert len(fake.requests) >= 13
    assert failing.source == "ClearSky (fallback: ForecastSolar failed)"
    assert "HTTP 429" in error["error"]
    with FakeSolcast(clock) as solcast:
        solcast.fail(Fault.HTTP_500)
        config = settings(
            type="Solcast",
            url=solcast.url,
            api_key=API_KEY,
            resource_ids=["abcd-1234-efgh-5678"],
            calls_per_day=2,
            poll_interval=43200,
        )
        mark = probe.mark()
        with forecast_service(config, mqtt_broker, prefix, clock):
            refused = probe.wait_json(f"{prefix}/forecast/error", lambda e: "used up" in e["error"], mark)
            state(probe, prefix, lambda s: s["error"] >= 4, mark)
        assert len(solcast.requests) == 2
    # The fake clock steps 0.01 s at every reading, so the wait left is a day less however many
    # readings the first calls took: a few seconds at the most.
    used_up = "Solcast failed: 2 calls in 86400 s used up; next in "
    assert refused["error"].startswith(used_up)
    wait = float(refused["error"].removeprefix(used_up).removesuffix(" s"))
    assert 86400 - 60 <= wait <= 86400


@pytest.mark.parametrize(
    ("section", "message"),
    [
        (
            {"type": "ForecastSolar", "planes": [{"kwp": 3}] * 4, "poll_interval": 600},
            "4 planes every 600 s are 24 calls an hour, over the 12 allowed",
        ),
        (
            {"type": "Solcast", "api_key": "k", "resource_ids": ["a", "b"]},
            "2 sites every 10800 s are 16.0 calls a day, over the 10 allowed",
        ),
        ({"type": "ClearSky", "timezone": "Mars/Olympus"}, "unknown time zone 'Mars/Olympus'"),
        ({"type": "ClearSky", "planes": []}, "at least 1 item"),
    ],
)
def test_settings_over_a_free_limit_or_without_a_roof_are_refused(
    section: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)):
        load_settings(None, {"forecast": section})


def meter_state(ts: float, power_pv: float) -> str:
    return json.dumps({"ts": ts, "error": 0, "power_pv": power_pv})


def test_the_meter_corrects_the_rest_of_today_and_a_failing_source_keeps_the_correction(
    mqtt_broker: Broker, probe: MqttProbe, prefix: str, clock: Clock
) -> None:
    """A clear-sky forecast on a day the meter sees 40 % of it: today's periods shrink to 40 %, tomorrow's
    stay; the same with OpenMeteo failing (ClearSky x the correction)."""
    with FakeOpenMeteo(clock) as fake:
        for config in (
            settings(nowcast_window=600),
            settings(type="OpenMeteo", url=fake.url, nowcast_window=600, timeout=0.3),
        ):
            fake.fail(Fault.HTTP_500)
            clock.now = NOON - 600
            mark = probe.mark()
            with forecast_service(config, mqtt_broker, prefix, clock) as service:
                clear = state(probe, prefix, lambda s: s["source"].startswith("ClearSky"), mark)
                expected = {p.start: p.power_pv for p in clear.periods}
                for n in range(21):  # every 30 s for 10 minutes: 40 % of the clear-sky forecast
                    ts = NOON - 600 + 30 * n
                    clock.now = ts
                    slot = ts - ts % 900
                    measured = 0.4 * expected.get(slot, expected[min(expected)])
                    probe.publish(f"{prefix}/meter/state", meter_state(ts, measured))
                    wait_samples(service, n + 1)
                mark = probe.mark()
                corrected = state(probe, prefix, lambda s: s["ts"] == NOON, mark)
            assert corrected.source.startswith("ClearSky")
            today = [p for p in corrected.periods if p.start < midnight(NOON, BERLIN, 1)]
            tomorrow = [p for p in corrected.periods if p.start >= midnight(NOON, BERLIN, 1)]
            reference = {p.start: p.power_pv for p in clear.periods}
            assert all(p.power_pv == pytest.approx(0.4 * reference[p.start], rel=0.02) for p in today)
            assert all(p.power_pv == pytest.approx(reference[p.start]) for p in tomorrow)
            fake.heal()


def test_implausible_or_stale_meter_readings_do_not_correct_anything(
    mqtt_broker: Broker, probe: MqttProbe, prefix: str, clock: Clock
) -> None:
    with forecast_service(settings(nowcast_window=600), mqtt_broker, prefix, clock) as service:
        state(probe, prefix, lambda s: True)
        for document in (
            meter_state(NOON - 120, 100.0),  # two minutes old
            meter_state(NOON + 120, 100.0),  # from the future
            meter_state(NOON, 10**6),  # 1 MW from a 10 kWp roof
            json.dumps({"ts": NOON, "error": 2, "power_pv": 100.0}),  # the meter's last good value
            "not json",
        ):
            probe.publish(f"{prefix}/meter/state", document)
        probe.publish(f"{prefix}/meter/state", meter_state(NOON, 100.0))
        wait_samples(service, 1)
        assert [s[1] for s in service.nowcast_clear_sky._samples] == [100.0]


def test_an_east_west_roof_from_the_environment_as_in_the_readme(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PVC_FORECAST__TYPE", "OpenMeteo")
    monkeypatch.setenv("PVC_FORECAST__LATITUDE", "48.14")
    monkeypatch.setenv("PVC_FORECAST__PLANES", json.dumps(EAST_WEST))
    forecast = load_settings(None, {}).forecast
    assert forecast.type == "OpenMeteo"
    assert [(p.kwp, p.azimuth) for p in forecast.planes] == [(5, 90), (5, 270)]
    assert forecast.poll_interval == 900  # OpenMeteo's own default
