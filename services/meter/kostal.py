"""Kostal Plenticore with its power meter over Modbus TCP, registers of Kostal's interface description.

FLOAT32 holding registers (two words, word order configurable on the inverter):
  106 home consumption from battery (W), 108 from grid (W), 116 from PV (W),
  112 total home consumption from grid (Wh), 114 from PV (Wh), 118 total home consumption (Wh),
  172 total AC active power of the inverter (W), 252 total active power at the power meter (W, + import).
Plain 16-bit holding registers: 514 battery SOC (%, U16), 582 battery power (W, S16, - charge, + discharge).
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import Field
from pymodbus import ModbusException
from pymodbus.client import AsyncModbusTcpClient

from pvcontrol.device import DeviceError
from pvcontrol.models import MeterData
from services.meter.device import Meter, MeterBase
from services.meter.flows import meter_data_from_flows

FLOAT32 = AsyncModbusTcpClient.DATATYPE.FLOAT32
INT16 = AsyncModbusTcpClient.DATATYPE.INT16
UINT16 = AsyncModbusTcpClient.DATATYPE.UINT16

HOME_BLOCK = 106  # 106..119: seven FLOAT32
AC_POWER = 172
GRID_POWER = 252
BATTERY_SOC = 514
BATTERY_POWER = 582


class KostalMeterConfig(MeterBase):
    type: Literal["KostalMeter"] = "KostalMeter"
    host: str
    port: int = Field(default=1502, ge=1, le=65535)
    unit_id: int = Field(default=71, ge=0, le=255)
    word_order: Literal["big", "little"] = "big"
    timeout: float = Field(default=5.0, gt=0)


def _int(registers: list[int], datatype: AsyncModbusTcpClient.DATATYPE) -> int:
    value = AsyncModbusTcpClient.convert_from_registers(registers, datatype)
    if not isinstance(value, int):
        raise DeviceError(f"Kostal: {registers} is not a 16 bit integer")
    return value


class KostalMeter(Meter):
    def __init__(self, config: KostalMeterConfig) -> None:
        self._config = config
        self._client: AsyncModbusTcpClient | None = None

    async def _connected(self) -> AsyncModbusTcpClient:
        """The client binds to the running event loop, so it is made on first use."""
        if self._client is None:
            # reconnect_delay=0: no reconnect loop of its own, the next poll connects again
            self._client = AsyncModbusTcpClient(
                self._config.host,
                port=self._config.port,
                timeout=self._config.timeout,
                retries=0,
                reconnect_delay=0,
            )
        if not self._client.connected and not await self._client.connect():
            raise DeviceError(f"Kostal: cannot connect to {self._config.host}:{self._config.port}")
        return self._client

    async def _registers(self, address: int, count: int) -> list[int]:
        client = await self._connected()
        response = await client.read_holding_registers(address, count=count, device_id=self._config.unit_id)
        if response.isError():
            raise DeviceError(f"Kostal: reading register {address} failed: {response}")
        return list(response.registers)

    def _floats(self, registers: list[int]) -> list[float]:
        values: Any = AsyncModbusTcpClient.convert_from_registers(
            registers, FLOAT32, word_order=self._config.word_order
        )
        floats = [float(v) for v in (values if isinstance(values, list) else [values])]
        if not all(math.isfinite(v) for v in floats):
            raise DeviceError(f"Kostal: not a number in {floats}")
        return floats

    async def _read(self) -> MeterData:
        from_battery, from_grid, _, energy_grid, energy_pv, from_pv, energy = self._floats(
            await self._registers(HOME_BLOCK, 14)
        )
        (ac_power,) = self._floats(await self._registers(AC_POWER, 2))
        (grid,) = self._floats(await self._registers(GRID_POWER, 2))
        soc = _int(await self._registers(BATTERY_SOC, 1), UINT16)
        battery = _int(await self._registers(BATTERY_POWER, 1), INT16)
        # The inverter's AC power includes what the battery delivers: PV alone is the rest.
        pv = ac_power - battery
        # The inverter measures the house's consumption by source itself: its registers are taken as read.
        return meter_data_from_flows(
            pv,
            grid,
            battery,
            soc,
            consumption=from_battery + from_grid + from_pv,
            energy_grid=energy_grid,
            energy_pv=energy_pv,
            energy=energy,
        )

    async def read(self) -> MeterData:
        try:
            return await self._read()
        except DeviceError:
            await self.close()
            raise
        except (TimeoutError, ModbusException, OSError) as e:
            await self.close()
            raise DeviceError(f"Kostal: {type(e).__name__}: {e}") from e

    async def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
