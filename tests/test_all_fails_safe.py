"""`pvcontrol all` as a real process with an OCPP charger (the fake charge point over websockets): an absurd
energy register does not kill the controller, and a service that dies anyway stops the charger, takes the
statuses offline and ends the process non-zero (so systemd or k8s restart it)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.fakes.ocpp_cp import FakeChargePoint
from tests.helpers import Broker, MqttProbe, ServiceProcess, free_port, running, wait_until

SERVICES = ("meter", "wallbox", "car", "relay", "controller", "api")


def system_env(ocpp_port: int) -> dict[str, str]:
    return {
        "PVC_METER__POLL_INTERVAL": "0.25",
        "PVC_METER__CONSUMPTION_VARIATION": "0",
        "PVC_WALLBOX__TYPE": "OcppWallbox",
        "PVC_WALLBOX__HOST": "127.0.0.1",
        "PVC_WALLBOX__PORT": str(ocpp_port),
        "PVC_WALLBOX__CHARGE_POINT_ID": "CP1",
        "PVC_WALLBOX__POLL_INTERVAL": "0.25",
        "PVC_WALLBOX__CALL_TIMEOUT": "2",
        "PVC_CAR__POLL_INTERVAL": "1",
        "PVC_CONTROLLER__CYCLE_TIME": "0.5",
    }


@contextmanager
def charging_system(
    broker: Broker, probe: MqttProbe, prefix: str, tmp_path: Path, http_port: int | None = None
) -> Iterator[tuple[ServiceProcess, FakeChargePoint]]:
    """`pvcontrol all` in MAX mode with a car charging at 16 A on the fake charge point."""
    ocpp_port = free_port()
    args = [
        "all",
        "--port",
        str(http_port or free_port()),
        "--host",
        "127.0.0.1",
        "--relay",
        "DisabledPhaseRelay",
    ]
    with (
        running(args, broker, prefix, tmp_path, system_env(ocpp_port)) as process,
        FakeChargePoint(f"ws://127.0.0.1:{ocpp_port}", meter_interval=0.25) as cp,
    ):
        for service in ("wallbox", "controller"):
            probe.wait_for(f"{prefix}/{service}/status", lambda m: m.payload == b"online", timeout=30)
        wait_until(lambda: cp.connected, what="the charge point connected")
        cp.plug(True)
        probe.publish(f"{prefix}/controller/desired_mode/set", "MAX")
        wait_until(lambda: cp.connector.limit == 16, what="charging at 16 A in MAX mode")
        yield process, cp


def register_shows(register: float) -> Any:
    def shows(wallbox: dict[str, Any]) -> bool:
        shown = float(wallbox["total_energy"])
        return wallbox["error"] > 0 or abs(shown - register) <= max(register * 1e-9, 100)

    return shows


def controller_state(probe: MqttProbe, prefix: str, predicate: Any, after: int) -> Any:
    return probe.wait_json(f"{prefix}/controller/state", predicate, after=after, timeout=20)


def test_an_absurd_ocpp_energy_register_keeps_the_controller_alive_and_charging_safe(
    mqtt_broker: Broker, probe: MqttProbe, prefix: str, tmp_path: Path
) -> None:
    """1e308 -> 0 -> 1.7e308 Wh, published with error 0: once made energy_today_pv inf, and building the
    controller state then raised outside the cycle's guard; `pvcontrol all` exited 1 with the charger at
    16 A and the controller's status retained `online`."""
    with charging_system(mqtt_broker, probe, prefix, tmp_path) as (process, cp):
        for register in (1e308, 0.0, 1.7e308, 0.0, 1.7e308):
            cp.connector.energy_wh = register
            probe.wait_json(
                f"{prefix}/wallbox/state", register_shows(register), after=probe.mark(), timeout=20
            )
            for _ in range(3):  # three controller cycles on it
                controller_state(probe, prefix, lambda _: True, probe.mark())
        assert process.proc.poll() is None, process.log()
        last = controller_state(probe, prefix, lambda _: True, probe.mark())
        assert last["error"] == 0
        assert 0 <= last["energy_today_pv"] < 1e6
        assert 0 <= last["energy_today_grid"] < 1e6
        assert probe.last(f"{prefix}/controller/status").payload == b"online"  # type: ignore[union-attr]
        assert cp.connector.limit == 16  # MAX still charges, under control
        log = process.log()
        assert "Traceback" not in log
        # the controller's own guard, or (with plausibility at the source) the wallbox's or its reading's
        assert any(
            line in log
            for line in ("implausible charged energy ignored", "untrusted wallbox reading", "implausible")
        ), log
