"""The controller service: runs the control law every `cycle_time` s on the latest readings.

`controller.strategy` picks the law once (strategies.py): `tracking` (tracking.py, the default; also on
every fresh meter reading, and still at least every `cycle_time`) or `original` (law.py, every
`cycle_time`). The readings it follows are in inputs.py, the user's commands and their restore in
control_commands.py, what it sends in outputs.py, today's energy in accounting.py; here the cycle, its
loop and the state document."""

from __future__ import annotations

import asyncio

from pvcontrol.broker import BrokerAddress
from pvcontrol.models import ChargeMode, ControllerData, HomeBatteryState, PhaseMode, now
from pvcontrol.service import sleep_or_stop
from pvcontrol.throttle import Episode
from pvcontrol.topics import Topics
from pvcontrol.waiting import first_of
from services.controller import metrics
from services.controller.accounting import EnergyAccounting, local_day
from services.controller.control_commands import ControlCommands
from services.controller.goal_control import cycle_with_goals, plan_state
from services.controller.goals import Decision
from services.controller.model import Commands, CycleResult, LawInputs
from services.controller.outputs import ControllerOutputs
from services.controller.settings import ControllerSettings
from services.controller.strategies import STRATEGIES

__all__ = ["ControllerService", "local_day"]


class ControllerService(ControlCommands, ControllerOutputs, EnergyAccounting):
    name = "controller"

    def __init__(self, config: ControllerSettings, broker: BrokerAddress, topics: Topics) -> None:
        self.strategy = STRATEGIES[config.strategy]
        self.law_state = self.strategy.initial_state(config)
        self._published = False
        super().__init__(config, broker, topics)
        self._reason: str | None = None
        self._home_battery: HomeBatteryState | None = None
        self._failing_cycles = Episode(self.log, "control cycle failed; PV charging stopped")
        self._decision: Decision | None = None
        self._pending_wish: bool | None = None

    def state_document(self) -> ControllerData:
        s = self.law_state
        pending = self._pending_wish is not None
        return ControllerData(
            ts=now(),
            mode=s.mode,
            desired_mode=s.desired_mode,
            phase_mode=s.phase_mode if self.phases_switchable else PhaseMode.DISABLED,
            priority=s.priority,
            desired_priority=s.desired_priority,
            allow_charging_wish=self._pending_wish,
            reason=self._reason,
            allow_charging_delay=max(s.allow_charging_delay, 0.0) if pending else None,
            energy_day=self.energy_day,
            energy_today_pv=round(self.energy_today["pv"], 3),
            energy_today_grid=round(self.energy_today["grid"], 3),
            min_soc=self.goal_state.goals.min_soc,
            limit_soc=self.goal_state.goals.limit_soc,
            plan=plan_state(self.goal_state, self._decision),
            price_limit=self.goal_state.goals.price_limit,
            soc=round(self._decision.soc.soc, 1) if self._decision else None,
            soc_source=self._decision.soc.source if self._decision else None,
            home_battery=self._home_battery,
        )

    async def _publish_state(self) -> None:
        self._published = True
        await self.publish_state(self.state_document())

    async def cycle(self) -> None:
        """One control cycle. Nothing a reading contains may end the controller: whatever fails here
        stops PV charging and is reported on the state, and the next cycle tries again."""
        before = self.law_state
        try:
            await self._cycle()
        except Exception as e:
            # A bug on some unforeseen input must neither stop the controller nor leave the car
            # charging from the grid in a PV mode: stop charging and try again next cycle. The
            # traceback is logged once per episode, not every cycle.
            self._failing_cycles.seen(f"{type(e).__name__}: {e}", exc_info=True)
            metrics.FAILED_CYCLES.inc()
            if before.desired_mode in (ChargeMode.PV_ONLY, ChargeMode.PV_ALL):
                await self._send(Commands(allow_charging=False))
            # Still alive and still taking commands (OFF helps): the state says how many cycles failed.
            self._published = True
            await self.publish_state(self._failing_state())
            return
        self._failing_cycles.over()

    def _failing_state(self) -> ControllerData:
        try:
            document = self.state_document()
        except Exception:  # the state itself cannot be built: the fields a cycle feeds start over
            self.energy_today = {"pv": 0.0, "grid": 0.0}
            self._decision = None
            self._reason = None
            self._home_battery = None
            document = self.state_document()
        return document.model_copy(update={"error": self._failing_cycles.count})

    async def _cycle(self) -> None:
        at = now()
        inputs = LawInputs(
            meter=self.meter,
            wallbox=self.wallbox,
            relay_enabled=self.phases_switchable,
            now=at,
            forecast=self._usable_forecast(at),
            tariff=self._usable_tariff(at),
        )
        before = self.law_state
        result, decision, goal_state = cycle_with_goals(
            self.strategy.control_cycle, before, self.config, inputs, self.goal_state, self.car
        )
        self._decision, self.goal_state = decision, goal_state
        self.law_state = result.state
        self._pending_wish = result.allow_charging_wish
        self._reason = self._decision.reason or result.reason or _pending_reason(result)
        self._home_battery = result.home_battery
        self._account(result, at)
        metrics.MODE.state(result.state.mode.value)
        self._log_changes(before, result.state, result.commands)
        await self._send(result.commands)
        self._count(result.commands)
        await self._publish_state()

    async def main(self, stop: asyncio.Event) -> None:
        await self._wait_for_restore(stop)
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            started = loop.time()
            self._fresh_meter.clear()
            await self.cycle()
            await self._until_next_cycle(stop, started + self.config.cycle_time)

    async def _until_next_cycle(self, stop: asyncio.Event, deadline: float) -> None:
        """Until `cycle_time` is over (every cycle publishes the state, the wallbox's heartbeat); the
        tracking strategy goes on at once with a fresh meter reading."""
        seconds = deadline - asyncio.get_running_loop().time()
        if not self.strategy.every_reading:
            await sleep_or_stop(stop, seconds)
            return
        await first_of(stop, self._fresh_meter, timeout=max(seconds, 0))


def _pending_reason(result: CycleResult) -> str | None:
    """The original law gives no reason; say at least what it waits for."""
    if result.allow_charging_wish is None:
        return None
    action = "starting" if result.allow_charging_wish else "stopping"
    return f"{action} in {max(result.state.allow_charging_delay, 0.0):.0f} s"
