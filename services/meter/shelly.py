"""Shelly Pro 3EM / Pro EM / EM Gen3 energy meters at the grid connection, through the local Gen2+ RPC API.

`profile` EM (three phases, e.g. Pro 3EM): `EM.GetStatus` and `EMData.GetStatus` of `grid_id`.
`profile` EM1 (single channels, e.g. Pro EM-50 with two clamps): `EM1.GetStatus` / `EM1Data.GetStatus`.
An optional `pv_channel` is an EM1 channel (on `pv_url`, default `url`) measuring the PV inverter's output.
A Shelly sees no battery: `power_battery` and `soc_battery` stay 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field

from pvcontrol.device import DeviceError, json_number
from pvcontrol.http_client import JsonHttpClient
from pvcontrol.models import MeterData
from services.meter.device import Meter, MeterBase
from services.meter.flows import meter_data_from_flows


class ShellyMeterConfig(MeterBase):
    type: Literal["ShellyMeter"] = "ShellyMeter"
    url: str
    profile: Literal["EM", "EM1"] = "EM"
    grid_id: int = Field(default=0, ge=0, description="EM id (EM) or channel (EM1) of the grid clamps")
    pv_channel: int | None = Field(default=None, ge=0, description="EM1 channel measuring the PV output")
    pv_url: str | None = Field(default=None, description="the Shelly with the PV channel (default: url)")
    timeout: float = Field(default=5.0, gt=0)


def _object(document: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(document, dict):
        raise DeviceError(f"Shelly: {what} is not an object")
    errors = document.get("errors") or []
    if "power_meter_failure" in errors:
        raise DeviceError(f"Shelly: {what} reports power_meter_failure")
    return document


def _number(document: Mapping[str, Any], key: str, what: str) -> float:
    return json_number(document.get(key), f"Shelly {what}: {key}")


def decode(
    grid: Any, grid_energy: Any, pv: Any | None, pv_energy: Any | None, profile: Literal["EM", "EM1"]
) -> MeterData:
    """grid: EM/EM1 status, grid_energy: EMData/EM1Data status, pv and pv_energy: EM1 of the PV channel."""
    status = _object(grid, f"{profile}.GetStatus")
    energy = _object(grid_energy, f"{profile}Data.GetStatus")
    if profile == "EM":
        power_grid = _number(status, "total_act_power", "EM")  # + import
        imported = _number(energy, "total_act", "EMData")
        exported = _number(energy, "total_act_ret", "EMData")
    else:
        power_grid = _number(status, "act_power", "EM1")
        imported = _number(energy, "total_act_energy", "EM1Data")
        exported = _number(energy, "total_act_ret_energy", "EM1Data")
    power_pv = produced = 0.0
    if pv is not None and pv_energy is not None:
        # the clamp may sit either way round on the inverter's line: production is the magnitude
        power_pv = abs(_number(_object(pv, "PV EM1.GetStatus"), "act_power", "EM1 (PV)"))
        pv_data = _object(pv_energy, "PV EM1Data.GetStatus")
        produced = max(
            _number(pv_data, "total_act_energy", "EM1Data (PV)"),
            _number(pv_data, "total_act_ret_energy", "EM1Data (PV)"),
        )
    from_pv = max(0.0, produced - exported)
    return meter_data_from_flows(power_pv, power_grid, energy_grid=imported, energy_pv=from_pv)


class ShellyMeter(Meter):
    def __init__(self, config: ShellyMeterConfig) -> None:
        self.config = config
        self._http = JsonHttpClient(config.url, config.timeout)
        self._pv_http = (
            JsonHttpClient(config.pv_url, config.timeout)
            if config.pv_channel is not None and config.pv_url
            else self._http
        )

    async def read(self) -> MeterData:
        c = self.config
        grid_id = {"id": str(c.grid_id)}
        grid = await self._http.get(f"/rpc/{c.profile}.GetStatus", grid_id)
        grid_energy = await self._http.get(f"/rpc/{c.profile}Data.GetStatus", grid_id)
        pv = pv_energy = None
        if c.pv_channel is not None:
            pv_id = {"id": str(c.pv_channel)}
            pv = await self._pv_http.get("/rpc/EM1.GetStatus", pv_id)
            pv_energy = await self._pv_http.get("/rpc/EM1Data.GetStatus", pv_id)
        return decode(grid, grid_energy, pv, pv_energy, c.profile)

    async def close(self) -> None:
        self._http.close()
        if self._pv_http is not self._http:
            self._pv_http.close()
