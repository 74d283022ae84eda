"""KostalMeter against the fake Plenticore, a real pymodbus TCP server (tests/fakes/kostal.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Literal

import pytest
from pymodbus.constants import ExcCodes

from pvcontrol.device import DeviceError
from pvcontrol.models import MeterData
from services.meter.kostal import KostalMeter, KostalMeterConfig
from tests.fakes.kostal import FakeKostal


@pytest.fixture(params=["big", "little"])
def fake(request: pytest.FixtureRequest) -> Iterator[FakeKostal]:
    with FakeKostal(word_order=request.param) as fake:
        yield fake


def meter_for(fake: FakeKostal, **options: object) -> KostalMeter:
    config = {"host": fake.host, "port": fake.port, "word_order": fake.word_order, "timeout": 0.5} | options
    return KostalMeter(KostalMeterConfig.model_validate(config))


def read(meter: KostalMeter) -> MeterData:
    async def once() -> MeterData:
        try:
            return await meter.read()
        finally:
            await meter.close()

    return asyncio.run(once())


def test_decodes_the_registers(fake: FakeKostal) -> None:
    data = read(meter_for(fake))
    assert data.power_pv == pytest.approx(5230.0)
    assert data.power_battery == -1200.0
    assert data.soc_battery == 71
    assert data.power_grid == pytest.approx(940.0 - 5230.0 + 1200.0)
    assert data.power_consumption == pytest.approx(940.0)
    assert data.energy_consumption_grid == 3_150_000.0
    assert data.energy_consumption_pv == 7_420_000.0
    assert data.energy_consumption == 3_150_000.0 + 7_420_000.0 + 1_980_000.0
    assert data.power_consumption == pytest.approx(data.power_pv + data.power_grid + data.power_battery)
    assert data.error == 0


def test_follows_the_plant(fake: FakeKostal) -> None:
    fake.set_powers(pv=0.0, home=2100.0, battery=800.0, soc=35)
    data = read(meter_for(fake))
    assert (data.power_pv, data.power_battery, data.soc_battery) == (0.0, 800.0, 35)
    assert data.power_grid == pytest.approx(1300.0)
    assert data.power_consumption == pytest.approx(2100.0)


@pytest.mark.parametrize("wrong", ["big", "little"])
def test_wrong_word_order_gives_other_numbers(wrong: Literal["big", "little"]) -> None:
    with FakeKostal(word_order="little" if wrong == "big" else "big") as fake:
        try:
            data = read(meter_for(fake, word_order=wrong))
        except DeviceError:
            return  # swapped words may well be NaN
        assert data.power_consumption != pytest.approx(940.0)


def test_exception_response_raises_and_recovers(fake: FakeKostal) -> None:
    meter = meter_for(fake)
    fake.fault = ExcCodes.DEVICE_BUSY
    with pytest.raises(DeviceError):
        read(meter)
    fake.heal()
    assert read(meter).power_consumption == pytest.approx(940.0)


def test_timeout_raises_and_recovers(fake: FakeKostal) -> None:
    meter = meter_for(fake)
    fake.slow = True
    with pytest.raises(DeviceError):
        read(meter)
    fake.heal()
    assert read(meter).error == 0


def test_dropped_connection_raises_and_recovers(fake: FakeKostal) -> None:
    meter = meter_for(fake)

    async def scenario() -> MeterData:
        await meter.read()
        fake.stop()
        with pytest.raises(DeviceError):
            await meter.read()
        with pytest.raises(DeviceError):
            await meter.read()
        fake.start()
        try:
            return await meter.read()
        finally:
            await meter.close()

    assert asyncio.run(scenario()).power_consumption == pytest.approx(940.0)


def test_wrong_unit_id_is_an_error(fake: FakeKostal) -> None:
    with pytest.raises(DeviceError):
        read(meter_for(fake, unit_id=1))
