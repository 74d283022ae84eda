"""A phase switch done by the charger itself (`phase_switching` native), with the relay's interlock: never
under load. Pause charging, wait until the charger reports no current, switch, resume what was asked for."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from pvcontrol.device import DeviceError
from pvcontrol.models import WallboxData
from services.wallbox.device import Wallbox


def idle(data: WallboxData) -> bool:
    return data.error == 0 and data.phases_out == 0 and data.power <= 0


class NativePhaseSwitch:
    """`read` reads and publishes the charger's state (raising `DeviceError` on a failed read); `lock`
    serialises every access to the charger."""

    def __init__(
        self,
        wallbox: Wallbox,
        lock: asyncio.Lock,
        read: Callable[[], Awaitable[WallboxData]],
        timeout: float,
        poll: float,
        log: logging.Logger,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.wallbox = wallbox
        self.lock = lock
        self.read = read
        self.timeout = timeout
        self.poll = poll
        self.log = log
        self.clock = clock
        self.busy = False
        # allow_charging as last asked for (by the controller) while a switch runs: applied afterwards
        self.allow_wanted = False

    async def switch(self, phases: int, stopped_by_failsafe: Callable[[], bool]) -> bool:
        """Switch to `phases`; False when the charger already had them. Raises `DeviceError` (charging then
        resumes as asked for, without a switch) when the charger cannot be read, keeps drawing current for
        `timeout` s or refuses."""
        if self.busy:
            raise DeviceError("a phase switch is already under way")
        data = await self.read()
        if data.phases_in == phases:
            return False
        self.busy = True
        self.allow_wanted = data.allow_charging
        try:
            if data.allow_charging:
                async with self.lock:
                    await self.wallbox.allow_charging(False)
                data = await self.read()
            deadline = self.clock() + self.timeout
            while not idle(data):
                if self.clock() >= deadline:
                    raise DeviceError(
                        f"still {data.power:.0f} W after {self.timeout:.0f} s paused: not switched"
                    )
                await asyncio.sleep(self.poll)
                data = await self.read()
            async with self.lock:
                await self.wallbox.set_phases(phases)
            self.log.info("switched to %d phase(s) while idle", phases)
            return True
        finally:
            self.busy = False
            await self._resume(stopped_by_failsafe())

    async def _resume(self, failsafe: bool) -> None:
        if not self.allow_wanted or failsafe:
            return
        try:
            async with self.lock:
                await self.wallbox.allow_charging(True)
        except DeviceError as e:
            self.log.warning("could not resume charging after the phase switch: %s", e)
