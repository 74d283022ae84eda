"""The shared part of the fake Modbus TCP devices (tests/fakes/kostal.py, tests/fakes/sunspec.py): a real
pymodbus TCP server on its own event loop thread, read-only, with the test hooks `fault` (a Modbus exception
answer), `slow` / `hang` (no answer until `heal`), `stop` / `start` (dropped connection) and a request count.

A device supplies its register blocks (`_device`) and fills the registers of each read (`_fill`).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from concurrent.futures import Future
from typing import Any, Self

from pymodbus.constants import ExcCodes
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import SimDevice


class FakeModbusServer:
    def __init__(self, host: str, port: int, thread_name: str) -> None:
        self.host = host
        self.port = port
        self.lock = threading.Lock()
        self.fault: ExcCodes | None = None
        self.slow = False
        self.requests = 0
        self.thread_name = thread_name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: ModbusTcpServer | None = None
        self._release = asyncio.Event()

    def _device(self) -> SimDevice:
        raise NotImplementedError

    def _fill(self, start: int, registers: list[int]) -> None:
        """Write the current values into `registers`, the block that starts at address `start`."""
        raise NotImplementedError

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
            return ExcCodes.ILLEGAL_FUNCTION  # the maps are read-only here
        self._fill(start_address, registers)
        return None

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
            self._thread = threading.Thread(target=self._loop.run_forever, name=self.thread_name, daemon=True)
            self._thread.start()
        self._call(self._start())
        return self

    def stop(self) -> None:
        """Close the server and its connections: clients see a dropped connection until `start()`."""
        if self._loop is not None:
            self._call(self._stop())

    def hang(self) -> None:
        """Answer nothing until `heal`."""
        self.slow = True
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._release.clear)

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


def serve_until_stopped(fake: FakeModbusServer, name: str, unit_id: int) -> None:
    """Run `fake` as a stand-alone device until Ctrl-C or SIGTERM."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with fake:
        print(f"{name} at {fake.host}:{fake.port}, unit {unit_id} (Ctrl-C: stop)", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()
