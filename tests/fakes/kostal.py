"""A fake Kostal Plenticore Plus (battery, KSEM at the grid point): a real pymodbus TCP server, unit 71.

The holding registers of Kostal's interface description are served from a small power model: FLOAT32 values
in the configured word order, SOC (514, U16) and battery power (582, S16). Addresses outside the map answer
ILLEGAL ADDRESS like the inverter. Test hooks: `set_powers`, `fail` (an exception response), `slow`
(no answer within the client's timeout), `stop` / `start` (dropped connection).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import threading
from concurrent.futures import Future
from typing import Any, Literal, Self

from pymodbus.client import ModbusTcpClient
from pymodbus.constants import ExcCodes
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

UNIT_ID = 71
FLOAT32 = ModbusTcpClient.DATATYPE.FLOAT32
# Register blocks of the map (first address, number of registers).
BLOCKS = ((100, 26), (144, 36), (190, 30), (252, 10), (514, 1), (575, 8))


class FakeKostal:
    def __init__(
        self, port: int = 0, host: str = "127.0.0.1", word_order: Literal["big", "little"] = "big"
    ) -> None:
        self.host = host
        self.port = port
        self.word_order = word_order
        self.lock = threading.Lock()
        self.pv = 5230.0  # DC power of the strings
        self.home = 940.0
        self.battery = -1200.0  # + discharge, - charge
        self.soc = 71
        self.energy = {112: 3_150_000.0, 114: 7_420_000.0, 110: 1_980_000.0}  # Wh from grid, PV, battery
        self.fault: ExcCodes | None = None
        self.slow = False
        self.requests = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: ModbusTcpServer | None = None
        self._release = asyncio.Event()

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

    async def _action(
        self,
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        registers: list[int],
        set_values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        self.requests += 1
        if self.slow:
            await self._release.wait()
        if self.fault is not None:
            return self.fault
        if set_values is not None:
            return ExcCodes.ILLEGAL_FUNCTION  # the map is read-only here
        self._fill(start_address, registers)
        return None

    def _device(self) -> SimDevice:
        blocks = [SimData(a, count=n, values=0, datatype=DataType.REGISTERS) for a, n in BLOCKS]
        return SimDevice(id=UNIT_ID, simdata=blocks, action=self._action)

    async def _start(self) -> None:
        self._release = asyncio.Event()
        self._server = ModbusTcpServer(self._device(), address=(self.host, self.port))
        await self._server.serve_forever(background=True)
        transport: Any = self._server.transport
        self.port = transport.sockets[0].getsockname()[1]

    async def _stop(self) -> None:
        self._release.set()
        if self._server is not None:
            await self._server.shutdown()  # type: ignore[no-untyped-call]
            self._server = None

    def _call(self, coroutine: Any) -> None:
        assert self._loop is not None
        future: Future[None] = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        future.result(timeout=10)

    def start(self) -> Self:
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
            self._thread = threading.Thread(target=self._loop.run_forever, name="fake-kostal", daemon=True)
            self._thread.start()
        self._call(self._start())
        return self

    def stop(self) -> None:
        """Close the server and its connections: clients see a dropped connection until `start()`."""
        if self._loop is not None:
            self._call(self._stop())

    def heal(self) -> None:
        self.fault = None
        self.slow = False
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._release.set)

    def close(self) -> None:
        self.stop()
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            if self._thread:
                self._thread.join(timeout=5)
            self._loop.close()
            self._loop = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.close()


def main() -> None:
    parser = argparse.ArgumentParser(description="fake Kostal Plenticore (Modbus TCP, unit 71)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1502)
    parser.add_argument("--word-order", choices=["big", "little"], default="big")
    args = parser.parse_args()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with FakeKostal(port=args.port, host=args.host, word_order=args.word_order) as fake:
        print(f"fake Kostal Plenticore at {fake.host}:{fake.port}, unit {UNIT_ID} (Ctrl-C: stop)", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()


if __name__ == "__main__":
    main()
