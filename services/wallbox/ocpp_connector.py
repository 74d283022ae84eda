"""The charge point's connector as its OCPP 1.6 events tell it: StatusNotification, MeterValues, Start- and
StopTransaction fold into one state, and that state with what we asked for (`Offer`) into `WallboxData`.

No sockets, no tasks: each event is a method call with the decoded (snake_case) payload and the time it
came on the adapter's monotonic clock, so the fold is tested with tables of events
(tests/devices/test_ocpp_connector.py). Sending commands is the adapter's (ocpp.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pvcontrol.models import CarStatus, WallboxData
from services.wallbox.device import Measurements, is_drawing
from services.wallbox.ocpp_protocol import (
    CONTACTOR_CLOSED,
    Sample,
    car_status,
    parse_meter_values,
    phases_out,
    wb_error,
)

log = logging.getLogger("pvcontrol.wallbox.ocpp")


@dataclass
class Offer:
    """What we asked the charger for: the TxDefaultProfile's current while charging is allowed (0 A while
    it is not), and the supply phases (changed only by an accepted numberPhases)."""

    current: int
    phases: int
    allowed: bool = False

    @property
    def limit(self) -> float:
        """A, the profile's limit."""
        return float(self.current if self.allowed else 0)


class Connector:
    """One connector of the charge point; events for other connectors are ignored (a Faulted or
    Unavailable connector 0, the whole charger, still sets the error code)."""

    def __init__(self, connector_id: int, clock: Callable[[], float], first_transaction_id: int = 0) -> None:
        self.connector_id = connector_id
        self.clock = clock
        self.status = "Available"
        self.status_at = clock()
        self.error_code = "NoError"
        self.sample = Sample()
        self.sample_at: float | None = None  # when the last MeterValues with power or currents came
        self.measured: Measurements | None = None
        self.transaction: int | None = None
        self.meter_start = 0.0
        self.session_energy = 0.0  # Wh of the last transaction, kept until the car leaves
        self.last_transaction_id = first_transaction_id
        self.remote_start_sent = False

    def on_status(self, connector_id: int, error_code: str, status: str) -> bool:
        """Whether to send RemoteStartTransaction now: a car was plugged in without a transaction (once
        per plug-in). Raises `OcppDataError` for a status OCPP 1.6 does not know (the state is kept)."""
        if connector_id == 0 and status in ("Faulted", "Unavailable"):
            self.error_code = error_code if status == "Faulted" else self.error_code
        if connector_id != self.connector_id:
            return False
        car_status(status)
        if status != self.status:
            self.status_at = self.clock()
        self.status = status
        self.error_code = error_code
        if status == "Available":
            self.transaction = None
            self.session_energy = 0.0
            self.remote_start_sent = False
            self.sample = Sample(energy=self.sample.energy)
            self.meter_start = self.sample.energy or 0.0
        if status == "Preparing" and self.transaction is None and not self.remote_start_sent:
            self.remote_start_sent = True
            return True
        return False

    def on_meter_values(self, connector_id: int, meter_value: Any, transaction_id: int | None) -> None:
        """Raises `OcppDataError` for values that are no numbers (the state is kept)."""
        if connector_id != self.connector_id:
            return
        sample = parse_meter_values(meter_value)
        if self.transaction is None and transaction_id is not None:
            # started before this service ran: its energy counts from now on
            log.info("OCPP: taking over transaction %d", transaction_id)
            self.transaction = transaction_id
            self.meter_start = sample.energy if sample.energy is not None else self.sample.energy or 0.0
        if sample.power is not None or sample.currents:
            at = self.clock()
            self.sample_at = at
            drawing = is_drawing(list(sample.currents.values()), sample.power)
            self.measured = (self.measured or Measurements(at, None)).seen(at, drawing)
        self.sample = Sample(
            power=sample.power if sample.power is not None else self.sample.power,
            energy=sample.energy if sample.energy is not None else self.sample.energy,
            currents=sample.currents or self.sample.currents,
            temperature=sample.temperature if sample.temperature is not None else self.sample.temperature,
        )

    def on_start_transaction(self, connector_id: int, meter_start: int) -> int:
        """The transaction id to answer with (a new one for every start, on any connector)."""
        self.last_transaction_id += 1
        if connector_id == self.connector_id:
            self.transaction = self.last_transaction_id
            self.meter_start = float(meter_start)
            self.sample = Sample(energy=float(meter_start))
        return self.last_transaction_id

    def on_stop_transaction(self, meter_stop: int, transaction_id: int) -> None:
        if transaction_id == self.transaction:
            self.transaction = None
            self.session_energy = max(0.0, meter_stop - self.meter_start)
            self.sample = Sample(energy=float(meter_stop))

    def reading(self, offer: Offer, line_voltage: float, ts: float) -> WallboxData:
        status = car_status(self.status)
        closed = self.status in CONTACTOR_CLOSED
        # MeterValues newer than the status win over it: after "SuspendedEVSE" the car may still draw
        # for seconds, and a phase switch must see that.
        live = closed or (self.sample_at is not None and self.sample_at >= self.status_at)
        power = self.sample.power if live and self.sample.power is not None else 0.0
        if status == CarStatus.Charging and self.sample.power is None:
            # Charging, but no MeterValues yet: assume the offered current, never "no load"
            power = offer.current * offer.phases * line_voltage
        energy = self.sample.energy or 0.0
        return WallboxData(
            ts=ts,
            wb_error=wb_error(self.status, self.error_code),
            car_status=status,
            max_current=offer.current,
            allow_charging=offer.allowed,
            phases_in=offer.phases,
            phases_out=phases_out(self.sample.currents, closed, offer.phases, live),
            power=power,
            charged_energy=self._charged(energy) if status != CarStatus.NoVehicle else 0.0,
            total_energy=energy,
            temperature=self.sample.temperature or 0.0,
        )

    def _charged(self, energy: float) -> float:
        if self.transaction is None:
            return self.session_energy
        return max(0.0, energy - self.meter_start)
