"""Today's charged energy by source, from each cycle's increments; absurd increments are ignored."""

from __future__ import annotations

import math
from datetime import datetime

from pvcontrol.broker import BrokerAddress
from pvcontrol.models import now
from pvcontrol.service import ConfiguredService
from pvcontrol.throttle import Episode
from pvcontrol.topics import Topics
from services.controller import metrics
from services.controller.model import CycleResult
from services.controller.settings import ControllerSettings


def local_day(ts: float) -> str:
    return datetime.fromtimestamp(ts).date().isoformat()


class EnergyAccounting(ConfiguredService[ControllerSettings]):
    def __init__(self, config: ControllerSettings, broker: BrokerAddress, topics: Topics) -> None:
        super().__init__(config, broker, topics)
        self._absurd_energy = Episode(self.log, "implausible charged energy ignored")
        self._split_at = now()  # the last cycle that counted PV or grid energy: what an increment may span
        self.energy_day = local_day(now())
        self.energy_today = {"pv": 0.0, "grid": 0.0}

    def _implausible_energy(self, result: CycleResult, at: float) -> str | None:
        """Why this cycle's energy increments cannot be true, or None. A wallbox counter that jumps to
        1e308 Wh (and back) must not make today's energy inf: that would fail the state document."""
        parts = (result.charged_wh, result.charged_pv_wh, result.charged_grid_wh)
        if not all(math.isfinite(p) and p >= 0 for p in parts):
            return f"increments {parts} are not finite and >= 0"
        span = max(at - self._split_at, self.config.cycle_time)
        bound = self.config.plant_power_limit * span / 3600 + 1.0
        if max(parts) > bound:
            return (
                f"{max(parts):.3g} Wh in {span:.0f} s is more than plant_power_limit"
                f" {self.config.plant_power_limit:.0f} W could charge"
            )
        return None

    def _account(self, result: CycleResult, at: float) -> None:
        day = local_day(at)
        if day != self.energy_day:
            self.energy_day = day
            self.energy_today = {"pv": 0.0, "grid": 0.0}
        problem = self._implausible_energy(result, at)
        if problem is not None:
            self._absurd_energy.seen(problem)
            return
        self._absurd_energy.over()
        if result.charged_pv_wh or result.charged_grid_wh:
            self._split_at = at
        self.energy_today["pv"] += result.charged_pv_wh
        self.energy_today["grid"] += result.charged_grid_wh
        metrics.TOTAL_CHARGED.inc(result.charged_wh)
        metrics.CHARGED.labels("pv").inc(result.charged_pv_wh)
        metrics.CHARGED.labels("grid").inc(result.charged_grid_wh)
