"""The OCPP central system against hostile or broken clients over real websockets, in-process: a second
connection for the charger's id, password guessing, a flood of unsolicited CALLRESULTs, unparseable frames.
The real charger is the fake charge point; the others are raw websocket clients."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import websockets
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

from pvcontrol.device import DeviceError
from services.wallbox.ocpp import OcppWallbox, OcppWallboxConfig
from services.wallbox.ocpp_auth import BAN_SECONDS, LoginGuard
from services.wallbox.ocpp_routing import MAX_PENDING_RESPONSES
from tests.fakes.ocpp_cp import FakeChargePoint
from tests.helpers import free_port

OCPP = [Subprotocol("ocpp1.6")]


def config(port: int, **extra: Any) -> OcppWallboxConfig:
    return OcppWallboxConfig(charge_point_id="CP1", host="127.0.0.1", port=port, call_timeout=2.0, **extra)


@contextlib.asynccontextmanager
async def central_system(cfg: OcppWallboxConfig) -> AsyncIterator[OcppWallbox]:
    wallbox = OcppWallbox(cfg)
    with contextlib.suppress(DeviceError):
        await wallbox.read()  # starts listening
    try:
        yield wallbox
    finally:
        await wallbox.close()


async def until(condition: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


def raw(port: int, password: str | None = None, cp_id: str = "CP1") -> Any:
    headers = {}
    if password is not None:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{cp_id}:{password}".encode()).decode()
    return connect(
        f"ws://127.0.0.1:{port}/{cp_id}", subprotocols=OCPP, additional_headers=headers, open_timeout=5
    )


def lines(caplog: pytest.LogCaptureFixture, text: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if text in r.getMessage()]


async def in_thread(function: Callable[..., Any], *args: Any) -> Any:
    """A call into the fake charge point, which waits for our answers: never on this loop."""
    return await asyncio.to_thread(function, *args)


def test_without_a_password_a_warning_at_start_and_only_then(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        async with central_system(config(free_port())) as wallbox:
            for _ in range(3):
                with contextlib.suppress(DeviceError):
                    await wallbox.read()
        async with central_system(config(free_port(), password="s3cret")):
            pass

    with caplog.at_level(logging.INFO, logger="pvcontrol.wallbox.ocpp"):
        asyncio.run(scenario())
    assert len(lines(caplog, "without a password")) == 1


def test_without_a_password_a_second_connection_does_not_replace_the_charger(
    caplog: pytest.LogCaptureFixture,
) -> None:
    port = free_port()

    async def scenario(cp: FakeChargePoint) -> None:
        async with central_system(config(port)) as wallbox:
            await until(lambda: cp.connected and wallbox.server.session is not None, "the charger connected")
            real = wallbox.server.session
            for _ in range(20):
                async with raw(port) as impostor:
                    with pytest.raises(websockets.ConnectionClosed) as closed:
                        await impostor.recv()
                    assert closed.value.rcvd is not None
                    assert closed.value.rcvd.code == 1008
            assert wallbox.server.session is real
            await wallbox.allow_charging(False)  # the failsafe's 0 A goes to the real charger
            await until(lambda: cp.connector.limit == 0, "the 0 A profile at the real charger")

    with caplog.at_level(logging.INFO), FakeChargePoint(f"ws://127.0.0.1:{port}", reconnect_delay=0.2) as cp:
        asyncio.run(scenario(cp))
    assert cp.connections == 1
    refused = lines(caplog, "refused a second connection")
    assert len(refused) == 1  # 20 attempts, one line a minute


def test_with_a_password_an_authenticated_second_connection_takes_over() -> None:
    port = free_port()

    async def scenario(cp: FakeChargePoint) -> None:
        async with central_system(config(port, password="s3cret")) as wallbox:
            await until(lambda: cp.connected and wallbox.server.session is not None, "the charger connected")
            old = wallbox.server.session
            async with raw(port, "s3cret") as replacement:
                await until(
                    lambda: wallbox.server.session is not old and wallbox.server.session is not None,
                    "the replacement",
                )
                await replacement.close()

    with FakeChargePoint(f"ws://127.0.0.1:{port}", password="s3cret", reconnect_delay=5) as cp:
        asyncio.run(scenario(cp))


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_failed_logins_are_throttled_per_source_and_in_the_log(caplog: pytest.LogCaptureFixture) -> None:
    port = free_port()
    attempts = 300

    async def guess(password: str) -> int:
        try:
            async with raw(port, password):
                return 101
        except websockets.InvalidStatus as e:
            return e.response.status_code

    async def scenario() -> tuple[list[int], float, int]:
        async with central_system(config(port, password="s3cret")) as wallbox:
            clock = FakeClock()
            wallbox.server.admission.logins = LoginGuard(logging.getLogger("pvcontrol.wallbox.ocpp"), clock)
            started = time.monotonic()
            statuses = [await guess(f"guess{i}") for i in range(attempts)]
            elapsed = time.monotonic() - started
            right_while_banned = await guess("s3cret")
            clock.now += BAN_SECONDS  # the ban is over
            assert await guess("s3cret") == 101
            return statuses, elapsed, right_while_banned

    with caplog.at_level(logging.INFO, logger="pvcontrol.wallbox.ocpp"):
        statuses, elapsed, right_while_banned = asyncio.run(scenario())
    assert statuses[:5] == [401] * 5
    assert set(statuses[5:]) == {429}  # refused without checking while banned
    assert right_while_banned == 429
    assert len(lines(caplog, "refused a login")) == 1
    assert len(lines(caplog, "failed logins in a row")) == 1
    assert elapsed < 30


async def answer_calls(ws: ClientConnection, answered: list[str], synced: asyncio.Event) -> None:
    """A minimal charge point: accepts every CALL of the central system; `synced` when the answer to its
    Heartbeat "sync" comes (frames are handled in order: everything sent before it has been read)."""
    async for frame in ws:
        message = json.loads(frame)
        if message[0] == 2:
            answered.append(message[2])
            await ws.send(json.dumps([3, message[1], {"status": "Accepted"}]))
        elif message[1] == "sync":
            synced.set()


def test_a_flood_of_unsolicited_callresults_is_dropped_and_commands_still_work() -> None:
    """200,000 of them grew the library's queue by ~100 MB and every later command failed with
    RecursionError; 20,000 show the same in a test (the 200,000 are measured in docs/devices.md)."""
    port = free_port()
    flood = 20_000

    async def scenario() -> tuple[int, float, list[str]]:
        async with central_system(config(port)) as wallbox, raw(port) as ws:
            await until(lambda: wallbox.server.session is not None, "connected")
            answered: list[str] = []
            synced = asyncio.Event()
            responder = asyncio.create_task(answer_calls(ws, answered, synced))
            started = time.monotonic()
            for i in range(flood):  # one websocket message each, back to back
                await ws.send(json.dumps([3, f"x{i}", {"status": "Accepted"}]))
            await ws.send(json.dumps([2, "sync", "Heartbeat", {}]))
            await asyncio.wait_for(synced.wait(), 60)
            seconds = time.monotonic() - started
            cp = wallbox.server.session
            assert cp is not None
            queued = cp._response_queue.qsize()
            await wallbox.allow_charging(True)
            # a flood while a command waits for its answer: at most a few queued, looked at in a loop
            pending = asyncio.create_task(wallbox.set_max_current(10))
            for i in range(5_000):
                await ws.send(json.dumps([3, f"y{i}", {}]))
            await pending
            responder.cancel()
            return queued, seconds, answered

    queued, seconds, answered = asyncio.run(scenario())
    assert queued <= MAX_PENDING_RESPONSES
    assert answered.count("SetChargingProfile") >= 3  # on connect, allow, current
    print(f"{flood} unsolicited CALLRESULTs read and dropped in {seconds:.1f} s")


@pytest.mark.parametrize(
    ("frame", "unique_id", "code"),
    [
        ("this is not json", "-1", "FormationViolation"),
        ('[2, "m1", "Heartbeat"', "-1", "FormationViolation"),
        ('{"not": "a list"}', "-1", "ProtocolError"),
        ("[2]", "-1", "ProtocolError"),
        ('[2, "m2"]', "m2", "ProtocolError"),
        ('[2, "m3", "FlyToTheMoon", {}]', "m3", "NotImplemented"),
        ('[2, "m4", "FirmwareStatusNotification", {"status": "Idle"}]', "m4", "NotSupported"),
        ('[2, "m5", "Heartbeat", {}]', "m5", None),  # still answered
    ],
)
def test_frames_get_the_callerror_ocpp_j_asks_for(frame: str, unique_id: str, code: str | None) -> None:
    port = free_port()

    async def scenario() -> list[Any]:
        async with central_system(config(port)) as wallbox, raw(port) as ws:
            await until(lambda: wallbox.server.session is not None, "connected")
            await ws.send(frame)
            while True:
                message = json.loads(await asyncio.wait_for(ws.recv(), 5))
                if message[0] != 2:  # the central system's own CALLs (the profile) are not the answer
                    return list(message)

    answer = asyncio.run(scenario())
    assert answer[1] == unique_id
    if code is None:
        assert answer[0] == 3
    else:
        assert answer[0] == 4
        assert answer[2] == code


def test_the_login_guard_bans_guessers_only_and_forgets_after_a_success() -> None:
    clock = FakeClock()
    guard = LoginGuard(logging.getLogger("test"), clock, max_failures=3, ban=60.0)
    for _ in range(10):
        guard.failed("10.0.0.9", "", guess=False)  # a charger without its password configured yet
    assert not guard.banned("10.0.0.9")
    guard.failed("10.0.0.5", "CP1")
    guard.failed("10.0.0.5", "CP1")
    guard.succeeded("10.0.0.5")  # the real charger, after a typo fixed: counts from zero again
    guard.failed("10.0.0.5", "CP1")
    guard.failed("10.0.0.5", "CP1")
    assert not guard.banned("10.0.0.5")
    guard.failed("10.0.0.5", "CP1")
    assert guard.banned("10.0.0.5")
    assert not guard.banned("10.0.0.6")  # per source
    clock.now += 60.0
    assert not guard.banned("10.0.0.5")
