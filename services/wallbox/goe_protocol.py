"""Decoding of the go-e charger's status documents, API v1 (hardware v2/v3) and API v2 (hardware v3+).

Pure functions: a status dict in, a WallboxData out, DeviceError on anything unexpected.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from pvcontrol.device import DeviceError
from pvcontrol.models import CarStatus, WallboxData, WbError

# API v1 `err`: the codes the charger documents, identical to WbError.
V1_ERRORS = {0: WbError.OK, 1: WbError.RCCB, 3: WbError.PHASE, 8: WbError.NO_GROUND, 10: WbError.INTERNAL}

# API v2 `err`: None=0, FiAc=1, FiDc=2, Phase=3, Overvolt=4, Overamp=5, Diode=6, PpInvalid=7, GndInvalid=8,
# ContactorStuck=9, ContactorMiss=10, FiUnknown=11, Unknown=12, Overtemp=13, NoComm=14,
# StatusLockStuckOpen=15, StatusLockStuckLocked=16.
V2_ERRORS = {
    0: WbError.OK,
    1: WbError.RCCB,
    2: WbError.RCCB,
    3: WbError.PHASE,
    8: WbError.NO_GROUND,
    11: WbError.RCCB,
} | {code: WbError.INTERNAL for code in (4, 5, 6, 7, 9, 10, 12, 13, 14, 15, 16)}

# API v2 `car`: Unknown/Error=0, Idle=1, Charging=2, WaitCar=3, Complete=4, Error=5.
V2_CAR_ERROR = (0, 5)

# The keys read with API v2 (`/api/status?filter=...`).
V2_STATUS_KEYS = ("alw", "amp", "car", "err", "frc", "pha", "nrg", "wh", "eto", "tma", "tmp")


def _number(status: Mapping[str, Any], key: str) -> float:
    value = status.get(key)
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError) as e:
        raise DeviceError(f"go-e status: {key}={value!r} is not a number") from e


def _int(status: Mapping[str, Any], key: str) -> int:
    number = _number(status, key)
    if not number.is_integer():
        raise DeviceError(f"go-e status: {key}={number!r} is not an integer")
    return int(number)


def _numbers(status: Mapping[str, Any], key: str, length: int) -> list[float]:
    values = status.get(key)
    if not isinstance(values, Sequence) or isinstance(values, str) or len(values) < length:
        raise DeviceError(f"go-e status: {key} is not an array of {length} numbers")
    return [_number({key: v}, key) for v in values]


def _phases(in_bits: int, out_bits: int) -> tuple[int, int]:
    phases_in = bin(in_bits & 0b111).count("1")
    return phases_in, min(bin(out_bits & 0b111).count("1"), phases_in)


def _temperature(status: Mapping[str, Any]) -> float:
    """min(`tma`) on chargers with several sensors (a sensor may report null), else `tmp`."""
    tma = status.get("tma")
    if isinstance(tma, Sequence) and not isinstance(tma, str):
        readings = [v for v in tma if v is not None]
        if readings:
            return min(_number({"tma": v}, "tma") for v in readings)
    return _number(status, "tmp")


def _require_mapping(status: Any) -> Mapping[str, Any]:
    if not isinstance(status, Mapping):
        raise DeviceError("go-e status is not a JSON object")
    return status


def decode_v1(document: Any) -> WallboxData:
    """API v1: values are JSON strings, energies in odd units (dws: deca-watt-seconds, eto: 0.1 kWh)."""
    status = _require_mapping(document)
    car = _int(status, "car")
    if car not in (1, 2, 3, 4):
        raise DeviceError(f"go-e status: unknown car state {car}")
    err = _int(status, "err")
    if err not in V1_ERRORS:
        raise DeviceError(f"go-e status: unknown error code {err}")
    pha = _int(status, "pha")
    phases_in, phases_out = _phases(pha >> 3, pha)
    nrg = _numbers(status, "nrg", 12)
    return WallboxData(
        ts=time.time(),
        wb_error=V1_ERRORS[err],
        car_status=CarStatus(car),
        max_current=_int(status, "amp"),
        allow_charging=status.get("alw") in ("1", 1),
        phases_in=phases_in,
        phases_out=phases_out,
        power=nrg[11] * 10,
        charged_energy=_number(status, "dws") / 360,
        total_energy=_number(status, "eto") * 100,
        temperature=_temperature(status),
    )


def decode_v2(document: Any) -> WallboxData:
    """API v2: typed JSON, energies in Wh, `nrg` in V/A/W, `pha` six booleans (L1..L3 out, L1..L3 in)."""
    status = _require_mapping(document)
    car = status.get("car")
    err = status.get("err")
    if car is None or err is None:
        # null means an internal error of the charger
        return _v2_data(status, CarStatus.NoVehicle, WbError.INTERNAL)
    car, err = _int(status, "car"), _int(status, "err")
    if err not in V2_ERRORS:
        raise DeviceError(f"go-e status: unknown error code {err}")
    if car in V2_CAR_ERROR:
        wb_error = V2_ERRORS[err] if err else WbError.INTERNAL
        return _v2_data(status, CarStatus.NoVehicle, wb_error)
    if car not in (1, 2, 3, 4):
        raise DeviceError(f"go-e status: unknown car state {car}")
    return _v2_data(status, CarStatus(car), V2_ERRORS[err])


def _v2_data(status: Mapping[str, Any], car: CarStatus, wb_error: WbError) -> WallboxData:
    pha = status.get("pha")
    if not isinstance(pha, Sequence) or isinstance(pha, str) or len(pha) != 6:
        raise DeviceError("go-e status: pha is not an array of 6 booleans")
    out_bits = sum(1 << i for i in range(3) if pha[i])
    in_bits = sum(1 << i for i in range(3) if pha[i + 3])
    phases_in, phases_out = _phases(in_bits, out_bits)
    alw = status.get("alw")
    if not isinstance(alw, bool):
        raise DeviceError(f"go-e status: alw={alw!r} is not a boolean")
    return WallboxData(
        ts=time.time(),
        wb_error=wb_error,
        car_status=car,
        max_current=_int(status, "amp"),
        allow_charging=alw,
        phases_in=phases_in,
        phases_out=phases_out,
        power=_numbers(status, "nrg", 12)[11],
        charged_energy=_number(status, "wh"),
        total_energy=_number(status, "eto"),
        temperature=_temperature(status),
    )


def measured_currents(document: Any, api: str) -> list[float]:
    """A per phase L1..L3 as the charger measured them (`nrg` 4..6: v1 in 0.1 A, v2 in A), not what its
    status says; call after `decode_v1`/`decode_v2` accepted the document."""
    nrg = _numbers(_require_mapping(document), "nrg", 12)
    scale = 0.1 if api == "v1" else 1.0
    return [amperes * scale for amperes in nrg[4:7]]
