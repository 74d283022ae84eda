"""MQTT sources (MqttMeter, MqttCar) against a real Mosquitto and hostile publishers: no payload ends the
listener, a flood leaves no backlog read as fresh, and an implausible value is a read error at the
meter service (run in-process) with the last good values kept."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from pvcontrol.broker import BrokerAddress
from pvcontrol.device import DeviceError
from pvcontrol.mqtt_values import MAX_RATE, MqttValue, MqttValues
from pvcontrol.topics import Topics
from services.car.mqtt_car import MqttCar, MqttCarConfig
from services.car.service import CarService
from services.meter.mqtt_meter import MqttMeter, MqttMeterConfig
from services.meter.service import MeterService
from tests.devices.test_implausible_sources import serving
from tests.devices.test_service_processes import config_file, state
from tests.helpers import Broker, MqttProbe, running, wait_until

FLOOD = [sys.executable, "-m", "tests.fakes.mqtt_flood", "--count", "30000"]
DEEP = "[" * 5000 + "]" * 5000
HOSTILE = {
    "nested 5,000 deep": DEEP,
    "a 400-digit integer": "9" * 400,
    "a float beyond double": "1e400",
    "a nested object at the path": json.dumps({"v": json.loads("[" * 500 + "]" * 500)}),
    "100 kB": "7" * 100_000,
}


async def eventually(condition: Callable[[], Awaitable[Any]], what: str, timeout: float = 10.0) -> Any:
    """Await `condition` until it returns something truthy (a DeviceError counts as not yet)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        with contextlib.suppress(DeviceError):
            result = await condition()
            if result:
                return result
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def listening(broker: Broker, topic: str, stale_after: float = 60.0) -> AsyncIterator[MqttValues]:
    values = MqttValues(
        BrokerAddress(broker.host, broker.port),
        {"power": MqttValue(topic=topic)},
        stale_after,
        "MQTT test",
        logging.getLogger("test.mqtt_values"),
    )
    try:
        yield values
    finally:
        await values.close()  # must not raise, whatever the listener met


async def read_power(values: MqttValues) -> float:
    return (await values.values())["power"]


async def refused(values: MqttValues) -> str | None:
    """The read error a malformed value causes, None while nothing (or nothing bad) arrived yet."""
    try:
        await values.values()
    except DeviceError as e:
        return str(e) if "yet" not in str(e) else None
    return None


@pytest.mark.parametrize("payload", list(HOSTILE.values()), ids=list(HOSTILE))
@pytest.mark.parametrize("retained", [True, False], ids=["retained", "live"])
def test_no_payload_ends_the_listener(
    mqtt_broker: Broker, probe: MqttProbe, prefix: str, payload: str, retained: bool
) -> None:
    topic = f"{prefix}-dtu/power"
    path = "v" if payload.startswith('{"v"') else ""

    async def scenario() -> None:
        async with listening(mqtt_broker, topic) as values:
            values.sources["power"] = MqttValue(topic=topic, path=path)
            values._by_topic[topic] = [("power", values.sources["power"])]
            if retained:
                probe.publish(topic, payload, retain=True)  # there before the listener starts
            else:
                with contextlib.suppress(DeviceError):
                    await values.values()  # connected and subscribed
                probe.publish(topic, payload)
            problem = await eventually(lambda: refused(values), "the bad payload refused")
            assert problem.startswith(f"MQTT test: power from {topic}: "), problem
            assert len(problem) <= 300
            fresh = json.dumps({"v": 812.5}) if path else "812.5"
            probe.publish(topic, fresh, retain=retained)
            assert await eventually(lambda: read_power(values), "a fresh value") == 812.5
            assert values._task is not None
            assert not values._task.done()

    asyncio.run(scenario())
    probe.publish(topic, "", retain=True)


def test_a_flood_is_dropped_and_no_old_value_is_read_as_fresh(
    mqtt_broker: Broker, probe: MqttProbe, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    """30,000 timestamps as fast as the broker takes them: the listener reads them slower than they come,
    so the broker queues them. Each value read carries the time it arrived: it must not be later than
    when it was sent (its payload) by more than a moment, or an old value would pass as fresh. Once the
    device publishes at a normal pace again, its values are read again."""
    topic = f"{prefix}-flood/power"

    async def scenario() -> list[tuple[float, float]]:
        async with listening(mqtt_broker, topic, stale_after=2.0) as values:
            with contextlib.suppress(DeviceError):
                await values.values()
            flooder = subprocess.Popen([*FLOOD, "--port", str(mqtt_broker.port), "--topic", topic])  # noqa: ASYNC220
            seen: list[tuple[float, float]] = []  # (sent, stamped as arrived)
            while flooder.poll() is None or len(seen) < 3:
                with contextlib.suppress(DeviceError):
                    sent = await read_power(values)
                    seen.append((sent, values.readings["power"].at))
                await asyncio.sleep(0.02)
                if len(seen) > 2000:
                    break
            assert flooder.wait(30) == 0
            ended = time.monotonic()
            while True:  # a device at a normal pace: one value every 0.1 s
                probe.publish(topic, f"{time.monotonic():.6f}")
                with contextlib.suppress(DeviceError):
                    if await read_power(values) > ended:
                        return seen
                assert time.monotonic() - ended < 10, "no fresh value read after the flood"
                await asyncio.sleep(0.1)

    with caplog.at_level(logging.WARNING, "test.mqtt_values"):
        seen = asyncio.run(scenario())
    lags = [arrived - sent for sent, arrived in seen]
    assert max(lags) < 0.5, f"a value sent {max(lags):.1f} s before it was taken as arrived"
    floods = [r.message for r in caplog.records if "flood" in r.message]
    assert floods == [
        f"MQTT test: flood on {topic}: more than {MAX_RATE} messages/s, its values are dropped (not fresh)"
        " until it ends"
    ]


# --- the meter service in-process: implausible values are read errors --------------------------------

IMPLAUSIBLE_MQTT: list[dict[str, float]] = [
    {"grid_w": 5e6},
    {"grid_w": -1e12},
    {"grid_w": 1e308},
    {"pv_w": 1e308, "grid_w": 0},
    {"total_kwh": 1e9, "grid_w": -790.0},  # 1e12 Wh
    {"total_kwh": 4400, "grid_w": -790.0},  # 79 kWh within a poll
]


def test_mqtt_meter_implausible_values_are_read_errors_with_the_last_values_kept(
    mqtt_broker: Broker, probe: MqttProbe, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    grid, pv = f"{prefix}-sml/power", f"{prefix}-dtu/power"
    config = MqttMeterConfig(
        url=mqtt_broker.url,
        poll_interval=0.05,
        power_grid=MqttValue(topic=grid),
        power_pv=MqttValue(topic=pv),
        energy_consumption_grid=MqttValue(topic=f"{prefix}-sml/total", scale=1000),
    )
    service = MeterService(config, MqttMeter(config), BrokerAddress.parse(mqtt_broker.url), Topics(prefix))
    states = f"{prefix}/meter/state"

    def publish(grid_w: float, pv_w: float = 2500.0, total_kwh: float = 4321.0) -> int:
        mark = probe.mark()
        probe.publish(f"{prefix}-sml/total", str(total_kwh))
        probe.publish(pv, str(pv_w))
        probe.publish(grid, str(grid_w))
        return mark

    def good_after(mark: int, grid_w: float) -> dict[str, Any]:
        found: dict[str, Any] = probe.wait_json(
            states, lambda s: s["error"] == 0 and s["power_grid"] == grid_w, after=mark
        )
        return found

    async def scenario() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(service.run(stop))
        try:
            await asyncio.to_thread(probe.wait_json, states, lambda s: s["error"] > 0)  # subscribed
            first = await asyncio.to_thread(good_after, publish(-800.0), -800.0)
            assert (first["power_pv"], first["energy_consumption_grid"]) == (2500.0, 4_321_000.0)
            for bad in IMPLAUSIBLE_MQTT:
                mark = publish(**bad)
                refused = await asyncio.to_thread(probe.wait_json, states, lambda s: s["error"] > 0, mark)
                assert (refused["power_grid"], refused["power_pv"]) == (-800.0, 2500.0), bad
                assert refused["energy_consumption_grid"] == 4_321_000.0
                published = [m.json() for m in probe.since(mark, states)]
                assert all(abs(s["power_grid"]) < 50_000 for s in published), bad
                assert all(s["energy_consumption_grid"] < 1e8 for s in published), bad
                await asyncio.to_thread(good_after, publish(-800.0), -800.0)
            assert not task.done()
        finally:
            stop.set()
            await task

    with caplog.at_level(logging.INFO, "pvcontrol.meter"):
        asyncio.run(scenario())
    episodes = [r.message for r in caplog.records if "implausible meter reading" in r.message]
    starts = [m for m in episodes if "over after" not in m]
    assert len(starts) == 6, episodes  # one line when each episode starts ...
    assert len(episodes) == 12, episodes  # ... and one when it ends, however many polls it lasted
    assert "power_grid 5e+06 W is beyond the plant limit" in starts[0]
    assert "power_grid -1e+12 W" in starts[1]
    assert "power_grid 1e+308 W" in starts[2]
    assert "power_pv 1e+308 W" in starts[3]
    assert "energy_consumption_grid 1e+12 Wh is beyond" in starts[4]
    assert "energy_consumption_grid rose by 79000 Wh" in starts[5]
    assert sum("read ok again" in r.message for r in caplog.records) == 1  # only the start's "no value yet"


def test_a_retained_hostile_payload_neither_stops_the_meter_nor_its_clean_exit(
    mqtt_broker: Broker, probe: MqttProbe, prefix: str, tmp_path: Path
) -> None:
    """The process is the point here: it starts with a retained payload nested 5,000 deep waiting, reads
    the fresh values that follow, and exits 0 on SIGTERM."""
    grid = f"{prefix}-sml/power"
    probe.publish(grid, DEEP, retain=True)
    meter = {"type": "MqttMeter", "url": mqtt_broker.url, "poll_interval": 0.1, "power_grid": {"topic": grid}}
    args = ["meter", "-c", config_file(tmp_path, {"meter": meter})]
    with running(args, mqtt_broker, prefix, tmp_path) as svc:
        state(probe, prefix, "meter", lambda s: s["error"] > 0)
        wait_until(lambda: "is not JSON or a number" in svc.log(), what="the bad payload logged")
        probe.publish(grid, "-640.5", retain=True)
        assert state(probe, prefix, "meter", lambda s: s["error"] == 0)["power_grid"] == -640.5
        assert svc.terminate() == 0
        assert "Traceback" not in svc.log()
    probe.publish(grid, "", retain=True)


def test_mqtt_car_survives_hostile_payloads_and_refuses_an_implausible_range(
    mqtt_broker: Broker, probe: MqttProbe, prefix: str
) -> None:
    soc, dongle = f"{prefix}-ha/car_soc", f"{prefix}-wican/status"
    probe.publish(soc, DEEP, retain=True)  # waiting for the car service from the start
    config = MqttCarConfig(
        url=mqtt_broker.url,
        poll_interval=0.05,
        soc=MqttValue(topic=soc),
        cruising_range=MqttValue(topic=dongle, path="range_km"),
    )
    service = CarService(config, MqttCar(config), BrokerAddress.parse(mqtt_broker.url), Topics(prefix))
    states = f"{prefix}/car/state"

    def after(publish: Callable[[], None], predicate: Callable[[Any], bool]) -> Any:
        mark = probe.mark()
        publish()
        return probe.wait_json(states, predicate, after=mark)

    with serving(service):
        probe.wait_json(states, lambda s: s["error"] > 0)
        probe.publish(dongle, json.dumps({"range_km": 287}))
        good = after(lambda: probe.publish(soc, "73.5", retain=True), lambda s: s["error"] == 0)
        assert (good["soc"], good["cruising_range"]) == (73.5, 287.0)
        for bad in ("9" * 400, DEEP, "1e400"):
            refused = after(lambda bad=bad: probe.publish(soc, bad), lambda s: s["error"] > 0)  # type: ignore[misc]
            assert refused["soc"] == 73.5
            after(lambda: probe.publish(soc, "73.5"), lambda s: s["error"] == 0)
        refused = after(
            lambda: probe.publish(dongle, json.dumps({"range_km": 1e9})), lambda s: s["error"] > 0
        )
        assert refused["cruising_range"] == 287.0
        back = after(lambda: probe.publish(dongle, json.dumps({"range_km": 290})), lambda s: s["error"] == 0)
        assert back["cruising_range"] == 290.0
    probe.publish(soc, "", retain=True)
