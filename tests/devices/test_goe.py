"""GoeWallbox against the fake go-e charger (tests/fakes/goe.py) over a real HTTP socket, API v1 and v2."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Literal

import pytest

from pvcontrol.device import DeviceError
from pvcontrol.models import CarStatus, WallboxData, WbError
from services.wallbox.goe import GoeWallbox, GoeWallboxConfig
from tests.fakes.goe import FakeGoe
from tests.fakes.http import Fault

Api = Literal["v1", "v2"]


@pytest.fixture(params=["v1", "v2"])
def fake(request: pytest.FixtureRequest) -> Iterator[FakeGoe]:
    with FakeGoe(api=request.param) as fake:
        yield fake


def wallbox_for(fake: FakeGoe, api_version: Literal["auto", "v1", "v2"] = "auto") -> GoeWallbox:
    return GoeWallbox(GoeWallboxConfig(url=fake.url, api_version=api_version, timeout=0.5))


def read(wallbox: GoeWallbox) -> WallboxData:
    return asyncio.run(wallbox.read())


def test_decodes_a_charging_car(fake: FakeGoe) -> None:
    data = read(wallbox_for(fake))
    assert data.error == 0
    assert data.wb_error == WbError.OK
    assert data.car_status == CarStatus.Charging
    assert data.max_current == 16
    assert data.allow_charging is True
    assert (data.phases_in, data.phases_out) == (3, 3)
    assert data.power == pytest.approx(16 * 230 * 3, abs=10)
    assert data.total_energy == pytest.approx(1_234_500, abs=100)
    assert data.temperature == 24.5


def test_energy_counts_up_while_charging(fake: FakeGoe) -> None:
    wallbox = wallbox_for(fake)
    first = read(wallbox)
    with fake.lock:
        fake.state.updated -= 3600  # an hour passes on the charger
    second = read(wallbox)
    assert second.charged_energy - first.charged_energy == pytest.approx(16 * 230 * 3, rel=0.01)
    assert second.total_energy - first.total_energy == pytest.approx(16 * 230 * 3, abs=100)


def test_phases_follow_the_supply_and_the_contactor(fake: FakeGoe) -> None:
    wallbox = wallbox_for(fake)
    fake.set_supply_phases(1)
    data = read(wallbox)
    assert (data.phases_in, data.phases_out) == (1, 1)
    assert data.power == pytest.approx(16 * 230, abs=10)
    fake.plug(False)
    data = read(wallbox)
    assert (data.phases_in, data.phases_out, data.power) == (1, 0, 0)
    assert data.car_status == CarStatus.NoVehicle


def test_auto_detects_the_api(fake: FakeGoe) -> None:
    read(wallbox_for(fake))
    status_path = "/api/status" if fake.api == "v2" else "/status"
    assert fake.requests[0].path == "/api/status"
    assert fake.requests[0].query == {"filter": "alw"}
    assert fake.requests[-1].path == status_path


def test_detection_waits_for_an_unreachable_charger() -> None:
    fake = FakeGoe(api="v2").start()
    wallbox = wallbox_for(fake)
    fake.stop()
    with pytest.raises(DeviceError):
        read(wallbox)
    with fake:
        assert read(wallbox).car_status == CarStatus.Charging
        assert fake.requests_to("/api/status")


WRITES: dict[str, list[tuple[str, str]]] = {
    "v1": [("amx", "10"), ("alw", "0"), ("alw", "1"), ("rst", "1")],
    "v2": [("amp", "10"), ("frc", "1"), ("frc", "2"), ("rst", "1")],
}


def test_commands_send_the_api_specific_writes(fake: FakeGoe) -> None:
    wallbox = wallbox_for(fake)

    async def commands() -> WallboxData:
        await wallbox.read()
        await wallbox.set_max_current(10)
        await wallbox.allow_charging(False)
        stopped = await wallbox.read()
        await wallbox.allow_charging(True)
        await wallbox.reset()
        assert stopped.allow_charging is False
        assert stopped.power == 0
        return await wallbox.read()

    data = asyncio.run(commands())
    assert fake.writes == WRITES[fake.api]
    assert data.max_current == 10
    assert data.allow_charging is True
    assert fake.state.reboots == 1


def test_no_write_when_the_value_is_unchanged(fake: FakeGoe) -> None:
    wallbox = wallbox_for(fake)

    async def commands() -> None:
        await wallbox.read()
        await wallbox.set_max_current(16)
        await wallbox.allow_charging(True)
        await wallbox.set_max_current(8)
        await wallbox.set_max_current(8)

    asyncio.run(commands())
    assert fake.writes == [("amx" if fake.api == "v1" else "amp", "8")]


def test_charger_changed_outside_is_written_again(fake: FakeGoe) -> None:
    """The comparison is with the last reading, not with the last write."""
    wallbox = wallbox_for(fake)

    async def commands() -> None:
        await wallbox.set_max_current(8)
        fake.state.amp = 16  # someone turned the knob in the app
        await wallbox.read()
        await wallbox.set_max_current(8)

    asyncio.run(commands())
    assert [value for _, value in fake.writes] == ["8", "8"]


@pytest.mark.parametrize("fault", [Fault.HTTP_500, Fault.GARBAGE, Fault.SLOW, Fault.CLOSE])
def test_failures_raise_and_recover(fake: FakeGoe, fault: Fault) -> None:
    wallbox = wallbox_for(fake, api_version=fake.api)
    fake.fail(fault)
    with pytest.raises(DeviceError):
        read(wallbox)
    fake.heal()
    assert read(wallbox).car_status == CarStatus.Charging


def test_a_failed_write_raises(fake: FakeGoe) -> None:
    wallbox = wallbox_for(fake, api_version=fake.api)
    fake.fail(Fault.HTTP_500, count=1)
    with pytest.raises(DeviceError):
        asyncio.run(wallbox.set_max_current(10))
    asyncio.run(wallbox.set_max_current(10))
    assert fake.state.amp == 10


def test_a_stopped_charger_raises_and_recovers(fake: FakeGoe) -> None:
    wallbox = wallbox_for(fake, api_version=fake.api)
    read(wallbox)
    fake.stop()
    with pytest.raises(DeviceError):
        read(wallbox)
    fake.start()
    assert read(wallbox).error == 0


@pytest.mark.parametrize(
    ("api", "raw"),
    [
        ("v1", {"err": "42"}),
        ("v1", {"car": "7"}),
        ("v1", {"car": "0"}),
        ("v1", {"amp": "sixteen"}),
        ("v1", {"nrg": [230, 231]}),
        ("v2", {"err": 99}),
        ("v2", {"car": 9}),
        ("v2", {"pha": [True, False]}),
        ("v2", {"alw": "yes"}),
    ],
)
def test_unknown_codes_are_read_errors(api: Api, raw: dict[str, object]) -> None:
    with FakeGoe(api=api) as fake:
        wallbox = wallbox_for(fake, api_version=api)
        fake.override(**raw)
        with pytest.raises(DeviceError):
            read(wallbox)
        fake.clear_override()
        assert read(wallbox).error == 0


@pytest.mark.parametrize(
    ("api", "raw", "wb_error"),
    [
        ("v1", {"err": "1"}, WbError.RCCB),
        ("v1", {"err": "3"}, WbError.PHASE),
        ("v1", {"err": "8"}, WbError.NO_GROUND),
        ("v1", {"err": "10"}, WbError.INTERNAL),
        ("v2", {"err": 2}, WbError.RCCB),
        ("v2", {"err": 8}, WbError.NO_GROUND),
        ("v2", {"err": 13}, WbError.INTERNAL),
    ],
)
def test_charger_errors_are_reported(api: Api, raw: dict[str, object], wb_error: WbError) -> None:
    with FakeGoe(api=api) as fake:
        fake.override(**raw)
        assert read(wallbox_for(fake, api_version=api)).wb_error == wb_error


@pytest.mark.parametrize("car", [0, 5, None])
def test_v2_car_error_states_map_to_no_vehicle_with_an_error(car: int | None) -> None:
    with FakeGoe(api="v2") as fake:
        fake.override(car=car, err=0 if car is not None else None)
        data = read(wallbox_for(fake, api_version="v2"))
        assert data.car_status == CarStatus.NoVehicle
        assert data.wb_error == WbError.INTERNAL


def test_v1_phases_out_are_capped_at_phases_in() -> None:
    with FakeGoe(api="v1") as fake:
        fake.override(pha=str(0b001_111))
        data = read(wallbox_for(fake, api_version="v1"))
        assert (data.phases_in, data.phases_out) == (1, 1)
