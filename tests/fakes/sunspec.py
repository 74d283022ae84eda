"""A fake SunSpec device: a real pymodbus TCP server with a SunSpec register map at 40000, encoded from the
official model definitions that ship with pysunspec2; points the fake does not model read as "not
implemented" like on a real device. A hybrid inverter: AC power = PV + battery discharge.

`layout` (may change while the server runs, as after a firmware update or a reboot into another mode):
  "int"     'SunS', 1 common, 103 three-phase inverter, 203 three-phase meter, 802 battery (scale factors)
  "float"   'SunS', 1 common, 113 inverter, 120 nameplate, 213 meter (float32, no scale factors): a hybrid
            inverter without a battery model, its AC power includes the battery
  "shifted" the "int" map moved by 7 registers without the 'SunS' marker: cached addresses read garbage

Test hooks: `set_powers`, `layout`, `fault` (a Modbus exception answer), `hang` (no answer), `stop` / `start`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, Literal

import sunspec2
from pymodbus.simulator import DataType, SimData, SimDevice
from sunspec2 import mb

from tests.fakes.modbus_server import FakeModbusServer, serve_until_stopped

BASE = 40000
REGISTERS = 500  # the block served from BASE: room for every layout
Layout = Literal["int", "float", "shifted"]
MODELS_DIR = Path(sunspec2.__file__).parent / "models" / "json"


def model_registers(model_id: int, values: dict[str, Any]) -> list[int]:
    """ID, L and the model's points, each from `values` (raw, before scale factors) or not implemented."""
    definition = json.loads((MODELS_DIR / f"model_{model_id}.json").read_text())
    points = definition["group"]["points"]
    data = b""
    length = sum(p["size"] for p in points) - 2
    for point in points:
        kind, size = point["type"], point["size"]
        name = point["name"]
        if name == "ID":
            value: Any = model_id
        elif name == "L":
            value = length
        else:
            value = values.get(name)
        if value is None:
            chunk = mb.create_unimpl_value(kind, len=size * 2)
        else:
            chunk = mb.point_type_info[kind].to_data(value, size * 2)
        data += chunk.ljust(size * 2, b"\0")[: size * 2]
    return [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]


class FakeSunSpec(FakeModbusServer):
    def __init__(
        self, port: int = 0, host: str = "127.0.0.1", unit_id: int = 1, layout: Layout = "int"
    ) -> None:
        super().__init__(host, port, thread_name="fake-sunspec")
        self.unit_id = unit_id
        self.layout: Layout = layout
        self.pv = 4800.0  # W from the strings
        self.battery = -1500.0  # W, + discharge
        self.home = 1100.0
        self.soc = 64.0
        self.produced = 7_654_300.0  # Wh, the inverter's lifetime AC energy
        self.imported = 2_345_600.0
        self.exported = 3_210_000.0

    def set_powers(self, pv: float, home: float, battery: float, soc: float) -> None:
        with self.lock:
            self.pv, self.home, self.battery, self.soc = pv, home, battery, soc

    @property
    def grid(self) -> float:
        return self.home - self.pv - self.battery

    def registers(self) -> list[int]:
        if self.layout == "float":
            return self._float_registers()
        words = self._int_registers()
        if self.layout == "shifted":
            return [0x0102, 0x0304, 0, 0, 0, 0, 0, *words[2:]]
        return words

    def _common(self) -> list[int]:
        return model_registers(
            1,
            {"Mn": "pvcontrol-tests", "Md": "FakeHybrid 10", "Vr": "1.2.3", "SN": "4711", "DA": self.unit_id},
        )

    def _float_registers(self) -> list[int]:
        with self.lock:
            ac = self.pv + self.battery
            inverter = {"A": abs(ac) / 230, "W": ac, "Hz": 50.01, "WH": self.produced, "St": 4}
            nameplate = {"DERTyp": 82, "WRtg": 10000, "WRtg_SF": 0}  # PV and storage
            meter = {
                "A": abs(self.grid) / 230, "W": self.grid, "Hz": 50.0,  # + import
                "TotWhExp": self.exported, "TotWhImp": self.imported,
            }  # fmt: skip
        words = [0x5375, 0x6E53, *self._common()]
        words += (
            model_registers(113, inverter) + model_registers(120, nameplate) + model_registers(213, meter)
        )
        return [*words, 0xFFFF, 0]

    def _int_registers(self) -> list[int]:
        with self.lock:
            ac = self.pv + self.battery
            inverter = {
                "A": round(abs(ac) / 230 * 100), "A_SF": -2,
                "W": round(ac), "W_SF": 0,
                "Hz": 5001, "Hz_SF": -2,
                "WH": round(self.produced / 10), "WH_SF": 1,
                "St": 4,  # MPPT: producing
            }  # fmt: skip
            meter = {
                "A": round(abs(self.grid) / 230 * 10), "A_SF": -1,
                "W": round(self.grid * 10), "W_SF": -1,  # + import
                "Hz": 500, "Hz_SF": -1,
                "TotWhExp": round(self.exported / 100), "TotWhImp": round(self.imported / 100), "TotWh_SF": 2,
            }  # fmt: skip
            battery = {
                "SoC": round(self.soc * 10), "SoC_SF": -1,
                "W": round(self.battery), "W_SF": 0,  # + discharge
                "AHRtg": 200, "WHRtg": 100, "WHRtg_SF": 2, "AHRtg_SF": 0,
            }  # fmt: skip
        words = [0x5375, 0x6E53, *self._common()]  # "SunS"
        words += model_registers(103, inverter)
        words += model_registers(203, meter)
        words += model_registers(802, battery)
        return [*words, 0xFFFF, 0]

    def _fill(self, start: int, registers: list[int]) -> None:
        words = self.registers()
        registers[:] = [*words, *[0] * (len(registers) - len(words))]

    def _device(self) -> SimDevice:
        # only 40000 onwards exists: the scan tries 40000 first, as most devices use it
        block = SimData(BASE, count=REGISTERS, values=0, datatype=DataType.REGISTERS)
        return SimDevice(id=self.unit_id, simdata=[block], action=self._action)


def main() -> None:
    parser = argparse.ArgumentParser(description="fake SunSpec inverter + meter + battery (Modbus TCP)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1503)
    parser.add_argument("--unit-id", type=int, default=1)
    parser.add_argument("--layout", choices=["int", "float"], default="int", help="integer or float models")
    args = parser.parse_args()
    fake = FakeSunSpec(port=args.port, host=args.host, unit_id=args.unit_id, layout=args.layout)
    serve_until_stopped(fake, "fake SunSpec device", fake.unit_id)


if __name__ == "__main__":
    main()
