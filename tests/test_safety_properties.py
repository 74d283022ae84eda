"""Hardware invariants as properties over the services (not only the law): hypothesis plays random
sequences of readings, forged documents and commands into the real service objects (their MQTT
handlers and control cycle, in-process, with a fake clock) and checks what would reach a device."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pvcontrol.broker import BrokerAddress
from pvcontrol.commands import CommandError
from pvcontrol.models import ChargeMode
from pvcontrol.topics import Topics
from services.controller import service as controller_module
from services.controller.service import ControllerService
from services.controller.settings import ControllerSettings
from services.relay import service as relay_module
from services.relay.service import RelayService
from services.relay.simulated import SimulatedPhaseRelay, SimulatedPhaseRelayConfig

NOWHERE = BrokerAddress("127.0.0.1", 9)  # never connected: the handlers are called directly
TOPICS = Topics("prop")
START = 1_800_000_000.0
STALE_AFTER = 90.0
PLANT_LIMIT = 50_000.0


class Clock:
    def __init__(self) -> None:
        self.t = START

    def __call__(self) -> float:
        return self.t


@contextmanager
def fake_time(module: Any) -> Iterator[Clock]:
    clock = Clock()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(module, "now", clock)
        yield clock


# --- documents, plausible and not ------------------------------------------------------------------

SANE_POWER = st.floats(-15_000, 15_000, allow_nan=False)
WILD_NUMBER = st.sampled_from(["NaN", "Infinity", "-Infinity", "-1e308", "1e6", "-1000000"])
TS_OFFSET = st.one_of(
    st.floats(-5, 0),  # fresh, most of the time
    st.floats(-5, 0),
    st.floats(-5, 0),
    st.floats(-400, -91),  # stale
    st.floats(6, 86_400),  # from the future
)


@st.composite
def wallbox_payloads(draw: st.DrawFn) -> tuple[str, dict[str, Any] | None]:
    """(payload, the document if it is one the services may trust)."""
    charging = draw(st.booleans())
    doc: dict[str, Any] = {
        "ts_offset": draw(TS_OFFSET),
        "car_status": 2 if charging else 3,
        "allow_charging": charging or draw(st.booleans()),
        "max_current": draw(st.integers(6, 16)),
        "phases_in": draw(st.sampled_from([1, 3])),
        "phases_out": draw(st.sampled_from([1, 3])) if charging else 0,
        "power": draw(st.floats(1000, 11_000)) if charging else draw(st.sampled_from([0.0, 0.0, 30.0])),
        "charged_energy": draw(st.floats(0, 50_000)),
    }
    wild = draw(st.sampled_from([None, None, None, "power", "charged_energy", "max_current"]))
    return _encode(doc, wild, draw(WILD_NUMBER))


@st.composite
def meter_payloads(draw: st.DrawFn) -> tuple[str, dict[str, Any] | None]:
    doc: dict[str, Any] = {
        "ts_offset": draw(TS_OFFSET),
        "power_pv": draw(st.floats(0, 10_000)),
        "power_consumption": draw(st.floats(0, 10_000)),
        "power_grid": draw(SANE_POWER),
        "power_battery": draw(st.floats(-3000, 3000)),
        "soc_battery": draw(st.floats(0, 100)),
        "energy_consumption": draw(st.floats(0, 1e6)),
        "energy_consumption_grid": draw(st.floats(0, 1e6)),
    }
    wild = draw(st.sampled_from([None, None, None, "power_grid", "power_battery", "soc_battery"]))
    return _encode(doc, wild, draw(WILD_NUMBER))


def _encode(doc: dict[str, Any], wild: str | None, wild_value: str) -> tuple[str, dict[str, Any] | None]:
    """The JSON text, and the document with its `ts` if the services may trust it. A wild field gets a
    raw NaN/inf/huge literal that json.dumps would not write; only 1 MWh charged is still plausible."""
    fields = {k: v for k, v in doc.items() if k != "ts_offset"}
    ts = START + doc["ts_offset"]
    extra = ""
    if wild is not None:
        fields.pop(wild)
        extra = f', "{wild}": {wild_value}'
    text = json.dumps(fields)[:-1] + f'{extra}, "ts": {ts!r}' + "}"
    plausible = wild is None or (wild == "charged_energy" and wild_value == "1e6")
    return text, {**fields, "ts": ts} if plausible else None  # a ts ahead is judged at receipt


def at_receipt(document: dict[str, Any] | None, at: float) -> dict[str, Any] | None:
    """What the service may trust when the document arrives at `at`: not more than 5 s ahead."""
    return document if document is not None and document["ts"] - at <= 5 else None


def is_fresh(document: dict[str, Any] | None, at: float) -> bool:
    return document is not None and at - document["ts"] <= STALE_AFTER and document["ts"] - at <= 5


# --- the relay -------------------------------------------------------------------------------------

RELAY_EVENTS = st.lists(
    st.one_of(
        st.tuples(st.just("wallbox"), wallbox_payloads()),
        st.tuples(st.just("phases"), st.sampled_from(["1", "3", "3", "2", "x"])),
        st.tuples(st.just("wait"), st.floats(0.1, 120)),
    ),
    max_size=25,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=RELAY_EVENTS)
def test_relay_never_switches_unless_the_latest_wallbox_state_is_trusted_fresh_and_idle(
    events: list[tuple[str, Any]],
) -> None:
    asyncio.run(_play_relay(events))


async def _play_relay(events: list[tuple[str, Any]]) -> None:
    config = SimulatedPhaseRelayConfig(idle_settle=0)
    relay = RelayService(config, SimulatedPhaseRelay(config), NOWHERE, TOPICS)
    latest: dict[str, Any] | None = None
    with fake_time(relay_module) as clock:
        relay._wallbox_reading.clock = clock
        for kind, value in events:
            if kind == "wait":
                clock.t += value
            elif kind == "wallbox":
                payload, document = value
                latest = at_receipt(document, clock.t)
                await relay._on_wallbox_state(payload.encode())
            else:
                before = relay.relay.phases()
                with suppress(CommandError):
                    await relay._on_phases(value.encode())
                if relay.relay.phases() != before:
                    assert latest is not None, "switched without a trusted wallbox state"
                    assert is_fresh(latest, clock.t), "switched on a stale wallbox state"
                    assert latest["phases_out"] == 0, "switched under load"
                    assert latest["power"] <= 0, "switched under load"


# --- the controller --------------------------------------------------------------------------------

CONTROLLER_EVENTS = st.lists(
    st.one_of(
        st.tuples(st.just("meter"), meter_payloads()),
        st.tuples(st.just("wallbox"), wallbox_payloads()),
        st.tuples(st.just("mode"), st.sampled_from(["PV_ONLY", "PV_ALL", "PV_ONLY", "MAX", "OFF"])),
        st.tuples(st.just("cycle"), st.floats(0.1, 60)),
    ),
    max_size=30,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=CONTROLLER_EVENTS)
def test_controller_commands_stay_in_range_and_never_rest_on_an_untrusted_reading(
    events: list[tuple[str, Any]],
) -> None:
    asyncio.run(_play_controller(events))


async def _play_controller(events: list[tuple[str, Any]]) -> None:
    config = ControllerSettings(cycle_time=1)
    controller = ControllerService(config, NOWHERE, TOPICS)
    sent: list[tuple[str, str]] = []

    async def record(topic: str, payload: str) -> bool:
        sent.append((topic, payload))
        return True

    controller.link.publish_command = record  # type: ignore[method-assign]
    latest: dict[str, dict[str, Any] | None] = {"meter": None, "wallbox": None}
    with fake_time(controller_module) as clock:
        controller._meter_reading.clock = controller._wallbox_reading.clock = clock
        for kind, value in events:
            mark = len(sent)
            if kind == "mode":
                await controller._on_desired_mode(value.encode())
                continue
            if kind in ("meter", "wallbox"):
                payload, document = value
                latest[kind] = at_receipt(document, clock.t)
                handler = controller._on_meter if kind == "meter" else controller._on_wallbox
                await handler(payload.encode())
            else:
                clock.t += value
                await controller.cycle()
            _check_commands(sent[mark:], controller, latest, clock.t, config)


def _check_commands(
    commands: list[tuple[str, str]],
    controller: ControllerService,
    latest: dict[str, dict[str, Any] | None],
    at: float,
    config: ControllerSettings,
) -> None:
    for topic, payload in commands:
        if topic.endswith("/max_current/set"):
            assert config.min_supported_current <= int(payload) <= config.max_supported_current
    pv_mode = controller.law_state.desired_mode in (ChargeMode.PV_ONLY, ChargeMode.PV_ALL)
    untrusted = not (is_fresh(latest["meter"], at) and is_fresh(latest["wallbox"], at))
    if pv_mode and untrusted:
        starts = [p for t, p in commands if t.endswith("/allow_charging/set") and p == "true"]
        assert starts == [], "started PV charging on an untrusted or missing reading"
        wallbox = latest["wallbox"]
        if wallbox is not None:
            raised = [
                p for t, p in commands if t.endswith("/max_current/set") and int(p) > wallbox["max_current"]
            ]
            assert raised == [], "raised the current on an untrusted reading"


@st.composite
def untrusted_meter_payloads(draw: st.DrawFn) -> str:
    """A meter document the controller must not act on, built around a plausible one."""
    payload, trusted = draw(meter_payloads())
    if trusted is None:
        return payload
    fields = {k: v for k, v in trusted.items() if k != "ts"}
    flaw = draw(st.sampled_from(["grid", "battery", "soc", "future", "nan"]))
    if flaw == "grid":
        fields["power_grid"] = draw(st.sampled_from([-1e308, -1e6, -50_001.0]))
    elif flaw == "battery":
        fields["power_battery"] = draw(st.sampled_from([-1e308, 1e308, -60_000.0]))
    elif flaw == "soc":
        fields["soc_battery"] = draw(st.sampled_from([-1.0, 100.5, 1e9]))
    ts = START + (draw(st.floats(6, 1e6)) if flaw == "future" else 0)
    text = json.dumps({**fields, "ts": ts})
    return text.replace('"power_grid": ', '"power_grid": NaN, "x": ', 1) if flaw == "nan" else text


@settings(max_examples=300, deadline=None)
@given(
    mode=st.sampled_from(["PV_ONLY", "PV_ALL"]),
    wallbox=wallbox_payloads().filter(lambda w: w[1] is not None),
    good_meter=meter_payloads().filter(lambda m: m[1] is not None),
    bad_meter=untrusted_meter_payloads(),
)
def test_after_an_untrusted_meter_reading_the_controller_neither_starts_nor_raises_the_current(
    mode: str,
    wallbox: tuple[str, dict[str, Any]],
    good_meter: tuple[str, dict[str, Any]],
    bad_meter: str,
) -> None:
    asyncio.run(
        _play_controller(
            [
                ("mode", mode),
                ("wallbox", wallbox),
                ("meter", good_meter),
                ("cycle", 0.5),
                ("meter", (bad_meter, None)),
                ("cycle", 0.5),
                ("cycle", 1.0),
            ]
        )
    )
