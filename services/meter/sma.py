"""SMA Sunny Tripower (with SMA Energy Meter / Home Manager) through its WebConnect JSON API over HTTPS.

A small own client instead of pysma-plus: three endpoints, the configured timeout, one session kept open
between reads and only opened again after the inverter rejected it (inverters allow few sessions).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field, SecretStr
from urllib3.exceptions import InsecureRequestWarning

from pvcontrol.device import DeviceError, json_number
from pvcontrol.http_client import JsonHttpClient
from pvcontrol.models import MeterData
from services.meter.device import Meter, MeterBase
from services.meter.flows import meter_data_from_flows

log = logging.getLogger(__name__)

LOGIN = "/dyn/login.json"
LOGOUT = "/dyn/logout.json"
VALUES = "/dyn/getValues.json"
RIGHTS = {"user": "usr", "installer": "istl"}
LOGIN_ERRORS = {401: "(wrong password?)", 503: "(too many open sessions)"}

PV_POWER = "6100_0046C200"
GRID_ABSORBED = "6100_40463700"  # W from the grid (energy meter)
GRID_SUPPLIED = "6100_40463600"  # W to the grid
BATTERY_CHARGE = "6100_00496900"
BATTERY_DISCHARGE = "6100_00496A00"
BATTERY_SOC = "6100_00295A00"
TOTAL_YIELD = "6400_00260100"  # Wh produced by the inverter
TOTAL_SUPPLIED = "6400_00462400"  # Wh to the grid
TOTAL_ABSORBED = "6400_00462500"  # Wh from the grid
BATTERY_CHARGED = "6400_00496700"  # Wh
BATTERY_DISCHARGED = "6400_00496800"  # Wh

REQUIRED = (PV_POWER, GRID_ABSORBED, GRID_SUPPLIED)
KEYS = (
    *REQUIRED,
    BATTERY_CHARGE,
    BATTERY_DISCHARGE,
    BATTERY_SOC,
    TOTAL_YIELD,
    TOTAL_SUPPLIED,
    TOTAL_ABSORBED,
    BATTERY_CHARGED,
    BATTERY_DISCHARGED,
)


class SmaTripowerMeterConfig(MeterBase):
    type: Literal["SmaTripowerMeter"] = "SmaTripowerMeter"
    url: str
    user: Literal["user", "installer"] = "user"
    password: SecretStr
    verify_ssl: bool = False
    timeout: float = Field(default=5.0, gt=0)


class SessionRejected(DeviceError):
    pass


def _values(document: Any) -> Mapping[str, Any]:
    """The values of the one device in `{"result": {"<serial>": {key: {"1": [{"val": v}]}}}}`."""
    if isinstance(document, Mapping) and "err" in document:
        raise SessionRejected(f"SMA: getValues answered error {document['err']}")
    try:
        devices = document["result"]
        values = next(iter(devices.values()))
    except (KeyError, TypeError, AttributeError, StopIteration) as e:
        raise DeviceError("SMA: unexpected getValues document") from e
    if not isinstance(values, Mapping):
        raise DeviceError("SMA: unexpected getValues document")
    return values


def _value(values: Mapping[str, Any], key: str) -> float:
    """A number; null (e.g. no PV at night) and a key the device does not have are 0."""
    entry = values.get(key)
    if entry is None:
        if key in REQUIRED:
            raise DeviceError(f"SMA: the inverter does not report {key}")
        return 0.0
    try:
        value = next(iter(entry.values()))[0]["val"]
    except (AttributeError, KeyError, IndexError, TypeError, StopIteration) as e:
        raise DeviceError(f"SMA: unexpected value of {key}") from e
    if value is None:
        return 0.0
    return json_number(value, f"SMA: {key}")


def decode_values(document: Any) -> MeterData:
    values = _values(document)
    pv = _value(values, PV_POWER)
    grid = _value(values, GRID_ABSORBED) - _value(values, GRID_SUPPLIED)
    battery = _value(values, BATTERY_DISCHARGE) - _value(values, BATTERY_CHARGE)
    # Battery charging losses count as less PV energy; discharged energy counts as PV.
    energy_grid = _value(values, TOTAL_ABSORBED)
    energy_pv = (
        _value(values, TOTAL_YIELD)
        - _value(values, TOTAL_SUPPLIED)
        - _value(values, BATTERY_CHARGED)
        + _value(values, BATTERY_DISCHARGED)
    )
    soc = _value(values, BATTERY_SOC)
    return meter_data_from_flows(pv, grid, battery, soc, energy_grid=energy_grid, energy_pv=energy_pv)


class SmaTripowerMeter(Meter):
    def __init__(self, config: SmaTripowerMeterConfig) -> None:
        if not config.verify_ssl:
            # An explicit choice for the inverter's self-signed certificate: don't warn on every read.
            warnings.filterwarnings("ignore", category=InsecureRequestWarning)
        self._http = JsonHttpClient(config.url, config.timeout, verify=config.verify_ssl)
        self._login = {"right": RIGHTS[config.user], "pass": config.password.get_secret_value()}
        self._sid: str | None = None

    async def _session(self) -> str:
        if self._sid is None:
            reply = await self._http.post(LOGIN, self._login)
            sid = reply.get("result", {}).get("sid") if isinstance(reply, dict) else None
            if not isinstance(sid, str) or not sid:
                err = reply.get("err") if isinstance(reply, dict) else None
                hint = LOGIN_ERRORS.get(err, "") if isinstance(err, int) else ""
                raise DeviceError(f"SMA: login failed, error {err} {hint}".strip())
            self._sid = sid
            log.info("SMA: logged in to %s", self._http.base_url)
        return self._sid

    async def read(self) -> MeterData:
        sid = await self._session()
        document = await self._http.post(VALUES, {"destDev": [], "keys": list(KEYS)}, {"sid": sid})
        try:
            return decode_values(document)
        except SessionRejected:
            self._sid = None  # log in again on the next read
            raise

    async def close(self) -> None:
        if self._sid is not None:
            try:
                await self._http.post(LOGOUT, {}, {"sid": self._sid})
            except DeviceError as e:
                log.info("SMA: logout failed: %s", e)
            self._sid = None
        self._http.close()
