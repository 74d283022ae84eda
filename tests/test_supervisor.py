"""The runner of `pvcontrol all` fails safe: when a service dies, the charger is told to stop, every
status goes `offline` (the dead one's explicitly), and the process exits non-zero.

In-process on the real broker, with the OCPP wallbox service and the fake charge point (real websockets)
charging at 16 A when the stand-in controller dies; and `pvcontrol all` as a process whose gateway cannot
listen, for the exit code."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any

from pvcontrol.broker import BrokerAddress
from pvcontrol.service import Service
from pvcontrol.supervisor import run_all
from pvcontrol.topics import Topics
from services.wallbox.ocpp import OcppWallbox, OcppWallboxConfig
from services.wallbox.service import WallboxService
from tests.fakes.ocpp_cp import FakeChargePoint
from tests.helpers import Broker, MqttProbe, free_port, running, wait_until

SERVICES = ("meter", "wallbox", "car", "relay", "controller", "api")


class DyingController(Service):
    """Stands in for a controller that meets a bug: it runs until `die` is set, then raises."""

    name = "controller"

    def __init__(self, broker: BrokerAddress, topics: Topics, die: asyncio.Event) -> None:
        super().__init__(broker, topics)
        self.die = die

    def config_document(self) -> dict[str, Any]:
        return {"type": "dying"}

    async def main(self, stop: asyncio.Event) -> None:
        await self.die.wait()
        raise ValueError("a bug on an absurd reading")


def test_a_dying_service_stops_the_charger_and_takes_every_status_offline(
    mqtt_broker: Broker, probe: MqttProbe, prefix: str
) -> None:
    port = free_port()
    broker = BrokerAddress.parse(mqtt_broker.url)
    topics = Topics(prefix)
    config = OcppWallboxConfig(charge_point_id="CP1", host="127.0.0.1", port=port, poll_interval=0.2)
    with FakeChargePoint(f"ws://127.0.0.1:{port}", reconnect_delay=0.2) as cp:

        async def scenario() -> list[str]:
            die, stop = asyncio.Event(), asyncio.Event()
            wallbox = WallboxService(config, OcppWallbox(config), broker, topics)
            runner = asyncio.create_task(
                run_all([wallbox, DyingController(broker, topics, die)], stop, broker)
            )
            for service in ("wallbox", "controller"):
                await asyncio.to_thread(
                    probe.wait_for, f"{prefix}/{service}/status", lambda m: m.payload == b"online"
                )
            return await charge_then_die(probe, cp, die, runner)

        assert asyncio.run(scenario()) == ["controller"]
        assert cp.connector.limit == 0  # told to stop before the process went
        assert cp.connector.current == 0
    for service in ("wallbox", "controller"):
        topic = f"{prefix}/{service}/status"
        wait_until(lambda: offline(probe, topic), 10, f"{service} offline")  # noqa: B023


def test_a_dying_wallbox_service_stops_its_charger_on_the_way_out(
    mqtt_broker: Broker, probe: MqttProbe, prefix: str
) -> None:
    port = free_port()
    broker = BrokerAddress.parse(mqtt_broker.url)
    config = OcppWallboxConfig(charge_point_id="CP1", host="127.0.0.1", port=port, poll_interval=0.2)
    with FakeChargePoint(f"ws://127.0.0.1:{port}", reconnect_delay=0.2) as cp:

        async def scenario() -> list[str]:
            die, stop = asyncio.Event(), asyncio.Event()
            wallbox = WallboxService(config, OcppWallbox(config), broker, Topics(prefix))

            async def watchdog_with_a_bug(_: asyncio.Event) -> None:
                await die.wait()
                raise RuntimeError("a bug in the wallbox service")

            wallbox._watch_controller = watchdog_with_a_bug  # type: ignore[method-assign,assignment]
            runner = asyncio.create_task(run_all([wallbox], stop, broker))
            return await charge_then_die(probe, cp, die, runner)

        assert asyncio.run(scenario()) == ["wallbox"]
        assert (cp.connector.limit, cp.connector.current) == (0, 0)
    topic = f"{prefix}/wallbox/status"
    wait_until(lambda: offline(probe, topic), 10, "wallbox offline")


async def charge_then_die(
    probe: MqttProbe, cp: FakeChargePoint, die: asyncio.Event, runner: asyncio.Task[list[str]]
) -> list[str]:
    """The car charging at 16 A through the wallbox service, then `die` set: the services `run_all` names
    as dead."""
    await asyncio.to_thread(wait_until, lambda: cp.connected, 20, "the charge point connected")
    await asyncio.to_thread(cp.plug, True)
    probe.publish(f"{probe.prefix}/wallbox/max_current/set", "16")
    probe.publish(f"{probe.prefix}/wallbox/allow_charging/set", "true")
    await asyncio.to_thread(wait_until, lambda: cp.connector.current == 16, 20, "charging at 16 A")
    die.set()
    return await asyncio.wait_for(runner, 20)


def offline(probe: MqttProbe, topic: str) -> bool:
    last = probe.last(topic)
    return last is not None and last.payload == b"offline"


def test_pvcontrol_all_exits_non_zero_with_every_status_offline_when_a_service_dies(
    mqtt_broker: Broker, probe: MqttProbe, prefix: str, tmp_path: Path
) -> None:
    """The gateway cannot listen (its port is taken): uvicorn gives up, and with it the process."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        http_port = taken.getsockname()[1]
        args = ["all", "--port", str(http_port), "--host", "127.0.0.1"]
        with running(args, mqtt_broker, prefix, tmp_path) as process:
            code = process.proc.wait(30)
            log = process.log()
    assert code == 1, log
    assert "the api service died" in log
    for service in SERVICES:
        probe.wait_for(f"{prefix}/{service}/status")
        assert offline(probe, f"{prefix}/{service}/status"), service
