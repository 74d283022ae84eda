"""Fronius inverters through Solar API v1 (GetPowerFlowRealtimeData)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field

from pvcontrol.device import DeviceError, json_number
from pvcontrol.http_client import JsonHttpClient
from pvcontrol.models import MeterData
from services.meter.device import Meter, MeterBase
from services.meter.flows import meter_data_from_flows

POWER_FLOW = "/solar_api/v1/GetPowerFlowRealtimeData.fcgi"


class FroniusMeterConfig(MeterBase):
    type: Literal["FroniusMeter"] = "FroniusMeter"
    url: str
    timeout: float = Field(default=5.0, gt=0)


def _power(site: Mapping[str, Any], key: str) -> float:
    """Fronius reports null for a component that is idle or missing (no PV at night, no battery)."""
    value = site.get(key)
    if value is None:
        return 0.0
    return json_number(value, f"Fronius: {key}")


def decode_power_flow(document: Any) -> MeterData:
    try:
        status = document["Head"]["Status"]
        data = document["Body"]["Data"]
        site = data["Site"]
        inverters = data.get("Inverters") or {}
    except (KeyError, TypeError) as e:
        raise DeviceError(f"Fronius: unexpected power flow document ({e!r})") from e
    if status.get("Code", 0) != 0:
        raise DeviceError(f"Fronius: status {status.get('Code')} {status.get('Reason', '')}".strip())
    pv = _power(site, "P_PV")
    grid = _power(site, "P_Grid")  # + import
    battery = _power(site, "P_Akku")  # + discharge
    soc = _power(inverters.get("1") or {}, "SOC")
    return meter_data_from_flows(pv, grid, battery, soc)


class FroniusMeter(Meter):
    """The power flow endpoint has no consumption counters: the energies stay 0 (see docs/devices.md)."""

    def __init__(self, config: FroniusMeterConfig) -> None:
        self._http = JsonHttpClient(config.url, config.timeout)

    async def read(self) -> MeterData:
        return decode_power_flow(await self._http.get(POWER_FLOW))

    async def close(self) -> None:
        self._http.close()
