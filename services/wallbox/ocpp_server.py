"""The OCPP 1.6J transport: a websocket server for one charge point id, its messages routed to a
`ChargePointEvents` (the adapter), and our calls to it with every failure a `DeviceError`.

Who may connect (the password, one connection per charge point id, a reconnect replacing a dead
connection): ocpp_auth.py. Robust message routing: ocpp_routing.py.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

import websockets
from ocpp.routing import on
from ocpp.v16 import call_result, enums
from ocpp.v16 import datatypes as dt
from pydantic import SecretStr
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.typing import Subprotocol

from pvcontrol.device import DeviceError
from services.wallbox.ocpp_auth import Admission
from services.wallbox.ocpp_protocol import iso
from services.wallbox.ocpp_routing import RobustChargePoint

log = logging.getLogger("pvcontrol.wallbox.ocpp")
logging.getLogger("pvcontrol.wallbox.ocpp.ws").setLevel(logging.WARNING)  # no line per connection
F = TypeVar("F", bound=Callable[..., Any])


def handles(action: enums.Action) -> Callable[[F], F]:
    """The library's untyped `on`, typed."""
    decorator: Callable[[F], F] = on(action)
    return decorator


class ChargePointEvents(Protocol):
    """What the charge point tells the central system, decoded."""

    def on_connected(self) -> None: ...

    def on_boot(self, vendor: str, model: str) -> None: ...

    def on_status(self, connector_id: int, error_code: str, status: str) -> None: ...

    def on_meter_values(self, connector_id: int, meter_value: Any, transaction_id: int | None) -> None: ...

    def on_start_transaction(self, connector_id: int, meter_start: int) -> int: ...

    def on_stop_transaction(self, meter_stop: int, transaction_id: int) -> None: ...


class Problems:
    """The first problem since the last read and how many came: one read error for a burst of them."""

    def __init__(self) -> None:
        self._first: str | None = None
        self._count = 0

    def add(self, message: str) -> None:
        if self._first is None:
            self._first = message
        self._count += 1

    def take(self) -> str | None:
        first, count = self._first, self._count
        self._first, self._count = None, 0
        if first is None or count == 1:
            return first
        return f"{first} (and {count - 1} more problems)"


class _WireLog(logging.Filter):
    """The library logs every frame at INFO and a malformed one with a traceback: keep one line per
    problem, and count it as a read error."""

    def __init__(self, on_problem: Callable[[str], None]) -> None:
        super().__init__()
        self.on_problem = on_problem

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return False
        message = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            message = f"{message} ({record.exc_info[1]})"
        if record.levelno >= logging.ERROR:
            self.on_problem(message[:200])  # logged once, as the read error it causes
            return False
        record.msg, record.args, record.exc_info, record.exc_text = message[:200], None, None, None
        return True


class _ChargePointSession(RobustChargePoint):
    """The library's message routing for one connection; every message counts as heard."""

    def __init__(self, server: CentralSystem, cp_id: str, connection: ServerConnection) -> None:
        super().__init__(cp_id, connection, response_timeout=server.call_timeout, logger=server.wire)
        self.server = server
        self.events = server.events

    @handles(enums.Action.boot_notification)
    def on_boot(self, charge_point_vendor: str, charge_point_model: str, **_: Any) -> Any:
        self.server.heard()
        log.info("OCPP: %s %s booted", charge_point_vendor, charge_point_model)
        self.events.on_boot(charge_point_vendor, charge_point_model)
        return call_result.BootNotification(
            current_time=iso(datetime.now(UTC)),
            interval=self.server.heartbeat_interval,
            status=enums.RegistrationStatus.accepted,
        )

    @handles(enums.Action.heartbeat)
    def on_heartbeat(self, **_: Any) -> Any:
        self.server.heard()
        return call_result.Heartbeat(current_time=iso(datetime.now(UTC)))

    @handles(enums.Action.status_notification)
    def on_status(self, connector_id: int, error_code: str, status: str, **_: Any) -> Any:
        self.server.heard()
        self.events.on_status(connector_id, error_code, status)
        return call_result.StatusNotification()

    @handles(enums.Action.meter_values)
    def on_meter_values(
        self, connector_id: int, meter_value: Any, transaction_id: int | None = None, **_: Any
    ) -> Any:
        self.server.heard()
        self.events.on_meter_values(connector_id, meter_value, transaction_id)
        return call_result.MeterValues()

    @handles(enums.Action.authorize)
    def on_authorize(self, id_tag: str, **_: Any) -> Any:
        self.server.heard()
        return call_result.Authorize(id_tag_info=dt.IdTagInfo(status=enums.AuthorizationStatus.accepted))

    @handles(enums.Action.start_transaction)
    def on_start_transaction(self, connector_id: int, meter_start: int, **_: Any) -> Any:
        self.server.heard()
        return call_result.StartTransaction(
            transaction_id=self.events.on_start_transaction(connector_id, meter_start),
            id_tag_info=dt.IdTagInfo(status=enums.AuthorizationStatus.accepted),
        )

    @handles(enums.Action.stop_transaction)
    def on_stop_transaction(self, meter_stop: int, transaction_id: int, **_: Any) -> Any:
        self.server.heard()
        self.events.on_stop_transaction(meter_stop, transaction_id)
        return call_result.StopTransaction()

    @handles(enums.Action.data_transfer)
    def on_data_transfer(self, vendor_id: str, **_: Any) -> Any:
        self.server.heard()
        return call_result.DataTransfer(status=enums.DataTransferStatus.unknown_vendor_id)


class CentralSystem:
    """Listens from the first `serve` until `close`; `session` is the connected charge point, if any."""

    def __init__(
        self,
        events: ChargePointEvents,
        *,
        host: str,
        port: int,
        charge_point_id: str,
        password: SecretStr | None,
        heartbeat_interval: int,
        call_timeout: float,
        clock: Callable[[], float],
    ) -> None:
        self.events = events
        self.host, self.port, self.charge_point_id = host, port, charge_point_id
        self.password_set = password is not None
        self.heartbeat_interval = heartbeat_interval
        self.call_timeout = call_timeout
        self.clock = clock
        self.problems = Problems()
        self.wire = logging.getLogger("pvcontrol.wallbox.ocpp.wire")
        self.wire.addFilter(_WireLog(self.problems.add))
        self.admission = Admission(charge_point_id, password, log, clock)
        self.session: _ChargePointSession | None = None
        self.last_heard = clock()
        self._server: Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def heard(self) -> None:
        self.last_heard = self.clock()

    def silent_for(self) -> float:
        return self.clock() - self.last_heard

    async def serve(self) -> None:
        if self._server is not None:
            return
        try:
            self._server = await serve(
                self._connection,
                self.host,
                self.port,
                subprotocols=[Subprotocol("ocpp1.6")],
                ping_interval=20,
                logger=logging.getLogger("pvcontrol.wallbox.ocpp.ws"),
                process_request=self.admission.process_request(),
            )
        except OSError as e:
            raise DeviceError(f"OCPP: cannot listen on {self.host}:{self.port}: {e}") from e
        log.info("OCPP central system on ws://%s:%d/%s", self.host, self.port, self.charge_point_id)
        if not self.password_set:
            log.warning(
                "OCPP runs without a password: anyone on the network can connect as %s; set wallbox.password"
                " (security profile 1) if the charger supports it",
                self.charge_point_id,
            )

    async def _connection(self, connection: ServerConnection) -> None:
        cp_id = connection.request.path.rstrip("/").rsplit("/", 1)[-1] if connection.request else ""
        if cp_id != self.charge_point_id:
            log.warning("OCPP: refused charge point %r (expected %r)", cp_id[:40], self.charge_point_id)
            await connection.close(1008, "unknown charge point id")
            return
        if connection.subprotocol != "ocpp1.6":
            log.warning("OCPP: refused %s: it does not speak ocpp1.6", cp_id)
            await connection.close(1002, "ocpp1.6 required")
            return
        old = self.session
        if old is not None and not await self.admission.replaces(old._connection, connection):
            await connection.close(1008, "charge point already connected")
            return
        session = _ChargePointSession(self, cp_id, connection)
        self.session = session
        self.heard()
        log.info("OCPP: charge point %s connected from %s", cp_id, connection.remote_address[0])
        self.events.on_connected()
        try:
            await session.start()
        except websockets.ConnectionClosed as e:
            log.warning(
                "OCPP: charge point %s disconnected (%s)", cp_id, e.rcvd.code if e.rcvd else "no close frame"
            )
        finally:
            if self.session is session:
                self.session = None

    def spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        """Run a call to the charge point beside the message handler that asked for it (a handler must
        answer before the charge point answers our call)."""
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def call(self, payload: Any) -> Any:
        session = self.session
        if session is None:
            raise DeviceError(f"OCPP: charge point {self.charge_point_id} is not connected")
        name = type(payload).__name__
        try:
            result = await session.call(payload, suppress=False)
        except TimeoutError as e:
            raise DeviceError(f"OCPP: no answer to {name} within {self.call_timeout} s") from e
        except websockets.ConnectionClosed as e:
            raise DeviceError(f"OCPP: connection lost during {name}") from e
        except Exception as e:  # the library raises an OCPPError per CallError kind, and schema errors
            raise DeviceError(f"OCPP: {name} failed: {type(e).__name__} {e}"[:200]) from e
        return result

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
