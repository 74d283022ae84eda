"""SunSpec Modbus TCP (SMA, Fronius, SolarEdge, Kostal, Huawei, ...): inverter, meter and battery models.

The SunSpec Alliance's `pysunspec2` scans the device's model list (at 40000, 0 or 50000), decodes points by
the official model definitions and applies scale factors. Models used: 1 (common, for the log), 101-103 /
111-113 (inverter: `W`, `WH`), 201-204 / 211-214 (meter: `W`, `TotWhImp`, `TotWhExp`), 802 (battery: `W`,
`SoC`; 124 `ChaState` as a fallback for the SOC); 111-113 and 211-214 are the float32 variants. Its client
is blocking: it runs in a worker thread. After any error the connection is closed and the next read scans
again (a late answer must never be taken for the next one: the client does not match transaction ids).

The map found by a scan is checked at every read: the 'SunS' marker at its base and each used model's own
ID and length (read with the model). A device whose map changed (a firmware update, a reboot into another
mode) would otherwise be read at the old addresses: that read is an error and the next one scans again.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Literal

from pydantic import Field

from pvcontrol.device import DeviceError
from pvcontrol.models import MeterData
from services.meter.device import Meter, MeterBase
from services.meter.flows import meter_data_from_flows

log = logging.getLogger("pvcontrol.meter.sunspec")
INVERTERS = (103, 102, 101, 113, 112, 111)
METERS = (203, 204, 202, 201, 213, 214, 212, 211)
MARKER = b"SunS"
BATTERIES = (802,)
STORAGE = (124,)


class SunSpecMeterConfig(MeterBase):
    type: Literal["SunSpecMeter"] = "SunSpecMeter"
    host: str
    port: int = Field(default=502, ge=1, le=65535)
    unit_id: int = Field(default=1, ge=0, le=255, description="the inverter's Modbus unit id")
    meter_unit_id: int | None = Field(default=None, ge=0, le=255, description="default: unit_id")
    battery_unit_id: int | None = Field(default=None, ge=0, le=255, description="default: unit_id")
    grid_sign: Literal[1, -1] = Field(default=1, description="1: the meter's W is + import; -1: + export")
    battery_sign: Literal[1, -1] = Field(default=1, description="1: the battery's W is + discharge")
    timeout: float = Field(default=5.0, gt=0)


def _value(model: Any, point: str, what: str, required: bool) -> float:
    """The scaled value; a not-implemented point is 0 unless `required`."""
    try:
        value = getattr(model, point).cvalue
    except AttributeError:
        value = None
    if value is None:
        if required:
            raise DeviceError(f"SunSpec: {what} {point} is not implemented")
        return 0.0
    return float(value)


def _first(device: Any, ids: tuple[int, ...]) -> Any | None:
    for model_id in ids:
        models = device.models.get(model_id)
        if models:
            return models[0]
    return None


def _check_marker(device: Any) -> None:
    marker = device.read(device.base_addr, 2)
    if marker != MARKER:
        raise DeviceError(
            f"SunSpec: the register map changed (no SunS marker at {device.base_addr}:"
            f" {bytes(marker)[:4]!r}); scanning again"
        )


def _check_model(model: Any) -> None:
    found = (model.ID.value, model.L.value)
    if found != (model.model_id, model.model_len):
        raise DeviceError(
            f"SunSpec: the register map changed (model {model.model_id} at {model.model_addr} is now"
            f" {found[0]} of length {found[1]}); scanning again"
        )


class SunSpecMeter(Meter):
    def __init__(self, config: SunSpecMeterConfig) -> None:
        self.config = config
        self._devices: dict[int, Any] = {}

    def _device(self, unit_id: int) -> Any:
        if unit_id not in self._devices:
            import sunspec2.modbus.client as sunspec  # only for SunSpec meters

            device = sunspec.SunSpecModbusClientDeviceTCP(
                slave_id=unit_id,
                ipaddr=self.config.host,
                ipport=self.config.port,
                timeout=self.config.timeout,
            )
            device.scan(full_model_read=False)
            device.connect()
            common = _first(device, (1,))
            if common is not None:
                common.read()
                log.info(
                    "SunSpec unit %d: %s %s, models %s",
                    unit_id,
                    common.Mn.cvalue,
                    common.Md.cvalue,
                    sorted(k for k in device.models if isinstance(k, int)),
                )
            self._devices[unit_id] = device
        return self._devices[unit_id]

    def _close(self) -> None:
        for device in self._devices.values():
            try:
                device.disconnect()
            except Exception as e:  # closing a broken socket may fail in any way
                log.debug("SunSpec: closing failed: %s", e)
        self._devices = {}

    def _read_blocking(self) -> MeterData:
        c = self.config
        try:
            inverter_unit = self._device(c.unit_id)
            meter_unit = self._device(c.meter_unit_id if c.meter_unit_id is not None else c.unit_id)
            battery_unit = self._device(c.battery_unit_id if c.battery_unit_id is not None else c.unit_id)
            meter = _first(meter_unit, METERS)
            if meter is None:
                raise DeviceError("SunSpec: no meter model (201-204) found: set meter_unit_id")
            inverter = _first(inverter_unit, INVERTERS)
            battery = _first(battery_unit, BATTERIES)
            storage = _first(battery_unit, STORAGE) if battery is None else None
            for device in {id(d): d for d in (inverter_unit, meter_unit, battery_unit)}.values():
                _check_marker(device)
            for model in (meter, inverter, battery, storage):
                if model is not None:
                    model.read()
                    _check_model(model)
            return self._decode(meter, inverter, battery, storage)
        except DeviceError:
            self._close()
            raise
        except Exception as e:
            # pysunspec2 raises its own errors, socket errors and struct errors on short answers
            self._close()
            reason = " ".join(str(e).split())  # pysunspec2's scan errors span lines
            raise DeviceError(f"SunSpec {c.host}:{c.port}: {type(e).__name__}: {reason}"[:200]) from e

    def _decode(
        self, meter: Any, inverter: Any | None, battery: Any | None, storage: Any | None
    ) -> MeterData:
        c = self.config
        grid = c.grid_sign * _value(meter, "W", "meter", required=True)
        imported = _value(meter, "TotWhImp", "meter", required=False)
        exported = _value(meter, "TotWhExp", "meter", required=False)
        if c.grid_sign < 0:
            imported, exported = exported, imported
        battery_power = c.battery_sign * _value(battery, "W", "battery", required=False) if battery else 0.0
        soc = 0.0
        if battery is not None:
            soc = _value(battery, "SoC", "battery", required=False)
        elif storage is not None:
            soc = _value(storage, "ChaState", "storage", required=False)
        pv = produced = 0.0
        if inverter is not None:
            ac = _value(inverter, "W", "inverter", required=False)  # sleeping inverters report none
            # A hybrid inverter's AC power includes what its DC battery delivers.
            same_unit = battery is not None and (c.battery_unit_id in (None, c.unit_id))
            pv = ac - battery_power if same_unit else ac
            produced = _value(inverter, "WH", "inverter", required=False)
        from_pv = max(0.0, produced - exported)
        return meter_data_from_flows(pv, grid, battery_power, soc, energy_grid=imported, energy_pv=from_pv)

    async def read(self) -> MeterData:
        return await asyncio.to_thread(self._read_blocking)

    async def close(self) -> None:
        await asyncio.to_thread(self._close)
