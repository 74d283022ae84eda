"""Native phase switching trusts measured current, not a status word: against the fake OCPP charge point
(real websockets) and the fake go-e (real HTTP), whose car keeps drawing 16 A per phase for seconds after
the pause while the status already says it stopped. The adapters and the switch run in-process; the settle
time is set to 1 s so the tests stay fast."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

import pytest

from pvcontrol.device import DeviceError
from pvcontrol.models import WallboxData
from services.wallbox.device import Wallbox
from services.wallbox.goe import GoeWallbox, GoeWallboxConfig
from services.wallbox.native_phases import NativePhaseSwitch
from services.wallbox.ocpp import OcppWallbox, OcppWallboxConfig
from tests.fakes.goe import FakeGoe
from tests.fakes.ocpp_cp import FakeChargePoint
from tests.helpers import free_port

SETTLE = 1.0
RAMP_DOWN = 3.0
METER_INTERVAL = 0.25
log = logging.getLogger("test.native")


def number_phases(profile: dict[str, object]) -> object:
    schedule = profile["charging_schedule"]
    assert isinstance(schedule, dict)
    return schedule["charging_schedule_period"][0].get("number_phases")


async def until(condition: Callable[[], Awaitable[bool]], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def readable(wallbox: Wallbox) -> WallboxData | None:
    try:
        return await wallbox.read()
    except DeviceError:
        return None


def switch_of(wallbox: Wallbox) -> NativePhaseSwitch:
    return NativePhaseSwitch(wallbox, asyncio.Lock(), wallbox.read, 20.0, 0.05, log, settle=SETTLE)


@pytest.mark.parametrize("paused_status", ["SuspendedEVSE", "Finishing", "Preparing"])
def test_ocpp_numberphases_goes_out_only_after_measured_idle_and_settle(paused_status: str) -> None:
    port = free_port()
    config = OcppWallboxConfig(charge_point_id="CP1", port=port, host="127.0.0.1", phase_switching="native")
    with FakeChargePoint(f"ws://127.0.0.1:{port}", meter_interval=METER_INTERVAL) as cp:
        c = cp.connector

        async def scenario() -> list[WallboxData]:
            wallbox = OcppWallbox(config)
            try:
                await readable(wallbox)  # starts the central system

                async def connected() -> bool:
                    return cp.connected and await readable(wallbox) is not None

                await until(connected, "the charge point connected")
                await asyncio.to_thread(cp.plug, True)  # the fake waits for our answers
                await until(lambda: _true(c.transaction is not None), "a transaction")
                await wallbox.set_max_current(16)
                await wallbox.allow_charging(True)

                async def charging() -> bool:
                    data = await readable(wallbox)
                    return data is not None and data.power == 16 * 230.0 * 3

                await until(charging, "16 A on 3 phases measured")
                c.ramp_down, c.paused_status = RAMP_DOWN, paused_status
                seen: list[WallboxData] = []

                async def read_and_keep() -> WallboxData:
                    data = await wallbox.read()
                    seen.append(data)
                    return data

                switch = NativePhaseSwitch(
                    wallbox, asyncio.Lock(), read_and_keep, 20.0, 0.05, log, settle=SETTLE
                )
                assert await switch.switch(1, lambda: False) is True
                return seen
            finally:
                await wallbox.close()

        seen = asyncio.run(scenario())
        assert c.status != "Charging" or c.phases == 1
        assert c.phase_switches_under_load == 0
        switched = next(i for i, p in enumerate(c.profiles) if number_phases(p) == 1)
        # the meter showed current until lag_until (one meter interval of uncertainty): then 1 s settle
        assert c.profile_times[switched] >= c.lag_until + SETTLE - METER_INTERVAL
        # while the status said paused, the published reading showed the measured load, not 0 W
        assert any(d.power == 16 * 230.0 * 3 and not d.allow_charging for d in seen)
        assert c.phases == 1


def _true(value: bool) -> Awaitable[bool]:
    async def result() -> bool:
        return value

    return result()


def test_goe_v2_psm_goes_out_only_after_measured_idle_and_settle() -> None:
    with FakeGoe(api="v2") as goe:
        goe.state.frc = 2
        goe.state.ramp_down = RAMP_DOWN

        async def scenario() -> None:
            wallbox = GoeWallbox(GoeWallboxConfig(url=goe.url, phase_switching="native"))
            try:
                assert await switch_of(wallbox).switch(1, lambda: False) is True
            finally:
                await wallbox.close()

        asyncio.run(scenario())
        assert goe.state.psm_switches_under_load == 0
        assert [w for w in goe.writes if w[0] in ("frc", "psm")] == [("frc", "1"), ("psm", "1"), ("frc", "2")]
        assert goe.state.psm_times[-1] >= goe.state.lag_until + SETTLE - 0.05  # within one poll
