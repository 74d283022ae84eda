"""A fake Kostal Plenticore Plus (battery, KSEM at the grid point): a real pymodbus TCP server, unit 71.

The holding registers of Kostal's interface description are served from a small power model: FLOAT32 values
in the configured word order, SOC (514, U16) and battery power (582, S16). Addresses outside the map answer
ILLEGAL ADDRESS like the inverter. Test hooks: `set_powers`, `fail` (an exception response), `slow`
(no answer within the client's timeout), `stop` / `start` (dropped connection).
"""

from __future__ import annotations

import argparse
from typing import Literal

from pymodbus.client import ModbusTcpClient
from pymodbus.simulator import DataType, SimData, SimDevice

from tests.fakes.modbus_server import FakeModbusServer, serve_until_stopped

UNIT_ID = 71
FLOAT32 = ModbusTcpClient.DATATYPE.FLOAT32
# Register blocks of the map (first address, number of registers).
BLOCKS = ((100, 26), (144, 36), (190, 30), (252, 10), (514, 1), (575, 8))


class FakeKostal(FakeModbusServer):
    def __init__(
        self, port: int = 0, host: str = "127.0.0.1", word_order: Literal["big", "little"] = "big"
    ) -> None:
        super().__init__(host, port, thread_name="fake-kostal")
        self.word_order = word_order
        self.pv = 5230.0  # DC power of the strings
        self.home = 940.0
        self.battery = -1200.0  # + discharge, - charge
        self.soc = 71
        self.energy = {112: 3_150_000.0, 114: 7_420_000.0, 110: 1_980_000.0}  # Wh from grid, PV, battery

    def set_powers(self, pv: float, home: float, battery: float, soc: int) -> None:
        with self.lock:
            self.pv, self.home, self.battery, self.soc = pv, home, battery, soc

    @property
    def grid(self) -> float:
        """+ import: what PV and battery don't cover."""
        return self.home - self.pv - self.battery

    def registers(self) -> dict[int, float]:
        """FLOAT32 registers by address, derived from the power model."""
        ac = self.pv + self.battery
        grid = self.grid
        from_battery = max(self.battery, 0.0)
        from_pv = min(self.home - from_battery, max(self.pv, 0.0))
        from_grid = self.home - from_battery - from_pv
        energy_total = sum(self.energy.values())
        return {
            100: self.pv,  # total DC power
            106: from_battery,
            108: from_grid,
            110: self.energy[110],
            112: self.energy[112],
            114: self.energy[114],
            116: from_pv,
            118: energy_total,
            120: 11_500_000.0,  # isolation resistance (Ohm)
            122: 100.0,  # power limit from EVU (%)
            124: 100.0 * (energy_total - self.energy[112]) / energy_total,  # own consumption rate (%)
            144: 31_536_000.0,  # worktime (s)
            150: 1.0,  # cos phi
            152: 50.01,  # grid frequency
            154: ac / 3 / 230.0,  # current L1
            156: ac / 3,  # active power L1
            158: 231.2,  # voltage L1
            160: ac / 3 / 230.0,
            162: ac / 3,
            164: 230.4,
            166: ac / 3 / 230.0,
            168: ac / 3,
            170: 229.8,
            172: ac,  # total AC active power
            174: 12.5,  # reactive power
            178: abs(ac),  # apparent power
            190: self.battery / 400.0,  # battery charge current
            194: 412.0,  # battery cycles
            200: self.battery / 400.0,  # actual battery charge (-) / discharge (+) current
            202: 1.0,  # PSSB fuse state
            208: 1.0,  # battery ready flag
            210: float(self.soc),  # act. state of charge
            214: 24.0,  # battery temperature
            216: 402.5,  # battery voltage
            218: 0.98,  # cos phi (power meter)
            220: 50.01,  # frequency (power meter)
            222: grid / 3 / 230.0,  # current L1 (power meter)
            224: grid / 3,  # active power L1 (power meter)
            252: grid,  # total active power (power meter)
            254: 30.0,  # total reactive power (power meter)
            256: abs(grid),  # total apparent power (power meter)
            258: 230.6,  # voltage L1 (power meter)
        }

    # --- modbus ------------------------------------------------------------------------------

    def _fill(self, start: int, registers: list[int]) -> None:
        with self.lock:
            floats = self.registers()
            soc, battery = self.soc, round(self.battery)
        for address, value in floats.items():
            words = ModbusTcpClient.convert_to_registers(value, FLOAT32, word_order=self.word_order)
            registers[address - start : address - start + 2] = words
        registers[514 - start] = soc
        registers[582 - start] = battery & 0xFFFF

    def _device(self) -> SimDevice:
        blocks = [SimData(a, count=n, values=0, datatype=DataType.REGISTERS) for a, n in BLOCKS]
        return SimDevice(id=UNIT_ID, simdata=blocks, action=self._action)


def main() -> None:
    parser = argparse.ArgumentParser(description="fake Kostal Plenticore (Modbus TCP, unit 71)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1502)
    parser.add_argument("--word-order", choices=["big", "little"], default="big")
    args = parser.parse_args()
    fake = FakeKostal(port=args.port, host=args.host, word_order=args.word_order)
    serve_until_stopped(fake, "fake Kostal Plenticore", UNIT_ID)


if __name__ == "__main__":
    main()
