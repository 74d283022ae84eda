"""OCPP 1.6J chargers: the wallbox service is the central system (a websocket server) for one charge point.

Current and start/stop go through one TxDefaultProfile in amperes on the connector: `limit` = max_current
while charging is allowed, 0 A while it is not. A 0 A profile pauses the car (SuspendedEVSE) but keeps the
transaction: the cable stays locked, the session's energy keeps counting, and charging resumes without a new
authorization; RemoteStopTransaction would end the session and many chargers then want an RFID card
again. RemoteStartTransaction is sent once when a car is plugged in without a running transaction, so a
charger that needs authorization starts one. With `phase_switching` native the profile carries
`numberPhases` (the service pauses charging and waits for no current first).

Who may connect (the password, one connection per charge point id): ocpp_auth.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, TypeVar

import websockets
from ocpp.routing import on
from ocpp.v16 import call, call_result, enums
from ocpp.v16 import datatypes as dt
from pydantic import Field, SecretStr
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.typing import Subprotocol

from pvcontrol.device import DeviceError
from pvcontrol.models import CarStatus, WallboxData
from services.wallbox.device import Measurements, Wallbox, WallboxBase, is_drawing
from services.wallbox.ocpp_auth import Admission
from services.wallbox.ocpp_protocol import (
    CONTACTOR_CLOSED,
    OcppDataError,
    Sample,
    car_status,
    parse_meter_values,
    phases_out,
    wb_error,
)
from services.wallbox.ocpp_routing import RobustChargePoint

log = logging.getLogger("pvcontrol.wallbox.ocpp")
logging.getLogger("pvcontrol.wallbox.ocpp.ws").setLevel(logging.WARNING)  # no line per connection
PROFILE_ID = 1
F = TypeVar("F", bound=Callable[..., Any])


def handles(action: enums.Action) -> Callable[[F], F]:
    """The library's untyped `on`, typed."""
    decorator: Callable[[F], F] = on(action)
    return decorator


class OcppWallboxConfig(WallboxBase):
    type: Literal["OcppWallbox"] = "OcppWallbox"
    host: str = "0.0.0.0"  # noqa: S104 - the charger connects from the LAN
    port: int = Field(default=9000, ge=0, le=65535)
    charge_point_id: str = Field(min_length=1, description="the charger connects to ws://host:port/<id>")
    connector_id: int = Field(default=1, ge=1)
    id_tag: str = Field(default="pvcontrol", min_length=1, max_length=20)
    phase_switching: Literal["none", "native", "relay"] = "none"
    phases: Literal[1, 3] = Field(default=3, description="supply phases until a numberPhases was accepted")
    line_voltage: float = Field(default=230.0, gt=0, description="V, for the power before MeterValues")
    heartbeat_interval: int = Field(default=60, ge=1, description="s, told to the charger at boot")
    stale_after: float = Field(default=180.0, gt=0, description="s without any message: a read error")
    call_timeout: float = Field(default=10.0, gt=0, description="s to wait for the charger's answer")
    password: SecretStr | None = Field(
        default=None, description="OCPP security profile 1: HTTP Basic auth, user = charge_point_id"
    )


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


class _CentralSystem(RobustChargePoint):
    """The library's message routing; every event goes to `OcppWallbox`."""

    def __init__(self, wallbox: OcppWallbox, cp_id: str, connection: ServerConnection) -> None:
        super().__init__(cp_id, connection, response_timeout=wallbox.config.call_timeout, logger=wallbox.wire)
        self.wallbox = wallbox

    @handles(enums.Action.boot_notification)
    def on_boot(self, charge_point_vendor: str, charge_point_model: str, **_: Any) -> Any:
        self.wallbox.on_boot(charge_point_vendor, charge_point_model)
        return call_result.BootNotification(
            current_time=_iso(datetime.now(UTC)),
            interval=self.wallbox.config.heartbeat_interval,
            status=enums.RegistrationStatus.accepted,
        )

    @handles(enums.Action.heartbeat)
    def on_heartbeat(self, **_: Any) -> Any:
        self.wallbox.heard()
        return call_result.Heartbeat(current_time=_iso(datetime.now(UTC)))

    @handles(enums.Action.status_notification)
    def on_status(self, connector_id: int, error_code: str, status: str, **_: Any) -> Any:
        self.wallbox.on_status(connector_id, error_code, status)
        return call_result.StatusNotification()

    @handles(enums.Action.meter_values)
    def on_meter_values(
        self, connector_id: int, meter_value: Any, transaction_id: int | None = None, **_: Any
    ) -> Any:
        self.wallbox.on_meter_values(connector_id, meter_value, transaction_id)
        return call_result.MeterValues()

    @handles(enums.Action.authorize)
    def on_authorize(self, id_tag: str, **_: Any) -> Any:
        self.wallbox.heard()
        return call_result.Authorize(id_tag_info=dt.IdTagInfo(status=enums.AuthorizationStatus.accepted))

    @handles(enums.Action.start_transaction)
    def on_start_transaction(self, connector_id: int, meter_start: int, **_: Any) -> Any:
        transaction_id = self.wallbox.on_start_transaction(connector_id, meter_start)
        return call_result.StartTransaction(
            transaction_id=transaction_id,
            id_tag_info=dt.IdTagInfo(status=enums.AuthorizationStatus.accepted),
        )

    @handles(enums.Action.stop_transaction)
    def on_stop_transaction(self, meter_stop: int, transaction_id: int, **_: Any) -> Any:
        self.wallbox.on_stop_transaction(meter_stop, transaction_id)
        return call_result.StopTransaction()

    @handles(enums.Action.data_transfer)
    def on_data_transfer(self, vendor_id: str, **_: Any) -> Any:
        self.wallbox.heard()
        return call_result.DataTransfer(status=enums.DataTransferStatus.unknown_vendor_id)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class OcppWallbox(Wallbox):
    def __init__(self, config: OcppWallboxConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self.clock = clock
        self.wire = logging.getLogger("pvcontrol.wallbox.ocpp.wire")
        self.wire.addFilter(_WireLog(self._problem))
        self._server: Server | None = None
        self._cp: _CentralSystem | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._problems: list[str] = []  # the first problem since the last read, and how many came
        self._problem_count = 0
        self.admission = Admission(config.charge_point_id, config.password, log, clock)
        self._last_heard = clock()
        # what the charger reported
        self._status = "Available"
        self._status_at = clock()
        self._error_code = "NoError"
        self._sample = Sample()
        self._sample_at: float | None = None  # when the last MeterValues with power or currents came
        self._measurements: Measurements | None = None
        self._transaction: int | None = None
        self._meter_start = 0.0
        self._session_energy = 0.0  # Wh of the last transaction, kept until the car leaves
        self._next_transaction = int(time.time()) % 1_000_000
        # what we asked for
        self._current = config.min_supported_current
        self._allowed = False
        self._phases: int = config.phases
        self._remote_start_sent = False

    # --- server and connection ---------------------------------------------------------------

    async def _serve(self) -> None:
        if self._server is not None:
            return
        try:
            self._server = await serve(
                self._connection,
                self.config.host,
                self.config.port,
                subprotocols=[Subprotocol("ocpp1.6")],
                ping_interval=20,
                logger=logging.getLogger("pvcontrol.wallbox.ocpp.ws"),
                process_request=self.admission.process_request(),
            )
        except OSError as e:
            raise DeviceError(f"OCPP: cannot listen on {self.config.host}:{self.config.port}: {e}") from e
        log.info(
            "OCPP central system on ws://%s:%d/%s",
            self.config.host,
            self.config.port,
            self.config.charge_point_id,
        )
        if self.config.password is None:
            log.warning(
                "OCPP runs without a password: anyone on the network can connect as %s; set wallbox.password"
                " (security profile 1) if the charger supports it",
                self.config.charge_point_id,
            )

    async def _connection(self, connection: ServerConnection) -> None:
        cp_id = connection.request.path.rstrip("/").rsplit("/", 1)[-1] if connection.request else ""
        if cp_id != self.config.charge_point_id:
            log.warning(
                "OCPP: refused charge point %r (expected %r)", cp_id[:40], self.config.charge_point_id
            )
            await connection.close(1008, "unknown charge point id")
            return
        if connection.subprotocol != "ocpp1.6":
            log.warning("OCPP: refused %s: it does not speak ocpp1.6", cp_id)
            await connection.close(1002, "ocpp1.6 required")
            return
        if self._cp is not None and not await self.admission.replaces(self._cp._connection, connection):
            await connection.close(1008, "charge point already connected")
            return
        cp = _CentralSystem(self, cp_id, connection)
        self._cp = cp
        self.heard()
        log.info("OCPP: charge point %s connected from %s", cp_id, connection.remote_address[0])
        self._spawn(self._apply())  # a charger that reconnects without booting gets our limit too
        try:
            await cp.start()
        except websockets.ConnectionClosed as e:
            log.warning(
                "OCPP: charge point %s disconnected (%s)", cp_id, e.rcvd.code if e.rcvd else "no close frame"
            )
        finally:
            if self._cp is cp:
                self._cp = None

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _problem(self, message: str) -> None:
        if not self._problems:
            self._problems.append(message)
        self._problem_count += 1

    def heard(self) -> None:
        self._last_heard = self.clock()

    # --- events from the charge point --------------------------------------------------------

    def on_boot(self, vendor: str, model: str) -> None:
        self.heard()
        log.info("OCPP: %s %s booted", vendor, model)
        self._spawn(self._apply())

    def on_status(self, connector_id: int, error_code: str, status: str) -> None:
        self.heard()
        if connector_id == 0 and status in ("Faulted", "Unavailable"):
            self._error_code = error_code if status == "Faulted" else self._error_code
        if connector_id != self.config.connector_id:
            return
        try:
            car_status(status)
        except OcppDataError as e:
            self._problem(str(e))
            return
        if status != self._status:
            self._status_at = self.clock()
        self._status = status
        self._error_code = error_code
        if status == "Available":
            self._transaction = None
            self._session_energy = 0.0
            self._remote_start_sent = False
            self._sample = Sample(energy=self._sample.energy)
            self._meter_start = self._sample.energy or 0.0
        if status == "Preparing" and self._transaction is None and not self._remote_start_sent:
            self._remote_start_sent = True
            self._spawn(self._remote_start())

    def on_meter_values(self, connector_id: int, meter_value: Any, transaction_id: int | None) -> None:
        self.heard()
        if connector_id != self.config.connector_id:
            return
        try:
            sample = parse_meter_values(meter_value)
        except OcppDataError as e:
            self._problem(f"OCPP MeterValues: {e}")
            return
        if self._transaction is None and transaction_id is not None:
            # started before this service ran: its energy counts from now on
            log.info("OCPP: taking over transaction %d", transaction_id)
            self._transaction = transaction_id
            self._meter_start = sample.energy if sample.energy is not None else self._sample.energy or 0.0
        if sample.power is not None or sample.currents:
            at = self.clock()
            self._sample_at = at
            drawing = is_drawing(list(sample.currents.values()), sample.power)
            self._measurements = (self._measurements or Measurements(at, None)).seen(at, drawing)
        self._sample = Sample(
            power=sample.power if sample.power is not None else self._sample.power,
            energy=sample.energy if sample.energy is not None else self._sample.energy,
            currents=sample.currents or self._sample.currents,
            temperature=sample.temperature if sample.temperature is not None else self._sample.temperature,
        )

    def on_start_transaction(self, connector_id: int, meter_start: int) -> int:
        self.heard()
        self._next_transaction += 1
        if connector_id == self.config.connector_id:
            self._transaction = self._next_transaction
            self._meter_start = float(meter_start)
            self._sample = Sample(energy=float(meter_start))
        return self._next_transaction

    def on_stop_transaction(self, meter_stop: int, transaction_id: int) -> None:
        self.heard()
        if transaction_id == self._transaction:
            self._transaction = None
            self._session_energy = max(0.0, meter_stop - self._meter_start)
            self._sample = Sample(energy=float(meter_stop))

    # --- commands to the charge point --------------------------------------------------------

    async def _call(self, payload: Any) -> Any:
        cp = self._cp
        if cp is None:
            raise DeviceError(f"OCPP: charge point {self.config.charge_point_id} is not connected")
        name = type(payload).__name__
        try:
            result = await cp.call(payload, suppress=False)
        except TimeoutError as e:
            raise DeviceError(f"OCPP: no answer to {name} within {self.config.call_timeout} s") from e
        except websockets.ConnectionClosed as e:
            raise DeviceError(f"OCPP: connection lost during {name}") from e
        except Exception as e:  # the library raises an OCPPError per CallError kind, and schema errors
            raise DeviceError(f"OCPP: {name} failed: {type(e).__name__} {e}"[:200]) from e
        return result

    def _profile(self, phases: int | None) -> dt.ChargingProfile:
        limit = float(self._current if self._allowed else 0)
        start = datetime.now(UTC) - timedelta(minutes=1)
        period = dt.ChargingSchedulePeriod(start_period=0, limit=limit, number_phases=phases)
        return dt.ChargingProfile(
            charging_profile_id=PROFILE_ID,
            stack_level=0,
            charging_profile_purpose=enums.ChargingProfilePurposeType.tx_default_profile,
            charging_profile_kind=enums.ChargingProfileKindType.absolute,
            charging_schedule=dt.ChargingSchedule(
                charging_rate_unit=enums.ChargingRateUnitType.amps,
                charging_schedule_period=[period],
                start_schedule=_iso(start),
            ),
        )

    async def _send_profile(self, phases: int | None = None) -> None:
        if phases is None and self.config.phase_switching == "native":
            phases = self._phases
        request = call.SetChargingProfile(
            connector_id=self.config.connector_id, cs_charging_profiles=self._profile(phases)
        )
        result = await self._call(request)
        if result.status != enums.ChargingProfileStatus.accepted:
            raise DeviceError(f"OCPP: charger answered {result.status} to SetChargingProfile")

    async def _apply(self) -> None:
        with contextlib.suppress(DeviceError):
            await self._send_profile()

    async def _remote_start(self) -> None:
        request = call.RemoteStartTransaction(
            id_tag=self.config.id_tag, connector_id=self.config.connector_id
        )
        try:
            result = await self._call(request)
        except DeviceError as e:
            self._problem(str(e))
            return
        if result.status != enums.RemoteStartStopStatus.accepted:
            log.info("OCPP: the charger refused RemoteStartTransaction (it may start by itself)")

    async def read(self) -> WallboxData:
        await self._serve()
        if self._problems:
            problem, count = self._problems[0], self._problem_count
            self._problems, self._problem_count = [], 0
            raise DeviceError(problem if count == 1 else f"{problem} (and {count - 1} more problems)")
        if self._cp is None:
            raise DeviceError(f"OCPP: charge point {self.config.charge_point_id} is not connected")
        silent = self.clock() - self._last_heard
        if silent > self.config.stale_after:
            raise DeviceError(f"OCPP: nothing from the charge point for {silent:.0f} s")
        status = car_status(self._status)
        closed = self._status in CONTACTOR_CLOSED
        # MeterValues newer than the status win over it: after "SuspendedEVSE" the car may still draw
        # for seconds, and a phase switch must see that.
        live = closed or (self._sample_at is not None and self._sample_at >= self._status_at)
        power = self._sample.power if live and self._sample.power is not None else 0.0
        if status == CarStatus.Charging and self._sample.power is None:
            # Charging, but no MeterValues yet: assume the offered current, never "no load"
            power = self._current * self._phases * self.config.line_voltage
        energy = self._sample.energy or 0.0
        return WallboxData(
            ts=time.time(),
            wb_error=wb_error(self._status, self._error_code),
            car_status=status,
            max_current=self._current,
            allow_charging=self._allowed,
            phases_in=self._phases,
            phases_out=phases_out(self._sample.currents, closed, self._phases, live),
            power=power,
            charged_energy=self._charged(energy) if status != CarStatus.NoVehicle else 0.0,
            total_energy=energy,
            temperature=self._sample.temperature or 0.0,
        )

    def measurements(self) -> Measurements | None:
        return self._measurements

    def _charged(self, energy: float) -> float:
        if self._transaction is None:
            return self._session_energy
        return max(0.0, energy - self._meter_start)

    async def set_max_current(self, amperes: int) -> None:
        previous, self._current = self._current, amperes
        if self._allowed and previous != amperes:
            await self._send_profile()

    async def allow_charging(self, allowed: bool) -> None:
        self._allowed = allowed  # kept even if the charger is away: applied when it connects
        await self._send_profile()

    async def set_phases(self, phases: int) -> None:
        if self.config.phase_switching != "native":
            raise DeviceError("OCPP: phase_switching is not native")
        await self._send_profile(phases)
        self._phases = phases

    async def reset(self) -> None:
        result = await self._call(call.Reset(type=enums.ResetType.soft))
        if result.status != enums.ResetStatus.accepted:
            raise DeviceError(f"OCPP: charger answered {result.status} to Reset")

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
