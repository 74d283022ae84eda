"""A phase switch done by the charger itself (`phase_switching` native), with the relay's interlock: never
under load. Pause charging, wait until the charger's measurements show no current for `settle` s, switch,
resume what was asked for.

The status word is not enough: a charger reports SuspendedEVSE (or Finishing, Preparing) the moment it
lowers its offer, while IEC 61851 gives the car up to 5 s to follow and the meter shows the car's 16 A
for longer. So the switch trusts only measurements taken after the stop: it waits until `settle` s have
passed since the last one that showed current (and at least since the stop), and never while the newest
one shows current. A charger that measures nothing after the stop: `settle` s after it (logged)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from pvcontrol.device import DeviceError
from pvcontrol.models import WallboxData
from services.wallbox.capabilities import PhaseSwitcher
from services.wallbox.device import Measurements, Wallbox


def idle(data: WallboxData) -> bool:
    """What the charger's status says (a reading error is never idle)."""
    return data.error == 0 and data.phases_out == 0 and data.power <= 0


def quiet_since(stopped_at: float, measured: Measurements | None) -> float | None:
    """Since when the car has drawn no current as far as anyone knows, None while the newest measurement
    taken after the stop shows current."""
    if measured is None or measured.measured_at <= stopped_at:
        return stopped_at
    if measured.drawing_at is not None and measured.drawing_at >= measured.measured_at:
        return None
    return max(stopped_at, measured.drawing_at or stopped_at)


def measured_idle(stopped_at: float, measured: Measurements | None) -> bool:
    """A measurement taken after the stop (and after the last current) showed no current."""
    return (
        measured is not None
        and measured.measured_at > stopped_at
        and quiet_since(stopped_at, measured) is not None
    )


class NativePhaseSwitch:
    """`read` reads and publishes the charger's state (raising `DeviceError` on a failed read); `lock`
    serialises every access to the charger; `clock` is the one the wallbox stamps its measurements with."""

    def __init__(
        self,
        wallbox: Wallbox,
        lock: asyncio.Lock,
        read: Callable[[], Awaitable[WallboxData]],
        timeout: float,
        poll: float,
        log: logging.Logger,
        clock: Callable[[], float] = time.monotonic,
        settle: float = 15.0,
    ) -> None:
        self.wallbox = wallbox
        self.switcher = wallbox if isinstance(wallbox, PhaseSwitcher) else None
        self.lock = lock
        self.read = read
        self.timeout = timeout
        self.settle = settle
        self.poll = poll
        self.log = log
        self.clock = clock
        self.busy = False
        # allow_charging as last asked for (by the controller) while a switch runs: applied afterwards
        self.allow_wanted = False
        self._told_unmeasured = False

    async def switch(self, phases: int, stopped_by_failsafe: Callable[[], bool]) -> bool:
        """Switch to `phases`; False when the charger already had them. Raises `DeviceError` (charging then
        resumes as asked for, without a switch) when the charger cannot be read, keeps drawing current for
        `timeout` s or refuses."""
        switcher = self.switcher
        if switcher is None:
            raise DeviceError("this wallbox cannot switch phases itself")
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
            # Already paused: since when is unknown, so the settle time counts from now.
            stopped_at = self.clock()
            await self._until_settled(stopped_at)
            async with self.lock:
                await switcher.set_phases(phases)
            self.log.info("switched to %d phase(s) while idle", phases)
            return True
        finally:
            self.busy = False
            await self._resume(stopped_by_failsafe())

    async def _until_settled(self, stopped_at: float) -> None:
        deadline = stopped_at + self.timeout + self.settle
        while True:
            data = await self.read()
            measured = self.wallbox.measurements()
            since = quiet_since(stopped_at, measured)
            now = self.clock()
            if idle(data) and since is not None and now - since >= self.settle:
                if not measured_idle(stopped_at, measured):
                    self._unmeasured()
                return
            if now >= deadline:
                raise DeviceError(
                    f"still drawing current ({data.power:.0f} W) {now - stopped_at:.0f} s after the pause:"
                    " not switched"
                )
            await asyncio.sleep(self.poll)

    def _unmeasured(self) -> None:
        if not self._told_unmeasured:
            self._told_unmeasured = True
            self.log.warning(
                "the charger measured no current after the pause: switching phases %.0f s after it, on its"
                " status (logged once)",
                self.settle,
            )

    async def _resume(self, failsafe: bool) -> None:
        if not self.allow_wanted or failsafe:
            return
        try:
            async with self.lock:
                await self.wallbox.allow_charging(True)
        except DeviceError as e:
            self.log.warning("could not resume charging after the phase switch: %s", e)
