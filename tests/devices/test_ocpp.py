"""OcppWallbox against a fake OCPP 1.6J charge point written with the same library: the wallbox service is
the central system; the charge point boots, heartbeats, reports status and meter values, reconnects."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from pvcontrol.models import CarStatus, WbError
from services.wallbox.ocpp_protocol import OcppDataError, car_status, parse_meter_values, phases_out, wb_error
from tests.devices.test_service_processes import config_file, state
from tests.fakes.ocpp_cp import FakeChargePoint
from tests.helpers import Broker, MqttProbe, ServiceProcess, free_port, running, wait_until

POLL = 0.2

# --- the protocol, without a socket -----------------------------------------------------------------


def sampled(value: str, measurand: str | None = None, **extra: str) -> dict[str, Any]:
    return {"value": value, **({"measurand": measurand} if measurand else {}), **extra}


def test_meter_values_in_every_unit_the_spec_allows() -> None:
    sample = parse_meter_values(
        [
            {
                "timestamp": "t",
                "sampled_value": [sampled("1500"), sampled("1", "Power.Active.Import", unit="kW")],
            },
            {
                "timestamp": "t",
                "sampled_value": [
                    sampled("12.5", "Energy.Active.Import.Register", unit="kWh"),
                    sampled("9.9", "Current.Import", phase="L1", unit="A"),
                    sampled("0.1", "Current.Import", phase="L2", unit="A"),
                    sampled("31", "Temperature", unit="Celsius"),
                ],
            },
        ]
    )
    assert (sample.energy, sample.power, sample.temperature) == (12_500.0, 1000.0, 31.0)  # the last wins
    assert sample.currents == {"L1": 9.9, "L2": 0.1}
    assert phases_out(sample.currents, contactor_closed=True, phases_in=3) == 1
    assert phases_out({}, contactor_closed=True, phases_in=3) == 3
    assert (
        phases_out({"L1": 0.0, "L2": 0.2}, contactor_closed=True, phases_in=3) == 3
    )  # never idle when closed
    assert phases_out(sample.currents, contactor_closed=False, phases_in=3) == 0


def test_power_per_phase_adds_up() -> None:
    per_phase = [sampled("700", "Power.Active.Import", phase=f"L{i}-N", unit="W") for i in (1, 2, 3)]
    assert parse_meter_values([{"timestamp": "t", "sampled_value": per_phase}]).power == 2100.0


@pytest.mark.parametrize(
    "meter_value",
    [
        "oops",
        [{"timestamp": "t"}],
        [{"timestamp": "t", "sampled_value": [sampled("lots", "Power.Active.Import")]}],
        [{"timestamp": "t", "sampled_value": [sampled("NaN", "Power.Active.Import")]}],
        [{"timestamp": "t", "sampled_value": ["1500"]}],
    ],
)
def test_bad_meter_values_are_errors(meter_value: Any) -> None:
    with pytest.raises(OcppDataError):
        parse_meter_values(meter_value)


def test_connector_status_and_errors() -> None:
    assert car_status("Charging") == CarStatus.Charging
    assert car_status("SuspendedEVSE") == CarStatus.WaitingForVehicle
    assert car_status("SuspendedEV") == CarStatus.ChargingFinished
    assert car_status("Available") == CarStatus.NoVehicle
    with pytest.raises(OcppDataError, match="Plugged"):
        car_status("Plugged")
    assert wb_error("Faulted", "GroundFailure") == WbError.NO_GROUND
    assert wb_error("Faulted", "NoError") == WbError.INTERNAL
    assert wb_error("Charging", "NoError") == WbError.OK


# --- the service process with a fake charge point ---------------------------------------------------


def ocpp_config(port: int, **extra: Any) -> dict[str, Any]:
    return {
        "type": "OcppWallbox",
        "host": "127.0.0.1",
        "port": port,
        "charge_point_id": "CP1",
        "poll_interval": POLL,
        "call_timeout": 1.0,
        **extra,
    }


@pytest.fixture
def port() -> int:
    return free_port()


def start(
    tmp_path: Path, broker: Broker, prefix: str, config: dict[str, Any], env: dict[str, str] | None = None
) -> Any:
    args = ["wallbox", "-c", config_file(tmp_path, {"wallbox": config})]
    return running(args, broker, prefix, tmp_path, env)


def wallbox_state(probe: MqttProbe, prefix: str, after: int = 0, **expected: Any) -> dict[str, Any]:
    found: dict[str, Any] = state(
        probe, prefix, "wallbox", lambda s: all(s[k] == v for k, v in expected.items()), after
    )
    return found


def command(probe: MqttProbe, prefix: str, name: str, payload: str) -> int:
    mark = probe.mark()
    probe.publish(f"{prefix}/wallbox/{name}/set", payload)
    return mark


def charging_at(probe: MqttProbe, prefix: str, cp: FakeChargePoint, amperes: int) -> dict[str, Any]:
    wait_until(lambda: cp.connected, what="the charge point connected")
    cp.plug(True)
    wait_until(lambda: cp.connector.transaction is not None, what="a transaction (RemoteStartTransaction)")
    command(probe, prefix, "max_current", str(amperes))
    mark = command(probe, prefix, "allow_charging", "true")
    return wallbox_state(probe, prefix, mark, car_status=2, temperature=31.5)


def test_charges_pauses_and_resumes_with_a_tx_default_profile(
    mqtt_broker: Broker, probe: MqttProbe, prefix: str, tmp_path: Path, port: int
) -> None:
    with start(tmp_path, mqtt_broker, prefix, ocpp_config(port)) as service:
        config = probe.wait_json(f"{prefix}/wallbox/config", lambda c: c["type"] == "OcppWallbox")
        assert (config["port"], config["phase_switching"], config["car_status_settable"]) == (
            port,
            "none",
            False,
        )
        not_yet = wallbox_state(probe, prefix)
        assert not_yet["error"] > 0  # no charge point connected yet: a read error
        with FakeChargePoint(f"ws://127.0.0.1:{port}") as cp:
            wait_until(lambda: cp.connected, what="the charge point connected")
            cp.plug(True)
            plugged = wallbox_state(probe, prefix, error=0, car_status=3)
            assert (plugged["allow_charging"], plugged["power"]) == (False, 0)
            wait_until(lambda: cp.connector.transaction is not None, what="RemoteStartTransaction")
            assert cp.connector.limit == 0  # the charger waits at 0 A (SuspendedEVSE) until allowed
            assert cp.connector.status == "SuspendedEVSE"

            command(probe, prefix, "max_current", "10")
            mark = command(probe, prefix, "allow_charging", "true")
            charging = wallbox_state(probe, prefix, mark, car_status=2, power=6900.0, temperature=31.5)
            assert (charging["phases_in"], charging["phases_out"], charging["max_current"]) == (3, 3, 10)
            later = wallbox_state(probe, prefix, mark, car_status=2)
            wait_until(
                lambda: wallbox_state(probe, prefix, probe.mark(), car_status=2)["charged_energy"] > 0,
                what="energy charged in this session",
            )
            assert later["total_energy"] >= 1_000_000.0

            mark = command(probe, prefix, "allow_charging", "false")
            paused = wallbox_state(probe, prefix, mark, allow_charging=False, power=0.0, car_status=3)
            assert paused["phases_out"] == 0
            assert cp.connector.transaction is not None  # paused, not stopped: the session goes on
            profile = cp.connector.profiles[-1]
            assert profile["charging_profile_purpose"] == "TxDefaultProfile"
            assert profile["charging_schedule"]["charging_schedule_period"][0]["limit"] == 0

            cp.plug(False)
            unplugged = wallbox_state(probe, prefix, car_status=1)
            assert unplugged["charged_energy"] == 0
        assert probe.on(f"{prefix}/wallbox/error") == []
        assert "Traceback" not in service.log()


def test_a_charge_point_that_disconnects_mid_transaction_is_a_read_error_until_it_is_back(
    mqtt_broker: Broker, probe: MqttProbe, prefix: str, tmp_path: Path, port: int
) -> None:
    with (
        start(tmp_path, mqtt_broker, prefix, ocpp_config(port, stale_after=2)) as service,
        FakeChargePoint(f"ws://127.0.0.1:{port}", reconnect_delay=1.5) as cp,
    ):
        charging_at(probe, prefix, cp, 8)
        profiles = len(cp.connector.profiles)
        mark = probe.mark()
        cp.drop()
        lost = state(probe, prefix, "wallbox", lambda s: s["error"] > 0, mark)
        assert (lost["car_status"], lost["max_current"]) == (2, 8)  # the last data are kept
        back = wallbox_state(probe, prefix, probe.mark(), error=0, car_status=2)
        assert back["power"] == 8 * 230.0 * 3
        assert cp.connections == 2
        assert cp.boots == 1  # a reconnect, not a reboot
        wait_until(
            lambda: len(cp.connector.profiles) > profiles, what="the profile sent again after reconnecting"
        )
        assert "disconnected" in service.log()
        assert "Traceback" not in service.log()
        service_alive(service)


def service_alive(service: ServiceProcess) -> None:
    assert service.proc.poll() is None, service.log()


@pytest.mark.parametrize(
    ("frame", "why"),
    [
        ("this is not json", "not OCPP"),
        ('[2, "m1", "MeterValues", {"connectorId": 1, "meterValue": "oops"}]', "schema"),
        (
            '[2, "m2", "MeterValues", {"connectorId": 1, "meterValue": [{"timestamp": "2024-01-01T00:00:00Z",'
            ' "sampledValue": [{"value": "lots", "measurand": "Power.Active.Import"}]}]}]',
            "not a number",
        ),
        (
            '[2, "m3", "StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Flying"}]',
            "enum",
        ),
    ],
)
def test_malformed_frames_are_counted_read_errors_and_the_last_data_are_kept(
    mqtt_broker: Broker, probe: MqttProbe, prefix: str, tmp_path: Path, port: int, frame: str, why: str
) -> None:
    with (
        start(tmp_path, mqtt_broker, prefix, ocpp_config(port)) as service,
        FakeChargePoint(f"ws://127.0.0.1:{port}") as cp,
    ):
        charging_at(probe, prefix, cp, 6)
        mark = probe.mark()
        cp.send_raw(frame)
        bad = state(probe, prefix, "wallbox", lambda s: s["error"] > 0, mark)
        assert (bad["car_status"], bad["max_current"]) == (2, 6)
        wallbox_state(probe, prefix, probe.mark(), error=0, car_status=2)
        log = service.log()
        assert "read failed (1 in a row)" in log
        assert "Traceback" not in log
        service_alive(service)


def test_a_charge_point_that_does_not_answer_gets_the_command_rejected(
    mqtt_broker: Broker, probe: MqttProbe, prefix: str, tmp_path: Path, port: int
) -> None:
    with (
        start(tmp_path, mqtt_broker, prefix, ocpp_config(port)) as service,
        FakeChargePoint(f"ws://127.0.0.1:{port}") as cp,
    ):
        charging_at(probe, prefix, cp, 6)
        cp.run(stall(cp))
        mark = command(probe, prefix, "max_current", "12")
        error = probe.wait_json(f"{prefix}/wallbox/error", lambda e: True, after=mark)
        assert "no answer to SetChargingProfile" in error["error"]
        service_alive(service)


async def stall(cp: FakeChargePoint) -> None:
    """The charger stops answering CALLs (its firmware hangs) but the socket stays open."""
    assert cp._cp is not None

    async def ignore(_: str) -> None:
        return None

    cp._cp.route_message = ignore


def test_native_phase_switch_pauses_first_and_sends_number_phases(
    mqtt_broker: Broker, probe: MqttProbe, prefix: str, tmp_path: Path, port: int
) -> None:
    with (
        start(
            tmp_path,
            mqtt_broker,
            prefix,
            ocpp_config(port, phase_switching="native", phase_switch_settle=1.5),
        ),
        FakeChargePoint(f"ws://127.0.0.1:{port}", meter_interval=0.1) as cp,
    ):
        charging_at(probe, prefix, cp, 10)
        # the car follows the pause 2 s late while the charger already says SuspendedEVSE
        cp.connector.ramp_down = 2.0
        mark = command(probe, prefix, "phases", "1")
        one = wallbox_state(probe, prefix, mark, phases_in=1, car_status=2, power=10 * 230.0)
        assert (one["phases_out"], one["allow_charging"]) == (1, True)
        assert cp.connector.phase_switches_under_load == 0
        switched = cp.connector.profile_times[-2]  # the profile with numberPhases 1
        assert switched >= cp.connector.lag_until + 1.5 - cp.meter_interval  # measured idle + settle
        paused = [s for s in probe.since(mark, f"{prefix}/wallbox/state") if not s.json()["allow_charging"]]
        assert any(s.json()["power"] == 10 * 230.0 * 3 for s in paused)  # the load measured while paused
        limits = [
            (p["charging_schedule"]["charging_schedule_period"][0]["limit"],
             p["charging_schedule"]["charging_schedule_period"][0].get("number_phases"))
            for p in cp.connector.profiles
        ]  # fmt: skip
        assert limits[-3:] == [(0, 3), (0, 1), (10, 1)]  # pause, switch while paused, resume
        assert probe.on(f"{prefix}/wallbox/error") == []


def test_the_failsafe_stops_an_ocpp_charger_when_the_controller_goes_silent(
    mqtt_broker: Broker, probe: MqttProbe, prefix: str, tmp_path: Path, port: int
) -> None:
    with (
        start(tmp_path, mqtt_broker, prefix, ocpp_config(port, controller_timeout=1.5)) as service,
        FakeChargePoint(f"ws://127.0.0.1:{port}") as cp,
    ):
        probe.wait_for(f"{prefix}/wallbox/status", lambda m: m.payload == b"online")
        live = {"ts": time.time(), "error": 0, "mode": "PV_ONLY", "desired_mode": "PV_ONLY"}
        probe.publish_json(f"{prefix}/controller/state", live, retain=False)
        charging_at(probe, prefix, cp, 10)
        wait_until(lambda: cp.connector.limit == 0, timeout=10, what="a 0 A profile from the failsafe")
        wallbox_state(probe, prefix, probe.mark(), allow_charging=False, power=0.0)
        assert "failsafe" in service.log()


def test_a_restarted_service_takes_over_the_running_transaction(
    mqtt_broker: Broker, probe: MqttProbe, prefix: str, tmp_path: Path, port: int
) -> None:
    """The charger keeps its transaction; the new service pauses it (0 A, as it knows no command yet) until
    allowed again, and counts the session's energy from the takeover, not from the meter's 1 MWh."""
    (tmp_path / "first").mkdir()
    (tmp_path / "second").mkdir()
    with FakeChargePoint(f"ws://127.0.0.1:{port}", reconnect_delay=0.3) as cp:
        with start(tmp_path / "first", mqtt_broker, prefix, ocpp_config(port)):
            charging_at(probe, prefix, cp, 10)
        transaction = cp.connector.transaction
        with start(tmp_path / "second", mqtt_broker, prefix, ocpp_config(port)) as service:
            wait_until(lambda: cp.connections == 2 and cp.connector.limit == 0, what="reconnected, paused")
            mark = command(probe, prefix, "allow_charging", "true")
            back = wallbox_state(probe, prefix, mark, error=0, car_status=2, temperature=31.5)
            assert back["charged_energy"] < 100  # Wh since the takeover
            assert cp.connector.transaction == transaction
            assert cp.boots == 1
            assert "taking over transaction" in service.log()


def test_with_a_password_only_the_charge_point_that_knows_it_gets_in(
    mqtt_broker: Broker, probe: MqttProbe, prefix: str, tmp_path: Path, port: int
) -> None:
    """OCPP security profile 1 (Basic auth): without it anyone on the LAN could take over the charger's
    place, since a new connection for the id replaces the old one."""
    env = {"PVC_WALLBOX__PASSWORD": "s3cret-key"}
    with start(tmp_path, mqtt_broker, prefix, ocpp_config(port), env) as service:
        config = probe.wait_json(f"{prefix}/wallbox/config", lambda c: c["type"] == "OcppWallbox")
        assert "password" not in config
        with FakeChargePoint(f"ws://127.0.0.1:{port}", password="guessed", reconnect_delay=0.2) as intruder:
            wait_until(lambda: intruder.refusals >= 2, what="the wrong password refused twice")
            assert intruder.connections == 0
        with FakeChargePoint(f"ws://127.0.0.1:{port}") as anonymous:
            wait_until(lambda: anonymous.refusals >= 1, what="no password refused")
        with FakeChargePoint(f"ws://127.0.0.1:{port}", password="s3cret-key") as cp:
            charging_at(probe, prefix, cp, 6)
        log = service.log()
        assert "wrong charge point id or password" in log
        assert "s3cret-key" not in log
