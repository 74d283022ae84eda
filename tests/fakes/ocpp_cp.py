"""A fake OCPP 1.6J charge point, written with the `ocpp` library, that behaves like a real one.

It connects to the central system at `ws://host:port/<id>` (subprotocol ocpp1.6), boots, sends heartbeats,
reports each connector status change, starts a transaction when told to (RemoteStartTransaction) or by
itself (`free_vend`), obeys a TxDefaultProfile in amperes (0 A = SuspendedEVSE; numberPhases switches its
phases), sends MeterValues (energy register, power, current per phase, temperature) every
`meter_interval` s while a transaction runs, and reconnects (without rebooting) when the connection drops.
Test hooks: `plug`, `drop`, `send_raw`, `stall` (answers nothing), `fault`; a lagging car
(`connector.ramp_down`: s the car keeps drawing after the offer drops, while the status already says
`connector.paused_status`).

    python -m tests.fakes.ocpp_cp --url ws://127.0.0.1:9000/CP1
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import websockets
from ocpp.routing import on
from ocpp.v16 import ChargePoint, call, call_result, enums
from ocpp.v16 import datatypes as dt
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

VOLTAGE = 230.0
T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])
logging.getLogger("ocpp").setLevel(logging.WARNING)


def handles(action: enums.Action) -> Callable[[F], F]:
    decorator: Callable[[F], F] = on(action)
    return decorator


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Connector:
    plugged: bool = False
    status: str = "Available"
    error_code: str = "NoError"
    limit: float | None = None  # A from the TxDefaultProfile; None: no profile, the hardware maximum
    phases: int = 3
    max_current: float = 32.0
    transaction: int | None = None
    energy_wh: float = 1_000_000.0
    updated: float = field(default_factory=time.monotonic)
    phase_switches_under_load: int = 0
    profiles: list[dict[str, Any]] = field(default_factory=list)
    profile_times: list[float] = field(default_factory=list)  # monotonic, when each profile came
    # a car that follows a lower offer late (IEC 61851 allows it 5 s): it keeps drawing `lagging` A
    # until `lag_until` (monotonic) while the status already says `paused_status`
    ramp_down: float = 0.0
    paused_status: str = "SuspendedEVSE"
    lagging: float = 0.0
    lag_until: float = 0.0

    @property
    def offered(self) -> float:
        if self.transaction is None or self.status in ("Faulted", "Unavailable"):
            return 0.0
        return min(self.max_current, self.max_current if self.limit is None else self.limit)

    @property
    def current(self) -> float:
        """What the car draws (and the meter shows)."""
        if self.transaction is not None and time.monotonic() < self.lag_until:
            return max(self.offered, self.lagging)
        return self.offered

    @property
    def power(self) -> float:
        return self.current * VOLTAGE * self.phases

    def advance(self) -> None:
        now = time.monotonic()
        self.energy_wh += self.power * (now - self.updated) / 3600
        self.updated = now


class _Cp(ChargePoint):  # type: ignore[misc]
    def __init__(self, fake: FakeChargePoint, connection: ClientConnection) -> None:
        super().__init__(fake.cp_id, connection, response_timeout=5)
        self.fake = fake

    @handles(enums.Action.set_charging_profile)
    def on_profile(self, connector_id: int, cs_charging_profiles: dict[str, Any]) -> Any:
        return call_result.SetChargingProfile(
            status=self.fake.apply_profile(connector_id, cs_charging_profiles)
        )

    @handles(enums.Action.remote_start_transaction)
    def on_remote_start(self, id_tag: str, connector_id: int | None = None, **_: Any) -> Any:
        accepted = self.fake.connector.plugged and self.fake.connector.transaction is None
        if accepted:
            self.fake.spawn(self.fake.start_transaction(id_tag))
        status = enums.RemoteStartStopStatus.accepted if accepted else enums.RemoteStartStopStatus.rejected
        return call_result.RemoteStartTransaction(status=status)

    @handles(enums.Action.remote_stop_transaction)
    def on_remote_stop(self, transaction_id: int) -> Any:
        accepted = transaction_id == self.fake.connector.transaction
        if accepted:
            self.fake.spawn(self.fake.stop_transaction("Remote"))
        status = enums.RemoteStartStopStatus.accepted if accepted else enums.RemoteStartStopStatus.rejected
        return call_result.RemoteStopTransaction(status=status)

    @handles(enums.Action.reset)
    def on_reset(self, type: str) -> Any:
        self.fake.resets += 1
        return call_result.Reset(status=enums.ResetStatus.accepted)


class FakeChargePoint:
    def __init__(
        self,
        url: str,
        cp_id: str = "CP1",
        meter_interval: float = 0.5,
        heartbeat: float = 5.0,
        reconnect_delay: float = 0.5,
        free_vend: bool = False,
        password: str | None = None,
    ) -> None:
        self.url = f"{url.rstrip('/')}/{cp_id}"
        self.cp_id = cp_id
        self.meter_interval = meter_interval
        self.heartbeat = heartbeat
        self.reconnect_delay = reconnect_delay
        self.free_vend = free_vend
        self.password = password  # OCPP security profile 1: Basic auth as cp_id:password
        self.refusals = 0
        self.connector = Connector()
        self.connections = 0
        self.boots = 0
        self.resets = 0
        self.stalled = False
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._cp: _Cp | None = None
        self._stop = asyncio.Event()
        self._tasks: set[asyncio.Future[Any]] = set()
        self._next_transaction = 0

    # --- running it --------------------------------------------------------------------------

    def __enter__(self) -> FakeChargePoint:
        self._thread.start()
        self.run(self._start())
        return self

    def __exit__(self, *_: object) -> None:
        self.run(self._shutdown())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run `coroutine` on the fake's loop and wait for it (from a test's thread)."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(10)

    def spawn(self, coroutine: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _start(self) -> None:
        self.spawn(self._connect_forever())
        self.spawn(self._meter_values_forever())

    async def _shutdown(self) -> None:
        self._stop.set()
        for task in list(self._tasks):
            task.cancel()
        if self._cp is not None:
            await self._cp._connection.close()

    async def _connect_forever(self) -> None:
        booted = False
        while not self._stop.is_set():
            try:
                headers = {}
                if self.password is not None:
                    token = base64.b64encode(f"{self.cp_id}:{self.password}".encode()).decode()
                    headers["Authorization"] = f"Basic {token}"
                async with connect(
                    self.url,
                    subprotocols=[Subprotocol("ocpp1.6")],
                    open_timeout=2,
                    additional_headers=headers,
                ) as ws:
                    self.connections += 1
                    cp = _Cp(self, ws)
                    self._cp = cp
                    reader = asyncio.ensure_future(cp.start())
                    if not booted:
                        boot = await cp.call(
                            call.BootNotification(
                                charge_point_model="FakeBox", charge_point_vendor="pvcontrol-tests"
                            )
                        )
                        booted = boot.status == enums.RegistrationStatus.accepted
                        self.boots += 1
                        await self._status(0)
                    await self._status(self.connector_id)
                    heartbeat = asyncio.ensure_future(self._heartbeats(cp))
                    try:
                        await reader
                    finally:
                        heartbeat.cancel()
            except websockets.InvalidStatus:
                self.refusals += 1  # e.g. 401: wrong password; a real charger retries later too
            except (OSError, websockets.WebSocketException, TimeoutError):
                pass
            self._cp = None
            await asyncio.sleep(self.reconnect_delay)

    connector_id = 1

    async def _heartbeats(self, cp: _Cp) -> None:
        while True:
            await asyncio.sleep(self.heartbeat)
            with contextlib.suppress(Exception):
                await cp.call(call.Heartbeat())

    async def _send(self, payload: Any) -> Any:
        cp = self._cp
        if cp is None or self.stalled:
            return None
        try:
            return await cp.call(payload)
        except (websockets.WebSocketException, TimeoutError):
            return None

    async def _status(self, connector_id: int) -> None:
        c = self.connector
        status = "Available" if connector_id == 0 else c.status
        error = "NoError" if connector_id == 0 else c.error_code
        await self._send(
            call.StatusNotification(
                connector_id=connector_id, error_code=error, status=status, timestamp=_now()
            )
        )

    async def _set_status(self, status: str) -> None:
        if self.connector.status != status:
            self.connector.status = status
            await self._status(self.connector_id)

    def _charging_status(self) -> str:
        c = self.connector
        return "Charging" if c.offered > 0 else c.paused_status

    async def start_transaction(self, id_tag: str) -> None:
        c = self.connector
        c.advance()
        result = await self._send(
            call.StartTransaction(
                connector_id=self.connector_id,
                id_tag=id_tag,
                meter_start=round(c.energy_wh),
                timestamp=_now(),
            )
        )
        c.transaction = result.transaction_id if result is not None else -1
        await self._set_status(self._charging_status())

    async def stop_transaction(self, reason: str) -> None:
        c = self.connector
        c.advance()
        if c.transaction is None:
            return
        transaction, c.transaction = c.transaction, None
        await self._set_status("Finishing")
        await self._send(
            call.StopTransaction(
                meter_stop=round(c.energy_wh), timestamp=_now(), transaction_id=transaction, reason=reason
            )
        )

    def apply_profile(self, connector_id: int, profile: dict[str, Any]) -> str:
        c = self.connector
        schedule = profile.get("charging_schedule", {})
        periods = schedule.get("charging_schedule_period") or []
        if (
            connector_id not in (0, self.connector_id)
            or profile.get("charging_profile_purpose") != "TxDefaultProfile"
            or schedule.get("charging_rate_unit") != "A"
            or not periods
        ):
            return str(enums.ChargingProfileStatus.rejected)
        c.advance()
        c.profiles.append(profile)
        c.profile_times.append(time.monotonic())
        limit = float(periods[0]["limit"])
        if c.ramp_down > 0 and c.current > 0 and limit < c.current:
            c.lagging, c.lag_until = c.current, time.monotonic() + c.ramp_down
        phases = periods[0].get("number_phases")
        if phases in (1, 3) and phases != c.phases:
            if c.power > 0:
                c.phase_switches_under_load += 1  # a real contactor would arc: pv-control must pause first
            c.phases = phases
        c.limit = limit
        if c.transaction is not None:
            self.spawn(self._set_status(self._charging_status()))
        return str(enums.ChargingProfileStatus.accepted)

    async def _meter_values_forever(self) -> None:
        while True:
            await asyncio.sleep(self.meter_interval)
            c = self.connector
            if c.transaction is None:
                continue
            c.advance()
            sampled = [
                {"value": f"{c.energy_wh:.0f}", "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
                {"value": f"{c.power / 1000:.3f}", "measurand": "Power.Active.Import", "unit": "kW"},
                {"value": "31.5", "measurand": "Temperature", "unit": "Celsius"},
            ]
            for i in range(3):
                amperes = c.current if i < c.phases else 0.0
                sampled.append(
                    {
                        "value": f"{amperes:.1f}",
                        "measurand": "Current.Import",
                        "phase": f"L{i + 1}",
                        "unit": "A",
                    }
                )
            await self._send(
                call.MeterValues(
                    connector_id=self.connector_id,
                    transaction_id=c.transaction,
                    meter_value=[
                        dt.MeterValue(timestamp=_now(), sampled_value=[dt.SampledValue(**s) for s in sampled])
                    ],
                )
            )

    # --- test hooks (from the test's thread) --------------------------------------------------

    def plug(self, plugged: bool) -> None:
        self.run(self._plug(plugged))

    async def _plug(self, plugged: bool) -> None:
        c = self.connector
        c.plugged = plugged
        if plugged:
            await self._set_status("Preparing")
            if self.free_vend:
                await self.start_transaction("freevend")
        else:
            await self.stop_transaction("EVDisconnected")
            await self._set_status("Available")

    def drop(self) -> None:
        """The connection breaks (Wi-Fi gone); the charger keeps its state and reconnects."""
        self.run(self._drop())

    async def _drop(self) -> None:
        if self._cp is not None:
            await self._cp._connection.close()

    def send_raw(self, text: str) -> None:
        """A frame as it is, e.g. malformed JSON or a CALL with a bad payload."""
        self.run(self._send_raw(text))

    async def _send_raw(self, text: str) -> None:
        assert self._cp is not None
        await self._cp._connection.send(text)

    def fault(self, error_code: str) -> None:
        self.run(self._fault(error_code))

    async def _fault(self, error_code: str) -> None:
        self.connector.error_code = error_code
        await self._set_status("Faulted" if error_code != "NoError" else self._charging_status())
        await self._status(self.connector_id)

    @property
    def connected(self) -> bool:
        return self._cp is not None


def main() -> None:
    parser = argparse.ArgumentParser(description="fake OCPP 1.6J charge point")
    parser.add_argument("--url", default="ws://127.0.0.1:9000")
    parser.add_argument("--id", default="CP1")
    parser.add_argument("--free-vend", action="store_true")
    args = parser.parse_args()
    with FakeChargePoint(args.url, args.id, free_vend=args.free_vend) as cp:
        cp.plug(True)
        print(f"fake charge point {args.id} -> {cp.url}, car plugged in (Ctrl-C to stop)", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
