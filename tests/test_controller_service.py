"""Black-box tests of `pvcontrol controller`: the test plays meter, wallbox and relay over MQTT."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from pvcontrol.broker import BrokerAddress
from pvcontrol.topics import Topics
from services.controller import service as controller_service
from services.controller.model import Step
from services.controller.settings import ControllerSettings
from services.controller.strategies import STRATEGIES
from tests.helpers import RESTORES, Broker, MqttProbe, ServiceProcess, running, wait_until

# These tests check the original strategy's behaviour (CONTROL.md's worked examples); the tracking
# strategy, the default, has tests/test_tracking_service.py.
FAST = {"PVC_CONTROLLER__CYCLE_TIME": "0.2", "PVC_CONTROLLER__STRATEGY": "original"}


def meter(**values: Any) -> dict[str, Any]:
    return {
        "ts": time.time(),
        "error": 0,
        "power_pv": 0,
        "power_consumption": 0,
        "power_grid": 0,
        "power_battery": 0,
        "soc_battery": 100,
        **values,
    }


def wallbox(**values: Any) -> dict[str, Any]:
    return {
        "ts": time.time(),
        "error": 0,
        "wb_error": 0,
        "car_status": 3,
        "max_current": 6,
        "allow_charging": False,
        "phases_in": 1,
        "phases_out": 0,
        "power": 0,
        **values,
    }


@pytest.fixture
def controller(mqtt_broker: Broker, prefix: str, tmp_path: Path) -> Iterator[ServiceProcess]:
    with running(["controller"], mqtt_broker, prefix, tmp_path, FAST) as process:
        yield process


def wait_online(probe: MqttProbe, prefix: str, service: str = "controller") -> None:
    probe.wait_for(f"{prefix}/{service}/status", lambda m: m.payload == b"online")


def test_pv_only_starts_charging_with_surplus(
    probe: MqttProbe, prefix: str, controller: ServiceProcess
) -> None:
    probe.publish_json(f"{prefix}/meter/state", meter(power_grid=-1600, power_pv=2100, power_consumption=500))
    probe.publish_json(f"{prefix}/wallbox/state", wallbox())
    wait_online(probe, prefix)
    probe.publish(f"{prefix}/controller/desired_mode/set", "PV_ONLY")
    assert probe.wait_for(f"{prefix}/wallbox/max_current/set").payload == b"7"
    assert probe.wait_for(f"{prefix}/wallbox/allow_charging/set").payload == b"true"
    probe.wait_json(f"{prefix}/controller/state", lambda s: s["mode"] == "PV_ONLY")


def test_pv_only_does_not_start_below_threshold(
    probe: MqttProbe, prefix: str, controller: ServiceProcess
) -> None:
    probe.publish_json(f"{prefix}/meter/state", meter(power_grid=-1500))
    probe.publish_json(f"{prefix}/wallbox/state", wallbox(max_current=10))
    wait_online(probe, prefix)
    probe.publish(f"{prefix}/controller/desired_mode/set", "PV_ONLY")
    assert probe.wait_for(f"{prefix}/wallbox/max_current/set").payload == b"6"
    probe.wait_json(f"{prefix}/controller/state", lambda s: s["mode"] == "PV_ONLY")
    assert probe.on(f"{prefix}/wallbox/allow_charging/set") == []


def test_max_sets_full_current_and_allows(probe: MqttProbe, prefix: str, controller: ServiceProcess) -> None:
    probe.publish_json(f"{prefix}/meter/state", meter())
    probe.publish_json(f"{prefix}/wallbox/state", wallbox())
    wait_online(probe, prefix)
    probe.publish(f"{prefix}/controller/desired_mode/set", '"MAX"')
    assert probe.wait_for(f"{prefix}/wallbox/max_current/set").payload == b"16"
    assert probe.wait_for(f"{prefix}/wallbox/allow_charging/set").payload == b"true"
    probe.wait_json(
        f"{prefix}/controller/state", lambda s: (s["mode"], s["desired_mode"]) == ("MAX", "MANUAL")
    )


def test_phase_switch_to_three_phases_when_idle(
    probe: MqttProbe, prefix: str, controller: ServiceProcess
) -> None:
    probe.publish_json(f"{prefix}/relay/state", {"ts": time.time(), "enabled": True, "phases": 1})
    probe.publish_json(f"{prefix}/meter/state", meter(power_grid=-4400))
    probe.publish_json(f"{prefix}/wallbox/state", wallbox())
    wait_online(probe, prefix)
    probe.publish(f"{prefix}/controller/desired_mode/set", "PV_ONLY")
    assert probe.wait_for(f"{prefix}/relay/phases/set").payload == b"3"


def test_phase_switch_while_charging_stops_charging_first(
    probe: MqttProbe, prefix: str, controller: ServiceProcess
) -> None:
    probe.publish_json(f"{prefix}/relay/state", {"ts": time.time(), "enabled": True, "phases": 1})
    probe.publish_json(f"{prefix}/meter/state", meter(power_grid=-3000))
    charging = {"allow_charging": True, "phases_out": 1, "power": 1840, "max_current": 8, "car_status": 2}
    probe.publish_json(f"{prefix}/wallbox/state", wallbox(**charging))
    wait_online(probe, prefix)
    probe.publish(f"{prefix}/controller/phase_mode/set", "CHARGE_3P")
    probe.publish(f"{prefix}/controller/desired_mode/set", "PV_ONLY")
    assert probe.wait_for(f"{prefix}/wallbox/allow_charging/set").payload == b"false"
    assert probe.on(f"{prefix}/relay/phases/set") == []


def test_stale_meter_stops_pv_charging(
    probe: MqttProbe, prefix: str, mqtt_broker: Broker, tmp_path: Path
) -> None:
    probe.publish_json(f"{prefix}/controller/state", {"desired_mode": "PV_ONLY", "mode": "PV_ONLY"})
    probe.publish_json(f"{prefix}/meter/state", meter(ts=time.time() - 200, power_grid=-3000))
    charging = {"allow_charging": True, "phases_out": 1, "power": 1840, "max_current": 8, "car_status": 2}
    probe.publish_json(f"{prefix}/wallbox/state", wallbox(**charging))
    with running(["controller"], mqtt_broker, prefix, tmp_path, {**FAST, **RESTORES}):
        assert probe.wait_for(f"{prefix}/wallbox/allow_charging/set").payload == b"false"
    assert probe.on(f"{prefix}/wallbox/max_current/set") == []


def test_missing_wallbox_data_never_starts_pv_charging(
    probe: MqttProbe, prefix: str, controller: ServiceProcess
) -> None:
    probe.publish_json(f"{prefix}/meter/state", meter(power_grid=-5000))
    wait_online(probe, prefix)
    probe.publish(f"{prefix}/controller/desired_mode/set", "PV_ALL")
    probe.wait_json(f"{prefix}/controller/state", lambda s: s["desired_mode"] == "PV_ALL")
    mark = probe.mark()
    probe.wait_json(f"{prefix}/controller/state", lambda s: True, after=mark)  # at least one more cycle
    assert all(m.payload == b"false" for m in probe.on(f"{prefix}/wallbox/allow_charging/set"))
    assert probe.on(f"{prefix}/wallbox/max_current/set") == []


@pytest.mark.parametrize(
    ("topic", "payload"),
    [
        ("desired_mode", "FAST"),
        ("desired_mode", '{"mode": "MAX"}'),
        ("desired_mode", "x" * 1000),
        ("phase_mode", "DISABLED"),
        ("desired_priority", "42"),
    ],
)
def test_invalid_command_is_rejected_and_changes_nothing(
    probe: MqttProbe, prefix: str, controller: ServiceProcess, topic: str, payload: str
) -> None:
    probe.publish_json(f"{prefix}/relay/state", {"ts": time.time(), "enabled": True, "phases": 1})
    wait_online(probe, prefix)
    before = probe.wait_json(f"{prefix}/controller/state", lambda s: s["phase_mode"] == "AUTO")
    probe.publish(f"{prefix}/controller/{topic}/set", payload)
    error = probe.wait_json(f"{prefix}/controller/error", lambda e: True)
    assert error["topic"] == f"{prefix}/controller/{topic}/set"
    assert error["error"]
    mark = probe.mark()
    after = probe.wait_json(f"{prefix}/controller/state", lambda s: True, after=mark)
    for key in ("desired_mode", "phase_mode", "desired_priority"):
        assert after[key] == before[key]
    assert controller.proc.poll() is None


def test_restart_restores_settings_and_stops_cleanly(
    probe: MqttProbe, prefix: str, mqtt_broker: Broker, tmp_path: Path
) -> None:
    probe.publish_json(f"{prefix}/relay/state", {"ts": time.time(), "enabled": True, "phases": 1})
    with running(["controller"], mqtt_broker, prefix, tmp_path, FAST) as first:
        wait_online(probe, prefix)
        probe.publish(f"{prefix}/controller/desired_mode/set", "PV_ALL")
        probe.publish(f"{prefix}/controller/phase_mode/set", "CHARGE_1P")
        probe.publish(f"{prefix}/controller/desired_priority/set", "HOME_BATTERY")
        probe.wait_json(f"{prefix}/controller/state", lambda s: s["desired_priority"] == "HOME_BATTERY")
        started = time.monotonic()
        assert first.terminate() == 0
        assert time.monotonic() - started < 5
    assert probe.last(f"{prefix}/controller/status") is not None
    assert probe.on(f"{prefix}/controller/status")[-1].payload == b"offline"

    mark = probe.mark()
    with running(["controller"], mqtt_broker, prefix, tmp_path, {**FAST, **RESTORES}):
        restored = probe.wait_json(f"{prefix}/controller/state", lambda s: True, after=mark)
    assert restored["desired_mode"] == "PV_ALL"
    assert restored["phase_mode"] == "CHARGE_1P"
    assert restored["desired_priority"] == "HOME_BATTERY"


def test_a_failing_control_law_stops_pv_charging_and_the_controller_keeps_running(
    probe: MqttProbe, prefix: str, mqtt_broker: Broker, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_step(*_: object) -> Step:
        raise ZeroDivisionError("a bug on an unforeseen input")

    settings = ControllerSettings(cycle_time=0.1)
    monkeypatch.setitem(
        STRATEGIES, settings.strategy, replace(STRATEGIES[settings.strategy], step=broken_step)
    )
    probe.publish_json(f"{prefix}/controller/state", {"desired_mode": "PV_ONLY", "mode": "PV_ONLY"})
    service = controller_service.ControllerService(
        settings, BrokerAddress.parse(mqtt_broker.url), Topics(prefix)
    )
    stops = f"{prefix}/wallbox/allow_charging/set"

    async def scenario() -> None:
        stop = asyncio.Event()
        running_service = asyncio.create_task(service.run(stop))
        await asyncio.to_thread(wait_until, lambda: len(probe.on(stops)) >= 3, 20, "repeated stops")
        assert not running_service.done()
        stop.set()
        await running_service

    asyncio.run(scenario())
    assert {m.payload for m in probe.on(stops)} == {b"false"}


def test_a_wallbox_that_switches_phases_itself_gets_the_phase_command(
    probe: MqttProbe, prefix: str, controller: ServiceProcess
) -> None:
    """No relay, but the wallbox declares `phase_switching: native`: the controller sends its phase
    wish to `P/wallbox/phases/set` (the wallbox pauses, switches, resumes), never to the relay."""
    probe.publish_json(f"{prefix}/wallbox/config", {"type": "GoeWallbox", "phase_switching": "native"})
    probe.publish_json(f"{prefix}/meter/state", meter(power_grid=-6000, power_pv=6500, power_consumption=500))
    probe.publish_json(f"{prefix}/wallbox/state", wallbox(phases_in=1))
    wait_online(probe, prefix)
    probe.publish(f"{prefix}/controller/desired_mode/set", "PV_ONLY")
    assert probe.wait_for(f"{prefix}/wallbox/phases/set").payload == b"3"
    state = probe.wait_json(f"{prefix}/controller/state", lambda s: s["desired_mode"] == "PV_ONLY")
    assert state["phase_mode"] == "AUTO"  # settable: the wallbox switches
    assert probe.on(f"{prefix}/relay/phases/set") == []


def forecast_document(power_pv: float, age: float = 0.0) -> dict[str, Any]:
    """A forecast published `age` s ago: `power_pv` W from an hour ago for ten hours, sunset in 7 h."""
    at = time.time()
    start = at - 3600
    periods = [
        {"start": start + i * 900, "end": start + (i + 1) * 900, "power_pv": power_pv} for i in range(40)
    ]
    return {"ts": at - age, "error": 0, "source": "ClearSky", "periods": periods, "sunset": at + 7 * 3600}


def test_the_forecast_decides_how_much_of_the_home_battery_charge_the_car_gets(
    probe: MqttProbe, prefix: str, mqtt_broker: Broker, caplog: pytest.LogCaptureFixture
) -> None:
    """Charging 10 A, the home battery (60 %) taking 2 kW: without a forecast priority AUTO gives the car
    the battery's charge (16 A); a dull forecast leaves it to the battery (6 A) and says why; a forecast
    that is too old or invalid counts as none, with one log line each."""
    settings = ControllerSettings(
        strategy="tracking",
        cycle_time=0.1,
        home_battery_capacity=10_000,
        home_battery_max_power=3000,
        forecast_margin=0.8,
    )
    probe.publish_json(f"{prefix}/controller/state", {"desired_mode": "PV_ONLY", "mode": "PV_ONLY"})
    service = controller_service.ControllerService(
        settings, BrokerAddress.parse(mqtt_broker.url), Topics(prefix)
    )
    state, current = f"{prefix}/controller/state", f"{prefix}/wallbox/max_current/set"
    charging = wallbox(allow_charging=True, max_current=10, phases_out=1, power=2300, car_status=2)

    def readings() -> None:
        probe.publish_json(f"{prefix}/wallbox/state", {**charging, "ts": time.time()})
        probe.publish_json(
            f"{prefix}/meter/state",
            meter(power_pv=4800, power_consumption=2800, power_battery=-2000, soc_battery=60),
        )

    def sees(
        forecast: dict[str, Any] | str,
        reason: Callable[[str], bool],
        amps: bytes,
        battery: Callable[[Any], bool] = lambda _: True,
    ) -> None:
        mark = probe.mark()
        if isinstance(forecast, str):
            probe.publish(f"{prefix}/forecast/state", forecast, retain=True)
        else:
            probe.publish_json(f"{prefix}/forecast/state", forecast)
        readings()
        probe.wait_json(state, lambda s: reason(s["reason"]) and battery(s.get("home_battery")), after=mark)
        probe.wait_for(current, lambda m: m.payload == amps, after=probe.mark())

    async def scenario() -> None:
        stop = asyncio.Event()
        running_service = asyncio.create_task(service.run(stop))
        try:
            await asyncio.to_thread(readings)
            await asyncio.to_thread(probe.wait_for, current, lambda m: m.payload == b"16")
            # 0.8 x 1700 - 500 W house = 860 W for 6 h: 5.16 kWh, 0.16 beyond the 4 kWh needed + 1 kept
            dull = forecast_document(1700)
            needs = "the home battery needs 4.0 kWh by "
            await asyncio.to_thread(
                sees, dull, lambda r: r.startswith(needs) and "car gets what is left" in r, b"6"
            )
            sunny = forecast_document(6000)

            # the battery's 4 kWh at its 3 kW: full in 1 h 20 min, long before sunset - 1 h (in 6 h)
            def full_early(hb: Any) -> bool:
                return bool(hb and hb["needed_wh"] == 4000 and hb["full_at"] < hb["full_by"] - 4 * 3600)

            await asyncio.to_thread(
                sees, sunny, lambda r: "the car may take its charge" in r, b"16", full_early
            )
            await asyncio.to_thread(sees, dull, lambda r: "car gets what is left" in r, b"6")
            old = forecast_document(1700, age=3 * 3600)
            no_plan: Callable[[Any], bool] = lambda hb: hb is None  # noqa: E731
            await asyncio.to_thread(sees, old, lambda r: not r.startswith("the home battery"), b"16", no_plan)
            await asyncio.to_thread(sees, dull, lambda r: "car gets what is left" in r, b"6")
            await asyncio.to_thread(
                sees, '{"ts": "soon"}', lambda r: not r.startswith("the home battery"), b"16", no_plan
            )
        finally:
            stop.set()
            await running_service

    with caplog.at_level(logging.INFO, logger=service.log.name):
        asyncio.run(scenario())
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len([line for line in lines if line.startswith("forecast too old, planned without one")]) == 1
    assert len([line for line in lines if line.startswith("untrusted forecast reading")]) == 1
