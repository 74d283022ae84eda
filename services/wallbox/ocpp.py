"""OCPP 1.6J chargers: the wallbox service is the central system (a websocket server) for one charge point.

Current and start/stop go through one TxDefaultProfile in amperes on the connector: `limit` = max_current
while charging is allowed, 0 A while it is not. A 0 A profile pauses the car (SuspendedEVSE) but keeps the
transaction: the cable stays locked, the session's energy keeps counting, and charging resumes without a new
authorization; RemoteStopTransaction would end the session and many chargers then want an RFID card
again. RemoteStartTransaction is sent once when a car is plugged in without a running transaction, so a
charger that needs authorization starts one. With `phase_switching` native the profile carries
`numberPhases` (the service pauses charging and waits for no current first).

The transport (websocket server, auth, calls): ocpp_server.py; the connector's state folded from the
charge point's events into the reading: ocpp_connector.py; the payloads: ocpp_protocol.py. This adapter
joins them and sends the profile.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal

from ocpp.v16 import call, enums
from pydantic import Field, SecretStr

from pvcontrol.device import DeviceError
from pvcontrol.models import WallboxData
from services.wallbox.device import Measurements, Wallbox, WallboxBase
from services.wallbox.ocpp_connector import Connector, Offer
from services.wallbox.ocpp_protocol import OcppDataError, tx_default_profile
from services.wallbox.ocpp_server import CentralSystem

log = logging.getLogger("pvcontrol.wallbox.ocpp")


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


class OcppWallbox(Wallbox):
    def __init__(self, config: OcppWallboxConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self.server = CentralSystem(
            self,
            host=config.host,
            port=config.port,
            charge_point_id=config.charge_point_id,
            password=config.password,
            heartbeat_interval=config.heartbeat_interval,
            call_timeout=config.call_timeout,
            clock=clock,
        )
        self.connector = Connector(config.connector_id, clock, int(time.time()) % 1_000_000)
        self.offer = Offer(current=config.min_supported_current, phases=config.phases)

    # --- events from the charge point (through the server) ---------------------------------------

    def on_connected(self) -> None:
        self.server.spawn(self._apply())  # a charger that reconnects without booting gets our limit too

    def on_boot(self, vendor: str, model: str) -> None:
        self.server.spawn(self._apply())

    def on_status(self, connector_id: int, error_code: str, status: str) -> None:
        try:
            plugged_in_without_transaction = self.connector.on_status(connector_id, error_code, status)
        except OcppDataError as e:
            self.server.problems.add(str(e))
            return
        if plugged_in_without_transaction:
            self.server.spawn(self._remote_start())

    def on_meter_values(self, connector_id: int, meter_value: Any, transaction_id: int | None) -> None:
        try:
            self.connector.on_meter_values(connector_id, meter_value, transaction_id)
        except OcppDataError as e:
            self.server.problems.add(f"OCPP MeterValues: {e}")

    def on_start_transaction(self, connector_id: int, meter_start: int) -> int:
        return self.connector.on_start_transaction(connector_id, meter_start)

    def on_stop_transaction(self, meter_stop: int, transaction_id: int) -> None:
        self.connector.on_stop_transaction(meter_stop, transaction_id)

    # --- commands to the charge point ------------------------------------------------------------

    async def _send_profile(self, phases: int | None = None) -> None:
        if phases is None and self.config.phase_switching == "native":
            phases = self.offer.phases
        profile = tx_default_profile(self.offer.limit, phases, datetime.now(UTC))
        request = call.SetChargingProfile(connector_id=self.config.connector_id, cs_charging_profiles=profile)
        result = await self.server.call(request)
        if result.status != enums.ChargingProfileStatus.accepted:
            raise DeviceError(f"OCPP: charger answered {result.status} to SetChargingProfile")

    async def _apply(self) -> None:
        with contextlib.suppress(DeviceError):
            await self._send_profile()

    async def _remote_start(self) -> None:
        config = self.config
        request = call.RemoteStartTransaction(id_tag=config.id_tag, connector_id=config.connector_id)
        try:
            result = await self.server.call(request)
        except DeviceError as e:
            self.server.problems.add(str(e))
            return
        if result.status != enums.RemoteStartStopStatus.accepted:
            log.info("OCPP: the charger refused RemoteStartTransaction (it may start by itself)")

    # --- the Wallbox interface -------------------------------------------------------------------

    async def read(self) -> WallboxData:
        await self.server.serve()
        problem = self.server.problems.take()
        if problem is not None:
            raise DeviceError(problem)
        if self.server.session is None:
            raise DeviceError(f"OCPP: charge point {self.config.charge_point_id} is not connected")
        silent = self.server.silent_for()
        if silent > self.config.stale_after:
            raise DeviceError(f"OCPP: nothing from the charge point for {silent:.0f} s")
        return self.connector.reading(self.offer, self.config.line_voltage, time.time())

    def measurements(self) -> Measurements | None:
        return self.connector.measured

    async def set_max_current(self, amperes: int) -> None:
        previous, self.offer.current = self.offer.current, amperes
        if self.offer.allowed and previous != amperes:
            await self._send_profile()

    async def allow_charging(self, allowed: bool) -> None:
        self.offer.allowed = allowed  # kept even if the charger is away: applied when it connects
        await self._send_profile()

    async def set_phases(self, phases: int) -> None:
        if self.config.phase_switching != "native":
            raise DeviceError("OCPP: phase_switching is not native")
        await self._send_profile(phases)
        self.offer.phases = phases

    async def reset(self) -> None:
        result = await self.server.call(call.Reset(type=enums.ResetType.soft))
        if result.status != enums.ResetStatus.accepted:
            raise DeviceError(f"OCPP: charger answered {result.status} to Reset")

    async def close(self) -> None:
        await self.server.close()
