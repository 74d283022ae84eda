"""Black-box tests of `pvcontrol wallbox` with the simulated chargers: commands in, state out."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import Broker, MqttProbe, ServiceProcess, running, wait_until

RESET_DELAY = 0.2
FAST = {"PVC_WALLBOX__POLL_INTERVAL": "0.2", "PVC_WALLBOX__SWITCH_PHASES_RESET_DELAY": str(RESET_DELAY)}
NO_VEHICLE, CHARGING, WAITING = 1, 2, 3
PHASE_RELAY_ERR = 100


@pytest.fixture
def wallbox(mqtt_broker: Broker, prefix: str, probe: MqttProbe, tmp_path: Path) -> Iterator[ServiceProcess]:
    """A SimulatedWallbox (3 phases, car plugged in), online and subscribed."""
    with running(
        ["wallbox", "--wallbox", "SimulatedWallbox"], mqtt_broker, prefix, tmp_path, FAST
    ) as process:
        wait_online(probe, prefix)
        yield process


@pytest.fixture
def wallbox_with_relay(
    mqtt_broker: Broker, prefix: str, probe: MqttProbe, tmp_path: Path
) -> Iterator[ServiceProcess]:
    args = ["wallbox", "--wallbox", "SimulatedWallboxWithRelay"]
    with running(args, mqtt_broker, prefix, tmp_path, FAST) as process:
        wait_online(probe, prefix)
        yield process


def wait_online(probe: MqttProbe, prefix: str) -> None:
    probe.wait_for(f"{prefix}/wallbox/status", lambda m: m.payload == b"online")


def command(probe: MqttProbe, prefix: str, name: str, payload: str) -> int:
    """Send `P/wallbox/<name>/set`; the returned mark is the position before it."""
    mark = probe.mark()
    probe.publish(f"{prefix}/wallbox/{name}/set", payload)
    return mark


def wait_state(probe: MqttProbe, prefix: str, after: int = 0, **expected: Any) -> dict[str, Any]:
    """The first wallbox state after `after` whose fields have the `expected` values."""
    state: dict[str, Any] = probe.wait_json(
        f"{prefix}/wallbox/state",
        lambda s: all(s[key] == value for key, value in expected.items()),
        after=after,
    )
    return state


def relay_state(phases: int, enabled: bool = True) -> dict[str, Any]:
    return {"ts": time.time(), "error": 0, "enabled": enabled, "phase_relay": phases == 3, "phases": phases}


def test_max_current_within_the_supported_range_is_applied(
    probe: MqttProbe, prefix: str, wallbox: ServiceProcess
) -> None:
    wait_state(probe, prefix, max_current=6)
    for payload, amperes in (("16", 16), ("10", 10), ('"12"', 12), ("6", 6)):
        mark = command(probe, prefix, "max_current", payload)
        wait_state(probe, prefix, after=mark, max_current=amperes)
    assert probe.on(f"{prefix}/wallbox/error") == []


@pytest.mark.parametrize(
    ("name", "payload"),
    [
        ("max_current", "5"),
        ("max_current", "17"),
        ("max_current", "10.5"),
        ("max_current", "ten"),
        ("max_current", '{"max_current": 10}'),
        ("allow_charging", "maybe"),
        ("allow_charging", "2"),
        ("car_status", "5"),
        ("car_status", "Flying"),
    ],
)
def test_invalid_command_is_rejected_and_changes_nothing(
    probe: MqttProbe, prefix: str, wallbox: ServiceProcess, name: str, payload: str
) -> None:
    mark = command(probe, prefix, "max_current", "10")
    before = wait_state(probe, prefix, after=mark, max_current=10)

    mark = command(probe, prefix, name, payload)
    error = probe.wait_json(f"{prefix}/wallbox/error", lambda e: True, after=mark)
    assert error["topic"] == f"{prefix}/wallbox/{name}/set"
    assert error["payload"] == payload
    assert error["error"]

    after = wait_state(probe, prefix, after=probe.mark())
    for key in ("max_current", "allow_charging", "car_status", "charged_energy"):
        assert after[key] == before[key]
    assert wallbox.proc.poll() is None


def test_allow_charging_accepts_booleans_in_every_form(
    probe: MqttProbe, prefix: str, wallbox: ServiceProcess
) -> None:
    wait_state(probe, prefix, allow_charging=False)
    for payload, allowed in (("true", True), ("0", False), ("1", True), ("false", False), ('"true"', True)):
        mark = command(probe, prefix, "allow_charging", payload)
        wait_state(probe, prefix, after=mark, allow_charging=allowed)
    assert probe.on(f"{prefix}/wallbox/error") == []


def test_charges_a_plugged_in_car_while_allowed(
    probe: MqttProbe, prefix: str, wallbox: ServiceProcess
) -> None:
    idle = wait_state(probe, prefix)
    assert (idle["car_status"], idle["power"], idle["phases_in"], idle["phases_out"]) == (WAITING, 0, 3, 0)

    command(probe, prefix, "max_current", "10")
    mark = command(probe, prefix, "allow_charging", "true")
    charging = wait_state(probe, prefix, after=mark, car_status=CHARGING, max_current=10)
    assert charging["power"] == pytest.approx(3 * 10 * 230)
    assert charging["phases_out"] == charging["phases_in"] == 3
    assert charging["wb_error"] == 0

    later = probe.wait_json(
        f"{prefix}/wallbox/state",
        lambda s: s["charged_energy"] > charging["charged_energy"],
        after=probe.mark(),
    )
    assert later["total_energy"] > charging["total_energy"]
    assert later["ts"] > charging["ts"]

    mark = command(probe, prefix, "allow_charging", "false")
    stopped = wait_state(probe, prefix, after=mark, allow_charging=False)
    assert (stopped["car_status"], stopped["power"], stopped["phases_out"]) == (WAITING, 0, 0)


def test_unplugging_stops_charging_and_ends_the_session(
    probe: MqttProbe, prefix: str, wallbox: ServiceProcess
) -> None:
    command(probe, prefix, "allow_charging", "true")
    charged = probe.wait_json(f"{prefix}/wallbox/state", lambda s: s["charged_energy"] > 0)

    mark = command(probe, prefix, "car_status", "NoVehicle")
    unplugged = wait_state(probe, prefix, after=mark, car_status=NO_VEHICLE)
    assert (unplugged["power"], unplugged["phases_out"], unplugged["charged_energy"]) == (0, 0, 0)
    assert unplugged["total_energy"] >= charged["total_energy"] > 0
    assert unplugged["allow_charging"] is True

    mark = command(probe, prefix, "car_status", "3")  # plugged in again: charging resumes
    wait_state(probe, prefix, after=mark, car_status=CHARGING)
    assert probe.on(f"{prefix}/wallbox/error") == []


def test_phases_follow_the_relay(probe: MqttProbe, prefix: str, wallbox_with_relay: ServiceProcess) -> None:
    wait_state(probe, prefix, phases_in=3)
    mark = probe.mark()
    probe.publish_json(f"{prefix}/relay/state", relay_state(1))
    one_phase = wait_state(probe, prefix, after=mark, phases_in=1)
    assert one_phase["wb_error"] == 0

    mark = command(probe, prefix, "allow_charging", "true")
    charging = wait_state(probe, prefix, after=mark, car_status=CHARGING)
    assert (charging["phases_out"], charging["power"]) == (1, pytest.approx(1 * 6 * 230))


def test_resets_the_charger_after_a_relay_switch_only(
    probe: MqttProbe, prefix: str, wallbox_with_relay: ServiceProcess
) -> None:
    reset_after_switch = "set reset after phase switch"
    probe.publish_json(f"{prefix}/relay/state", relay_state(1))  # the first relay state is no switch
    probe.publish_json(f"{prefix}/relay/state", relay_state(1))  # nor is a repeated one
    wait_state(probe, prefix, phases_in=1)
    wait_past_reset_delay(probe, prefix)
    assert reset_after_switch not in wallbox_with_relay.log()

    mark = probe.mark()
    probe.publish_json(f"{prefix}/relay/state", relay_state(3))
    wait_state(probe, prefix, after=mark, phases_in=3, wb_error=0)
    wait_until(lambda: reset_after_switch in wallbox_with_relay.log(), 10, "the reset after the switch")
    wait_past_reset_delay(probe, prefix)
    assert wallbox_with_relay.log().count(reset_after_switch) == 1

    mark = command(probe, prefix, "reset", "anything")
    wait_until(lambda: "set reset\n" in wallbox_with_relay.log(), 10, "the reset command")
    wait_state(probe, prefix, after=mark, phases_in=3, wb_error=0)
    assert wallbox_with_relay.proc.poll() is None


def wait_past_reset_delay(probe: MqttProbe, prefix: str) -> None:
    """Until the wallbox has published a state read well after any reset now pending would be done."""
    until = time.time() + 3 * RESET_DELAY
    probe.wait_json(f"{prefix}/wallbox/state", lambda s: s["ts"] > until)


def test_reports_phase_relay_error_when_the_charger_sees_other_phases(
    probe: MqttProbe, prefix: str, wallbox: ServiceProcess
) -> None:
    wait_state(probe, prefix, phases_in=3, wb_error=0)
    mark = probe.mark()
    probe.publish_json(f"{prefix}/relay/state", relay_state(1))
    assert wait_state(probe, prefix, after=mark, wb_error=PHASE_RELAY_ERR)["phases_in"] == 3

    for relay, wb_error in (
        (relay_state(3), 0),
        (relay_state(1), PHASE_RELAY_ERR),
        (relay_state(0, False), 0),
    ):
        mark = probe.mark()
        probe.publish_json(f"{prefix}/relay/state", relay)
        wait_state(probe, prefix, after=mark, wb_error=wb_error)
    assert wallbox.proc.poll() is None
