"""Implausible values injected through the devices' fakes (HTTP servers, an OCPP charge point over a real
websocket) never go out as valid: the meter or wallbox service, run in-process on the real Mosquitto,
counts a read error, keeps the last good values and says so once when it starts and once when it ends."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from pvcontrol.broker import BrokerAddress
from pvcontrol.models import CarData, CarStatus, StateDocument, WallboxData
from pvcontrol.service import Service
from pvcontrol.topics import Topics
from services.car.device import Car
from services.car.service import CarService
from services.car.simulated import NoCarConfig
from services.meter.fronius import FroniusMeter, FroniusMeterConfig
from services.meter.service import MeterService
from services.meter.shelly import ShellyMeter, ShellyMeterConfig
from services.wallbox.ocpp import OcppWallbox, OcppWallboxConfig
from services.wallbox.service import WallboxService
from tests.fakes.fronius import FakeFronius
from tests.fakes.ocpp_cp import FakeChargePoint
from tests.fakes.shelly import FakeShelly
from tests.helpers import Broker, MqttProbe, free_port, wait_until

POLL = 0.05


@contextmanager
def serving(service: Service) -> Iterator[None]:
    """`service.run` on its own event loop thread until the block ends; it must end cleanly."""
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    failure: list[BaseException] = []

    def run() -> None:
        try:
            loop.run_until_complete(service.run(stop))
        except BaseException as e:  # reported to the test below
            failure.append(e)

    thread = threading.Thread(target=run, name=f"service-{service.name}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)
        loop.close()
    assert not thread.is_alive()
    assert not failure, failure


def broker_of(broker: Broker) -> BrokerAddress:
    return BrokerAddress.parse(broker.url)


def episodes(caplog: pytest.LogCaptureFixture, service: str) -> list[str]:
    return [r.message for r in caplog.records if f"implausible {service} reading" in r.message]


def injected(
    probe: MqttProbe,
    topic: str,
    inject: Callable[[], None],
    heal: Callable[[], None],
    kept: Callable[[dict[str, Any]], bool],
) -> list[dict[str, Any]]:
    """Inject a fault, wait for the read error, heal, wait for good data: every state in between."""
    mark = probe.mark()
    inject()
    refused = probe.wait_json(topic, lambda s: s["error"] > 0, after=mark)
    assert kept(refused), refused
    heal()
    probe.wait_json(topic, lambda s: s["error"] == 0, after=probe.mark())
    return [m.json() for m in probe.since(mark, topic)]


# --- meters -------------------------------------------------------------------------------------------

SHELLY_FAULTS: dict[str, Callable[[FakeShelly], None]] = {
    "grid 5 MW": lambda f: f.set_powers(grid=5e6, pv=3456.7),
    "grid 1.7e308 W": lambda f: f.set_powers(grid=1.7e308, pv=3456.7),
    "PV -5 MW": lambda f: f.set_powers(grid=-1234.5, pv=-5e6),
    "imported 1.7e308 Wh": lambda f: setattr(f, "imported", 1.7e308),
    "imported +1 GWh in a poll": lambda f: setattr(f, "imported", f.imported + 1e9),
}


def test_shelly_implausible_values_are_read_errors(
    mqtt_broker: Broker, probe: MqttProbe, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    topic = f"{prefix}/meter/state"
    with FakeShelly("EM1") as fake:
        config = ShellyMeterConfig(url=fake.url, profile="EM1", pv_channel=1, poll_interval=POLL, timeout=1)
        service = MeterService(
            config, ShellyMeter(config), BrokerAddress.parse(mqtt_broker.url), Topics(prefix)
        )
        with caplog.at_level(logging.INFO, "pvcontrol.meter"), serving(service):
            good = probe.wait_json(topic, lambda s: s["error"] == 0)
            for name, fault in SHELLY_FAULTS.items():
                imported = fake.imported

                def heal(imported: float = imported) -> None:
                    fake.set_powers(grid=-1234.5, pv=3456.7)
                    fake.imported = imported

                states = injected(
                    probe,
                    topic,
                    lambda fault=fault: fault(fake),  # type: ignore[misc]
                    heal,
                    lambda s: s["power_grid"] == good["power_grid"] and s["power_pv"] == good["power_pv"],
                )
                for s in states:
                    assert abs(s["power_grid"]) <= 50_000, name
                    assert abs(s["power_pv"]) <= 50_000, name
                    assert s["energy_consumption_grid"] < 1e9, name
    lines = episodes(caplog, "meter")
    assert len(lines) == 2 * len(SHELLY_FAULTS), lines
    assert "power_grid 5e+06 W" in lines[0]
    assert "energy_consumption_grid rose by 1e+09 Wh" in lines[8]


FRONIUS_FAULTS: dict[str, Callable[[FakeFronius], None]] = {
    "PV 5 MW": lambda f: f.set_powers(pv=5e6, load=1100.2, battery=-512.3, soc=67.5),
    "battery 1.7e308 W": lambda f: f.set_powers(pv=2847.0, load=1100.2, battery=1.7e308, soc=67.5),
    "battery SOC 180 %": lambda f: f.set_powers(pv=2847.0, load=1100.2, battery=-512.3, soc=180.0),
}


def test_fronius_implausible_values_are_read_errors(
    mqtt_broker: Broker, probe: MqttProbe, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    topic = f"{prefix}/meter/state"
    with FakeFronius() as fake:
        config = FroniusMeterConfig(url=fake.url, poll_interval=POLL, timeout=1)
        service = MeterService(
            config, FroniusMeter(config), BrokerAddress.parse(mqtt_broker.url), Topics(prefix)
        )
        with caplog.at_level(logging.INFO, "pvcontrol.meter"), serving(service):
            probe.wait_json(topic, lambda s: s["error"] == 0)
            for name, fault in FRONIUS_FAULTS.items():
                states = injected(
                    probe,
                    topic,
                    lambda fault=fault: fault(fake),  # type: ignore[misc]
                    lambda: fake.set_powers(pv=2847.0, load=1100.2, battery=-512.3, soc=67.5),
                    lambda s: (s["power_pv"], s["soc_battery"]) == (2847.0, 67.5),
                )
                for s in states:
                    assert abs(s["power_pv"]) <= 50_000, name
                    assert abs(s["power_battery"]) <= 50_000, name
                    assert 0 <= s["soc_battery"] <= 100, name
    lines = episodes(caplog, "meter")
    assert len(lines) == 2 * len(FRONIUS_FAULTS), lines
    assert "soc_battery 180 %" in lines[4]


# --- OCPP ---------------------------------------------------------------------------------------------


def meter_values(transaction: int, energy_wh: float, power_w: float) -> str:
    sampled = [
        {"value": f"{energy_wh:.0f}", "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
        {"value": f"{power_w:.0f}", "measurand": "Power.Active.Import", "unit": "W"},
    ]
    payload = {
        "connectorId": 1,
        "transactionId": transaction,
        "meterValue": [{"timestamp": "2026-01-01T12:00:00Z", "sampledValue": sampled}],
    }
    return json.dumps([2, f"fault-{energy_wh:.0f}-{power_w:.0f}", "MeterValues", payload])


def test_ocpp_implausible_power_and_energy_are_read_errors(
    mqtt_broker: Broker, probe: MqttProbe, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    topic = f"{prefix}/wallbox/state"
    port = free_port()
    config = OcppWallboxConfig(
        host="127.0.0.1", port=port, charge_point_id="CP1", poll_interval=POLL, call_timeout=1.0
    )
    service = WallboxService(
        config, OcppWallbox(config), BrokerAddress.parse(mqtt_broker.url), Topics(prefix)
    )
    with (
        caplog.at_level(logging.INFO, "pvcontrol.wallbox"),
        serving(service),
        # its own MeterValues only every 60 s: the test sends each one, a forged one is not overtaken
        FakeChargePoint(f"ws://127.0.0.1:{port}", meter_interval=60.0) as cp,
    ):
        wait_until(lambda: cp.connected, what="the charge point connected")
        cp.plug(True)
        wait_until(lambda: cp.connector.transaction is not None, what="a transaction")
        probe.publish(f"{prefix}/wallbox/max_current/set", "10")
        probe.publish(f"{prefix}/wallbox/allow_charging/set", "true")
        charging = probe.wait_json(topic, lambda s: s["error"] == 0 and s["power"] == 6900.0)
        transaction = cp.connector.transaction
        assert transaction is not None

        def sends(energy_wh: float, power_w: float) -> Callable[[], None]:
            return lambda: cp.send_raw(meter_values(transaction, energy_wh, power_w))

        energy = cp.connector.energy_wh
        sends(energy, 6900.0)()
        probe.wait_json(topic, lambda s: s["error"] == 0 and s["total_energy"] == round(energy))
        for name, inject in {
            "power 1e12 W": sends(energy, 1e12),
            "energy 1e12 Wh": sends(1e12, 6900.0),
        }.items():
            states = injected(
                probe,
                topic,
                inject,
                sends(energy + 1, 6900.0),  # true again
                lambda s: energy <= s["total_energy"] <= energy + 1 and s["power"] == 6900.0,
            )
            for s in states:
                assert s["power"] <= 50_000, name
                assert s["total_energy"] < 1e8, name
                assert s["charged_energy"] < 1e8, name
        assert charging["power"] == 6900.0
    lines = episodes(caplog, "wallbox")
    assert len(lines) == 4, lines
    assert "power 1e+12 W" in lines[0]
    assert "total_energy 1e+12 Wh is beyond" in lines[2]


# --- the car's SOC estimate -----------------------------------------------------------------------


class CloudCar(Car):
    wakes_the_car = True

    async def read(self) -> CarData:
        return CarData(ts=time.time(), soc=62.0, cruising_range=250.0)


def test_an_implausible_wallbox_state_never_moves_the_cars_soc_estimate() -> None:
    """A car read from the maker's cloud is estimated between reads from the wallbox's charged energy; an
    absurd charged energy (1e12 Wh, negative, +1 GWh) must not publish a full battery."""
    config = NoCarConfig(poll_interval=300)
    service = CarService(config, CloudCar(), BrokerAddress("127.0.0.1", 9), Topics("estimate"))
    published: list[CarData] = []

    async def publish(state: StateDocument) -> None:
        assert isinstance(state, CarData)
        published.append(state)

    service.publish_state = publish  # type: ignore[method-assign]  # no broker here

    def wallbox(charged: float) -> bytes:
        state = WallboxData(ts=time.time(), car_status=CarStatus.Charging, power=7000, charged_energy=charged)
        return state.model_dump_json().encode()

    async def scenario() -> None:
        await service._on_wallbox_state(wallbox(0.0))
        await service.poller.poll_once()
        await service._on_wallbox_state(wallbox(580.0))
        for absurd in (1e12, -5000.0, 1.7e308):
            await service._on_wallbox_state(wallbox(absurd))

    asyncio.run(scenario())
    assert [(d.soc, d.soc_estimated) for d in published] == [(62.0, False), (62.9, True)]
