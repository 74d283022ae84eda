"""OCPP 1.6J data as pv-control needs it: connector status to car status, MeterValues to numbers, our
current and phases to a TxDefaultProfile.

Pure functions over the decoded (snake_case) payloads, so they are tested without a socket.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ocpp.v16 import datatypes as dt
from ocpp.v16 import enums

from pvcontrol.models import CarStatus, WbError

# StatusNotification.status of the connector -> what the car does
CAR_STATUS = {
    "Available": CarStatus.NoVehicle,
    "Unavailable": CarStatus.NoVehicle,
    "Reserved": CarStatus.NoVehicle,
    "Preparing": CarStatus.WaitingForVehicle,  # plugged in, no energy yet
    "Charging": CarStatus.Charging,
    "SuspendedEVSE": CarStatus.WaitingForVehicle,  # the charger offers no current (our 0 A profile)
    "SuspendedEV": CarStatus.ChargingFinished,  # offered, but the car takes none (full or its own timer)
    "Finishing": CarStatus.ChargingFinished,
    "Faulted": CarStatus.NoVehicle,
}
ERRORS = {"NoError": WbError.OK, "GroundFailure": WbError.NO_GROUND}  # anything else: INTERNAL
PROFILE_ID = 1
UNIT_FACTOR = {"W": 1.0, "kW": 1000.0, "Wh": 1.0, "kWh": 1000.0, "A": 1.0, "V": 1.0, "Celsius": 1.0}


class OcppDataError(ValueError):
    """A payload the charger should not have sent (an unknown status, a value that is no number)."""


@dataclass
class Sample:
    """The values of one MeterValues message we use; None where the charger sent none."""

    power: float | None = None  # W, Power.Active.Import (the sum, or the sum of the phases)
    energy: float | None = None  # Wh, Energy.Active.Import.Register
    currents: dict[str, float] = field(default_factory=dict)  # A per phase L1..L3, Current.Import
    temperature: float | None = None


def _number(sampled: dict[str, Any]) -> float:
    raw = sampled.get("value")
    unit = sampled.get("unit") or ("Wh" if sampled.get("measurand") is None else "")
    try:
        value = float(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise OcppDataError(f"sampled value {raw!r} is not a number") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise OcppDataError(f"sampled value {raw!r} is not finite")
    return value * UNIT_FACTOR.get(unit, 1.0)


def parse_meter_values(meter_value: Any) -> Sample:
    """The last reading of each measurand over all MeterValue entries (they are in time order)."""
    if not isinstance(meter_value, list):
        raise OcppDataError("meter_value is not a list")
    sample = Sample()
    phase_power: dict[str, float] = {}
    for entry in meter_value:
        values = entry.get("sampled_value") if isinstance(entry, dict) else None
        if not isinstance(values, list):
            raise OcppDataError("a MeterValue without sampled_value")
        for sampled in values:
            if not isinstance(sampled, dict):
                raise OcppDataError("a sampled value that is no object")
            measurand = sampled.get("measurand") or "Energy.Active.Import.Register"
            phase = str(sampled.get("phase") or "")[:2]  # "L1-N" -> "L1"
            if measurand == "Energy.Active.Import.Register" and not phase:
                sample.energy = _number(sampled)
            elif measurand == "Power.Active.Import":
                if phase:
                    phase_power[phase] = _number(sampled)
                else:
                    sample.power = _number(sampled)
            elif measurand == "Current.Import" and phase in ("L1", "L2", "L3"):
                sample.currents[phase] = _number(sampled)
            elif measurand == "Temperature":
                sample.temperature = _number(sampled)
    if sample.power is None and phase_power:
        sample.power = sum(phase_power.values())
    return sample


def car_status(status: str) -> CarStatus:
    try:
        return CAR_STATUS[status]
    except KeyError:
        raise OcppDataError(f"unknown connector status {status!r}") from None


def wb_error(status: str, error_code: str) -> WbError:
    if status == "Faulted" and error_code == "NoError":
        return WbError.INTERNAL
    return ERRORS.get(error_code, WbError.INTERNAL)


CONTACTOR_CLOSED = frozenset({"Charging", "SuspendedEV"})  # SuspendedEV: offered, the car takes none


def phases_out(
    currents: dict[str, float], contactor_closed: bool, phases_in: int, measured: bool = False
) -> int:
    """Phases behind the closed contactor: those carrying current, and all supply phases while none does
    (a closed contactor never counts as idle: the phase-switch interlocks rely on it). With the contactor
    reported open, the phases that `measured` currents (newer than that status) still show carrying."""
    carrying = sum(1 for amperes in currents.values() if amperes > 0.5)
    if not contactor_closed:
        return min(carrying, phases_in) if measured else 0
    return carrying or phases_in


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def tx_default_profile(limit: float, phases: int | None, now: datetime) -> dt.ChargingProfile:
    """One profile for every transaction on the connector: `limit` A, starting a minute before `now`;
    `phases` (numberPhases) only with native phase switching."""
    period = dt.ChargingSchedulePeriod(start_period=0, limit=limit, number_phases=phases)
    return dt.ChargingProfile(
        charging_profile_id=PROFILE_ID,
        stack_level=0,
        charging_profile_purpose=enums.ChargingProfilePurposeType.tx_default_profile,
        charging_profile_kind=enums.ChargingProfileKindType.absolute,
        charging_schedule=dt.ChargingSchedule(
            charging_rate_unit=enums.ChargingRateUnitType.amps,
            charging_schedule_period=[period],
            start_schedule=iso(now - timedelta(minutes=1)),
        ),
    )
