"""Fault injection with real processes on a real Mosquitto: each test breaks something for real (kills
the controller, stops the broker, forges or retains messages, sends implausible readings) and checks
that no device is driven into an unsafe state. The README's "Safety" section points here."""

from __future__ import annotations

import math
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import (
    RESTORES,
    Broker,
    MqttProbe,
    ServiceProcess,
    free_port,
    own_mosquitto,
    running,
    wait_until,
)

# Well above the controller's restore_timeout (0.5 s in tests) plus its start: a controller just started
# is silent that long, and the wallbox refuses starts from a controller silent for the timeout.
CONTROLLER_TIMEOUT = 3.0
WALLBOX_ENV = {
    "PVC_WALLBOX__POLL_INTERVAL": "0.2",
    "PVC_WALLBOX__CONTROLLER_TIMEOUT": str(CONTROLLER_TIMEOUT),
}
CONTROLLER_ENV = {"PVC_CONTROLLER__CYCLE_TIME": "0.2", "PVC_CONTROLLER__STRATEGY": "original"}


def meter(**values: Any) -> dict[str, Any]:
    return {
        "ts": time.time(),
        "error": 0,
        "power_pv": 5500,
        "power_consumption": 500,
        "power_grid": -5000,  # 7 A on three phases
        "power_battery": 0,
        "soc_battery": 100,
        **values,
    }


def controller_state(mode: str) -> dict[str, Any]:
    return {"ts": time.time(), "error": 0, "mode": mode, "desired_mode": mode}


def wait_online(probe: MqttProbe, prefix: str, service: str) -> None:
    probe.wait_for(f"{prefix}/{service}/status", lambda m: m.payload == b"online")


def wallbox_state(probe: MqttProbe, prefix: str, after: int = 0, **expected: Any) -> dict[str, Any]:
    state: dict[str, Any] = probe.wait_json(
        f"{prefix}/wallbox/state", lambda s: all(s[k] == v for k, v in expected.items()), after=after
    )
    return state


@pytest.fixture
def wallbox(mqtt_broker: Broker, prefix: str, probe: MqttProbe, tmp_path: Path) -> Iterator[ServiceProcess]:
    args = ["wallbox", "--wallbox", "SimulatedWallbox"]
    with running(args, mqtt_broker, prefix, tmp_path, WALLBOX_ENV) as process:
        wait_online(probe, prefix, "wallbox")
        yield process


def charge_in_pv_only(probe: MqttProbe, prefix: str) -> None:
    """The real controller, PV_ONLY with a steady surplus, until the wallbox charges."""
    probe.publish_json(f"{prefix}/meter/state", meter())
    probe.publish(f"{prefix}/controller/desired_mode/set", "PV_ONLY")
    wallbox_state(probe, prefix, allow_charging=True, car_status=2)


# --- failsafe stop ---------------------------------------------------------------------------------


def test_killed_controller_in_pv_only_stops_charging_after_the_timeout(
    probe: MqttProbe, prefix: str, mqtt_broker: Broker, tmp_path: Path, wallbox: ServiceProcess
) -> None:
    with running(["controller"], mqtt_broker, prefix, tmp_path, CONTROLLER_ENV) as controller:
        wait_online(probe, prefix, "controller")
        charge_in_pv_only(probe, prefix)
        controller.proc.send_signal(signal.SIGKILL)  # no goodbye, no last cycle
        controller.proc.wait(10)
        killed_at = time.time()
        mark = probe.mark()
        stopped = wallbox_state(probe, prefix, after=mark, allow_charging=False)
    assert stopped["ts"] - killed_at >= CONTROLLER_TIMEOUT - 0.5  # not before the timeout
    assert stopped["ts"] - killed_at < CONTROLLER_TIMEOUT + 5
    assert wallbox.log().count("failsafe: no controller state") == 1


def test_silent_controller_in_max_leaves_charging_alone(
    probe: MqttProbe, prefix: str, wallbox: ServiceProcess
) -> None:
    """MAX and MANUAL: the user asked to charge whatever the sun does."""
    probe.publish_json(f"{prefix}/controller/state", controller_state("MAX"), retain=False)
    probe.publish(f"{prefix}/wallbox/allow_charging/set", "true")
    started = wallbox_state(probe, prefix, allow_charging=True)
    later = probe.wait_json(
        f"{prefix}/wallbox/state", lambda s: s["ts"] > started["ts"] + CONTROLLER_TIMEOUT + 1
    )
    assert later["allow_charging"] is True
    assert "failsafe" not in wallbox.log()


def test_retained_controller_state_is_no_sign_of_life(
    probe: MqttProbe, prefix: str, mqtt_broker: Broker, tmp_path: Path
) -> None:
    """A controller that died leaves its retained PV_ONLY state behind: the wallbox must not take that
    copy (delivered again at every reconnect) for a live controller. Once stopped, a start sent while
    the controller stays silent is refused; a live controller state lifts the stop."""
    probe.publish_json(f"{prefix}/controller/state", controller_state("PV_ONLY"), retain=True)
    with running(
        ["wallbox", "--wallbox", "SimulatedWallbox"], mqtt_broker, prefix, tmp_path, WALLBOX_ENV
    ) as wb:
        wait_online(probe, prefix, "wallbox")
        wait_until(lambda: "failsafe: no controller state" in wb.log(), 20, "the failsafe stop")
        mark = probe.mark()
        probe.publish(f"{prefix}/wallbox/allow_charging/set", "true")
        error = probe.wait_json(f"{prefix}/wallbox/error", lambda e: "failsafe" in e["error"], after=mark)
        assert "refused" in error["error"]
        after_refusal = probe.mark()
        assert wallbox_state(probe, prefix, after=after_refusal)["allow_charging"] is False

        probe.publish_json(f"{prefix}/controller/state", controller_state("PV_ONLY"), retain=False)
        wait_until(lambda: "controller heard again" in wb.log(), 20, "the controller heard live")
        mark = probe.mark()
        probe.publish(f"{prefix}/wallbox/allow_charging/set", "true")
        wallbox_state(probe, prefix, after=mark, allow_charging=True)


def test_lost_broker_in_pv_only_stops_charging(prefix: str, tmp_path: Path) -> None:
    """The wallbox cannot hear the controller without a broker: after the timeout it stops by itself,
    and it tells so once the broker is back."""
    port = free_port()
    broker = Broker("127.0.0.1", port)
    mosquitto_dir = tmp_path / "mosquitto"
    mosquitto_dir.mkdir()
    with own_mosquitto(port, mosquitto_dir) as mosquitto:
        probe = MqttProbe(broker, prefix)
        probe.start()
        try:
            args = ["wallbox", "--wallbox", "SimulatedWallbox"]
            with running(args, broker, prefix, tmp_path, WALLBOX_ENV) as wb:
                wait_online(probe, prefix, "wallbox")
                probe.publish_json(f"{prefix}/controller/state", controller_state("PV_ONLY"), retain=False)
                probe.publish(f"{prefix}/wallbox/allow_charging/set", "true")
                wallbox_state(probe, prefix, allow_charging=True)
                probe.stop()
                mosquitto.kill()
                mosquitto.wait(10)
                wait_until(lambda: "failsafe: no controller state" in wb.log(), 20, "the failsafe stop")
                with own_mosquitto(port, mosquitto_dir):
                    probe = MqttProbe(broker, prefix)
                    probe.start()
                    state = probe.wait_json(f"{prefix}/wallbox/state", lambda s: True, timeout=40)
                    assert state["allow_charging"] is False
        finally:
            probe.stop()


# --- commands are live, never retained -------------------------------------------------------------


def test_retained_mode_command_is_not_replayed_on_controller_restart(
    probe: MqttProbe, prefix: str, mqtt_broker: Broker, tmp_path: Path
) -> None:
    probe.publish_json(f"{prefix}/meter/state", meter())
    probe.publish_json(
        f"{prefix}/wallbox/state",
        {"ts": time.time(), "car_status": 3, "phases_in": 3, "max_current": 6},
    )
    with running(["controller"], mqtt_broker, prefix, tmp_path, CONTROLLER_ENV):
        wait_online(probe, prefix, "controller")
        probe.publish(f"{prefix}/controller/desired_mode/set", "PV_ONLY")
        probe.wait_json(f"{prefix}/controller/state", lambda s: s["mode"] == "PV_ONLY")
    # Someone publishes a command retained (e.g. a Node-RED node with "retain" ticked).
    probe.publish(f"{prefix}/controller/desired_mode/set", "MAX", retain=True)
    mark = probe.mark()
    with running(["controller"], mqtt_broker, prefix, tmp_path, {**CONTROLLER_ENV, **RESTORES}) as controller:
        error = probe.wait_json(f"{prefix}/controller/error", lambda e: "retained" in e["error"], after=mark)
        assert "mosquitto_pub -r -n -t" in error["error"]
        states = [
            probe.wait_json(f"{prefix}/controller/state", lambda s: s["ts"] > time.time() - 0.1, after=mark)
            for _ in range(3)
        ]
        assert all(s["desired_mode"] == "PV_ONLY" for s in states)
        assert all(m.payload != b"16" for m in probe.since(mark, f"{prefix}/wallbox/max_current/set"))
        assert controller.log().count("retained command ignored") == 1
    probe.publish(f"{prefix}/controller/desired_mode/set", "", retain=True)  # clear it


def test_retained_current_command_never_reaches_the_wallbox(
    probe: MqttProbe, prefix: str, mqtt_broker: Broker, tmp_path: Path
) -> None:
    probe.publish(f"{prefix}/wallbox/max_current/set", "16", retain=True)
    mark = probe.mark()
    with running(["wallbox", "--wallbox", "SimulatedWallbox"], mqtt_broker, prefix, tmp_path, WALLBOX_ENV):
        probe.wait_json(f"{prefix}/wallbox/error", lambda e: "retained" in e["error"], after=mark)
        first = wallbox_state(probe, prefix, after=mark)
        again = probe.wait_json(f"{prefix}/wallbox/state", lambda s: s["ts"] > first["ts"] + 0.5, after=mark)
        assert first["max_current"] == again["max_current"] == 6
        probe.publish(f"{prefix}/wallbox/max_current/set", "")  # the clearing itself is no command
        probe.publish(f"{prefix}/wallbox/max_current/set", "10")  # a live command is obeyed
        wallbox_state(probe, prefix, after=mark, max_current=10)
    probe.publish(f"{prefix}/wallbox/max_current/set", "", retain=True)


# --- readings that must not be trusted -------------------------------------------------------------


@pytest.mark.parametrize(
    "bad_meter",
    [
        pytest.param('{"ts": %(ts)s, "power_grid": -1000000, "power_pv": 4000}', id="grid-minus-1e6-W"),
        pytest.param('{"ts": %(ts)s, "power_grid": -300, "power_battery": -1e308}', id="battery-1e308-W"),
        pytest.param('{"ts": %(ts)s, "power_grid": NaN}', id="grid-NaN"),
        pytest.param('{"ts": %(ts)s, "power_grid": -Infinity}', id="grid-minus-Inf"),
        pytest.param('{"ts": %(ts)s, "power_grid": -3500, "soc_battery": 180}', id="soc-180"),
        pytest.param('{"ts": %(future)s, "power_grid": -3500}', id="ts-1h-in-the-future"),
    ],
)
def test_implausible_meter_reading_stops_pv_charging_and_never_raises_the_current(
    probe: MqttProbe, prefix: str, mqtt_broker: Broker, tmp_path: Path, bad_meter: str
) -> None:
    """The test plays a wallbox charging at 7 A on one phase with 300 W still exported: steady. A
    reading of -1 MW grid power would ask for 16 A if it were believed."""
    charging = {"ts": time.time(), "car_status": 2, "allow_charging": True, "max_current": 7}
    charging |= {"phases_in": 1, "phases_out": 1, "power": 1610}
    steady = meter(power_grid=-300, power_pv=2410, power_consumption=800)
    with running(["controller"], mqtt_broker, prefix, tmp_path, CONTROLLER_ENV) as controller:
        wait_online(probe, prefix, "controller")
        probe.publish_json(f"{prefix}/wallbox/state", charging)
        probe.publish_json(f"{prefix}/meter/state", steady)
        probe.publish(f"{prefix}/controller/desired_mode/set", "PV_ONLY")
        mark = probe.mark()
        for _ in range(5):
            payload = bad_meter % {"ts": time.time(), "future": time.time() + 3600}
            probe.publish(f"{prefix}/meter/state", payload)
            probe.publish_json(f"{prefix}/wallbox/state", charging | {"ts": time.time()})
        stop = probe.wait_for(f"{prefix}/wallbox/allow_charging/set", after=mark)
        assert stop.payload == b"false"
        raised = [m for m in probe.since(mark, f"{prefix}/wallbox/max_current/set") if int(m.payload) > 7]
        assert raised == []
        # Still running, one log line for the whole episode, and the controller state stays clean.
        state = probe.wait_json(
            f"{prefix}/controller/state", lambda s: s["ts"] > time.time() - 0.1, after=mark
        )
        assert math.isfinite(state["energy_today_pv"])
        assert state["desired_mode"] == "PV_ONLY"
        assert controller.log().count("untrusted meter reading") == 1
        assert controller.proc.poll() is None


def test_foreign_wallbox_document_with_nan_cannot_poison_the_controller_state(
    probe: MqttProbe, prefix: str, mqtt_broker: Broker, tmp_path: Path
) -> None:
    probe.publish_json(f"{prefix}/meter/state", meter())
    with running(["controller"], mqtt_broker, prefix, tmp_path, CONTROLLER_ENV):
        wait_online(probe, prefix, "controller")
        probe.publish(f"{prefix}/controller/desired_mode/set", "PV_ALL")
        mark = probe.mark()
        forged = f'{{"ts": {time.time()}, "car_status": 2, "allow_charging": true, "charged_energy": NaN}}'
        probe.publish(f"{prefix}/wallbox/state", forged)
        probe.publish_json(f"{prefix}/wallbox/state", {"ts": time.time(), "charged_energy": 10})
        for _ in range(3):
            state = probe.wait_json(
                f"{prefix}/controller/state", lambda s: s["ts"] > time.time() - 0.1, after=mark
            )
            assert isinstance(state["energy_today_pv"], float | int)
            assert math.isfinite(state["energy_today_pv"])
            assert state["desired_mode"] == "PV_ALL"


# --- the relay trusts only plausible, settled wallbox states ----------------------------------------


@pytest.fixture
def relay(mqtt_broker: Broker, prefix: str, probe: MqttProbe, tmp_path: Path) -> Iterator[ServiceProcess]:
    env = {"PVC_RELAY__PUBLISH_INTERVAL": "0.3", "PVC_RELAY__IDLE_SETTLE": "1.0"}
    with running(["relay", "--relay", "SimulatedPhaseRelay"], mqtt_broker, prefix, tmp_path, env) as process:
        wait_online(probe, prefix, "relay")
        yield process


def wallbox_doc(**values: Any) -> dict[str, Any]:
    return {"ts": time.time(), "car_status": 3, "phases_in": 1, "phases_out": 0, "power": 0, **values}


CHARGING = {"car_status": 2, "phases_in": 3, "phases_out": 3, "power": 11000}


def test_forged_idle_state_between_real_charging_states_gets_no_switch_through(
    probe: MqttProbe, prefix: str, relay: ServiceProcess
) -> None:
    """The attack of the safety issue: the real wallbox draws 11 kW and says so every poll; a forger
    slips in `power 0` and asks for a switch right after."""
    probe.publish_json(f"{prefix}/wallbox/state", wallbox_doc(**CHARGING), retain=False)
    probe.publish_json(f"{prefix}/wallbox/state", wallbox_doc(), retain=False)  # forged
    mark = probe.mark()
    probe.publish(f"{prefix}/relay/phases/set", "3")
    probe.publish_json(f"{prefix}/wallbox/state", wallbox_doc(**CHARGING), retain=False)  # the real one again
    error = probe.wait_json(f"{prefix}/relay/error", lambda e: "refusing" in e["error"], after=mark)
    assert "load again" in error["error"]
    assert all(s.json()["phases"] == 1 for s in probe.on(f"{prefix}/relay/state"))


def test_an_idle_wallbox_that_stays_idle_gets_its_switch_after_settling(
    probe: MqttProbe, prefix: str, relay: ServiceProcess
) -> None:
    probe.publish_json(f"{prefix}/wallbox/state", wallbox_doc(**CHARGING), retain=False)
    probe.publish_json(f"{prefix}/wallbox/state", wallbox_doc(), retain=False)
    mark = probe.mark()
    asked_at = time.time()
    probe.publish(f"{prefix}/relay/phases/set", "3")
    switched = probe.wait_json(f"{prefix}/relay/state", lambda s: s["phases"] == 3, after=mark)
    assert switched["ts"] - asked_at >= 0.9
    assert probe.since(mark, f"{prefix}/relay/error") == []


@pytest.mark.parametrize(
    "document",
    [
        pytest.param('{"ts": %(future)s, "phases_out": 0, "power": 0}', id="dated-1h-ahead"),
        pytest.param('{"ts": %(ts)s, "phases_out": 0, "power": NaN}', id="power-NaN"),
        pytest.param('{"ts": %(ts)s, "phases_out": 0, "power": -1000000}', id="power-minus-1e6"),
    ],
)
def test_relay_does_not_trust_untrusted_wallbox_states(
    probe: MqttProbe, prefix: str, relay: ServiceProcess, document: str
) -> None:
    probe.publish_json(f"{prefix}/wallbox/state", wallbox_doc(ts=time.time() - 30), retain=False)
    probe.publish(f"{prefix}/wallbox/state", document % {"ts": time.time(), "future": time.time() + 3600})
    mark = probe.mark()
    probe.publish(f"{prefix}/relay/phases/set", "3")
    error = probe.wait_json(f"{prefix}/relay/error", lambda e: "refusing" in e["error"], after=mark)
    assert "no trusted wallbox state" in error["error"]
    assert relay.log().count("untrusted wallbox reading") == 1
