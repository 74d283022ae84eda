"""FroniusMeter, SolarWattMeter and SmaTripowerMeter against their fakes over real HTTP(S) sockets."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from pvcontrol.device import DeviceError
from pvcontrol.models import MeterData
from services.meter.device import Meter
from services.meter.fronius import FroniusMeter, FroniusMeterConfig
from services.meter.sma import SmaTripowerMeter, SmaTripowerMeterConfig
from services.meter.solarwatt import SolarWattMeter, SolarWattMeterConfig
from tests.fakes.fronius import FakeFronius
from tests.fakes.http import FakeHttpDevice, Fault
from tests.fakes.sma import PASSWORD, FakeSma
from tests.fakes.solarwatt import LOCATION_GUID, FakeSolarWatt

TIMEOUT = 0.5


def read(meter: Meter) -> MeterData:
    return asyncio.run(meter.read())


def assert_balanced(data: MeterData) -> None:
    assert data.power_consumption == pytest.approx(data.power_pv + data.power_grid + data.power_battery)


def fronius_meter(fake: FakeHttpDevice) -> Meter:
    return FroniusMeter(FroniusMeterConfig(url=fake.url, timeout=TIMEOUT))


def solarwatt_meter(fake: FakeHttpDevice) -> Meter:
    return SolarWattMeter(SolarWattMeterConfig(url=fake.url, location_guid=LOCATION_GUID, timeout=TIMEOUT))


def sma_meter(fake: FakeHttpDevice, verify_ssl: bool = False) -> Meter:
    return SmaTripowerMeter(
        SmaTripowerMeterConfig(url=fake.url, password=PASSWORD, verify_ssl=verify_ssl, timeout=TIMEOUT)
    )


@dataclass
class Kind:
    make_fake: Callable[[], FakeHttpDevice]
    make_meter: Callable[[FakeHttpDevice], Meter]


KINDS = {
    "fronius": Kind(FakeFronius, fronius_meter),
    "solarwatt": Kind(FakeSolarWatt, solarwatt_meter),
    "sma": Kind(FakeSma, sma_meter),
}


@pytest.fixture(params=list(KINDS))
def kind(request: pytest.FixtureRequest) -> Kind:
    return KINDS[request.param]


@pytest.fixture
def fake(kind: Kind) -> Iterator[FakeHttpDevice]:
    with kind.make_fake() as fake:
        yield fake


# --- decoding ------------------------------------------------------------------------------------


def test_fronius_decodes_the_power_flow() -> None:
    with FakeFronius() as fake:
        data = read(fronius_meter(fake))
    assert (data.power_pv, data.power_battery, data.soc_battery) == (2847.0, -512.3, 67.5)
    assert data.power_grid == pytest.approx(-1234.5)
    assert data.power_consumption == pytest.approx(1100.2)
    assert data.error == 0
    assert data.ts > 0


def test_fronius_null_means_zero() -> None:
    with FakeFronius() as fake:
        fake.set_powers(pv=None, load=480.0, battery=None, soc=None)
        data = read(fronius_meter(fake))
    assert (data.power_pv, data.power_battery, data.soc_battery) == (0, 0, 0)
    assert data.power_grid == data.power_consumption == 480.0


def test_solarwatt_decodes_the_location() -> None:
    with FakeSolarWatt() as fake:
        data = read(solarwatt_meter(fake))
    assert data.power_pv == 3210.0
    assert data.power_consumption == 870.0
    assert data.power_battery == -1500.0
    assert data.power_grid == pytest.approx(870.0 - 3210.0 + 1500.0)
    assert data.energy_consumption == 9_876_543.0
    assert data.energy_consumption_grid == 4_321_000.0
    assert data.energy_consumption_pv == 9_876_543.0 - 4_321_000.0 - 812_000.0
    assert_balanced(data)


def test_solarwatt_unknown_location_is_an_error() -> None:
    with FakeSolarWatt(location_guid="urn:kiwigrid:location:OTHER:0") as fake, pytest.raises(DeviceError):
        read(solarwatt_meter(fake))


def test_sma_decodes_the_values() -> None:
    with FakeSma() as fake:
        data = read(sma_meter(fake))
    assert data.power_pv == 4120.0
    assert data.power_grid == -1830.0
    assert data.power_battery == -1200.0
    assert data.soc_battery == 63.0
    assert data.energy_consumption_grid == 2_104_300.0
    assert data.energy_consumption_pv == 18_250_400.0 - 9_870_100.0 - 1_480_000.0 + 1_310_000.0
    assert data.energy_consumption == data.energy_consumption_grid + data.energy_consumption_pv
    assert_balanced(data)


def test_sma_night_values_are_null() -> None:
    with FakeSma() as fake:
        fake.values["6100_0046C200"] = None
        assert read(sma_meter(fake)).power_pv == 0


def test_sma_keeps_its_session_and_logs_in_again_when_rejected() -> None:
    with FakeSma() as fake:
        meter = sma_meter(fake)
        read(meter)
        read(meter)
        assert fake.logins == 1
        fake.expire_sessions()
        with pytest.raises(DeviceError):
            read(meter)
        read(meter)
        assert fake.logins == 2
        asyncio.run(meter.close())
        assert not fake.sessions


def test_sma_wrong_password() -> None:
    with FakeSma(password="other") as fake, pytest.raises(DeviceError, match="401"):
        read(sma_meter(fake))


def test_sma_verifies_the_certificate_when_asked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeSma() as fake:
        with pytest.raises(DeviceError):
            read(sma_meter(fake, verify_ssl=True))
        ca = tmp_path / "ca.pem"
        fake.ca.cert_pem.write_to_path(str(ca))
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca))
        assert read(sma_meter(fake, verify_ssl=True)).power_pv == 4120.0


def test_every_meter_is_balanced(fake: FakeHttpDevice, kind: Kind) -> None:
    assert_balanced(read(kind.make_meter(fake)))


# --- failures ------------------------------------------------------------------------------------


@pytest.mark.parametrize("fault", [Fault.HTTP_500, Fault.GARBAGE, Fault.SLOW, Fault.CLOSE])
def test_failures_raise_and_recover(fake: FakeHttpDevice, kind: Kind, fault: Fault) -> None:
    meter = kind.make_meter(fake)
    read(meter)
    fake.fail(fault)
    with pytest.raises(DeviceError):
        read(meter)
    fake.heal()
    assert read(meter).error == 0


def test_a_stopped_device_raises_and_recovers(fake: FakeHttpDevice, kind: Kind) -> None:
    meter = kind.make_meter(fake)
    read(meter)
    fake.stop()
    with pytest.raises(DeviceError):
        read(meter)
    fake.start()
    assert read(meter).error == 0
