"""The wallbox's own safety net: in a PV mode, a silent controller means stop charging.

The controller publishes its state after every cycle (at least every `cycle_time`). When those live
messages stop for `controller_timeout` seconds — the controller died, hangs, or the broker is gone for
either side — the controller can no longer stop charging when the sun goes, so the wallbox service
does it. MAX and MANUAL are left alone: there the user asked for charging whatever the sun does.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from pvcontrol.models import ChargeMode, ControllerData

PV_MODES = frozenset({ChargeMode.PV_ONLY, ChargeMode.PV_ALL})


class ControllerWatchdog:
    def __init__(
        self, timeout: float, log: logging.Logger, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.timeout = timeout
        self.log = log
        self.clock = clock
        # Until the controller is heard, the silence counts from the start of this service.
        self.last_heard = clock()
        self.pv_mode = False
        self.tripped = False

    @property
    def check_interval(self) -> float:
        return min(1.0, self.timeout / 4)

    def heard(self, state: ControllerData, *, live: bool) -> None:
        """A controller state arrived. A retained copy tells the mode but is no sign of life: it may
        be all that is left of a controller that died."""
        self.pv_mode = state.mode in PV_MODES or state.desired_mode in PV_MODES
        if live:
            self.last_heard = self.clock()
            if self.tripped:
                self.log.info("controller heard again; it is in charge again")
                self.tripped = False

    def silent(self) -> float:
        """Seconds since the controller was last heard live."""
        return self.clock() - self.last_heard

    def holds_stop(self) -> bool:
        """In a PV mode with the controller silent for the timeout, nothing may start charging: a start
        sent meanwhile (a stale command, a flow in Node-RED) would charge from the grid unwatched."""
        return self.pv_mode and self.silent() >= self.timeout

    def should_stop(self) -> bool:
        return not self.tripped and self.holds_stop()

    def stopped(self) -> None:
        self.tripped = True
        self.log.warning(
            "failsafe: no controller state for %.0f s in a PV mode; charging stopped", self.silent()
        )
