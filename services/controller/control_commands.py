"""The user's commands to the controller (mode, phases, priority, the car's goals) and their restore
from the controller's own retained state of the previous run."""

from __future__ import annotations

import asyncio
import contextlib
from abc import abstractmethod
from dataclasses import replace
from typing import Any

from pvcontrol.broker import BrokerAddress
from pvcontrol.commands import CommandError, parse_enum
from pvcontrol.goal_commands import check_soc_order, parse_price_limit, parse_soc, plan_setting
from pvcontrol.models import ChargeMode, ControllerData, PhaseMode, Priority
from pvcontrol.topics import Topics
from pvcontrol.waiting import first_of
from services.controller.goal_control import GoalState
from services.controller.goals import Goals, parse_plan, plan_from_setting
from services.controller.inputs import ControllerInputs
from services.controller.model import LawState
from services.controller.settings import ControllerSettings


class ControlCommands(ControllerInputs):
    law_state: LawState
    energy_day: str
    energy_today: dict[str, float]
    _published: bool  # this run has published its state: its retained one is no longer the previous run's

    def __init__(self, config: ControllerSettings, broker: BrokerAddress, topics: Topics) -> None:
        super().__init__(config, broker, topics)
        self.goal_state = GoalState()
        self._restored = asyncio.Event()
        self.link.on(topics.state("controller"), self._on_own_state)
        command = topics.command
        self.link.on(command("controller", "desired_mode"), self._on_desired_mode)
        self.link.on(command("controller", "phase_mode"), self._on_phase_mode)
        self.link.on(command("controller", "desired_priority"), self._on_desired_priority)
        self.link.on(command("controller", "min_soc"), self._on_min_soc)
        self.link.on(command("controller", "limit_soc"), self._on_limit_soc)
        self.link.on(command("controller", "plan"), self._on_plan, accepts_empty=True)
        self.link.on(command("controller", "price_limit"), self._on_price_limit, accepts_empty=True)

    @abstractmethod
    async def _publish_state(self) -> None:
        """Publishes the state document at once (a command's answer)."""

    # --- restore ----------------------------------------------------------------------------------

    async def _wait_for_restore(self, stop: asyncio.Event) -> None:
        await first_of(stop, self.link.connected)
        await first_of(stop, self._restored, timeout=self.config.restore_timeout)
        self._restored.set()

    async def _on_own_state(self, payload: bytes) -> None:
        """Restore the user's choices once, from the retained state of the previous run (never from
        our own echo: once this run has published, it is too late)."""
        if self._restored.is_set() or self._published:
            return
        previous = self.parse_state(ControllerData, payload, "previous controller")
        if previous is not None:
            self._restore(previous)
        self._restored.set()

    def _restore(self, previous: ControllerData) -> None:
        phase_mode = self.law_state.phase_mode
        if previous.phase_mode != PhaseMode.DISABLED:
            phase_mode = previous.phase_mode
        self.law_state = replace(
            self.law_state,
            desired_mode=previous.desired_mode,
            mode=previous.mode,
            phase_mode=phase_mode,
            desired_priority=previous.desired_priority,
            priority=previous.priority,
        )
        if previous.energy_day == self.energy_day:
            self.energy_today = {"pv": previous.energy_today_pv, "grid": previous.energy_today_grid}
        plan = None
        if previous.plan is not None:
            with contextlib.suppress(CommandError):
                setting = plan_setting(previous.plan.model_dump(include={"soc", "time", "days"}))
                plan = plan_from_setting(setting)
        goals = Goals(
            min_soc=previous.min_soc,
            limit_soc=previous.limit_soc,
            plan=plan,
            price_limit=previous.price_limit,
        )
        self.goal_state = replace(self.goal_state, goals=goals)
        self.log.info(
            "restored desired_mode=%s phase_mode=%s desired_priority=%s",
            previous.desired_mode.value,
            phase_mode.value,
            previous.desired_priority.value,
        )

    # --- commands ---------------------------------------------------------------------------------

    async def _on_desired_mode(self, payload: bytes) -> None:
        mode = parse_enum(payload, ChargeMode)
        self.law_state = replace(self.law_state, desired_mode=mode)
        self.goal_state = replace(self.goal_state, resume_max=False)
        self.log.info("desired_mode=%s", mode.value)
        await self._publish_state()

    async def _on_phase_mode(self, payload: bytes) -> None:
        phase_mode = parse_enum(payload, PhaseMode)
        if phase_mode == PhaseMode.DISABLED:
            raise CommandError("invalid value 'DISABLED', expected one of AUTO, CHARGE_1P, CHARGE_3P")
        if not self.phases_switchable:
            raise CommandError(
                "phase mode cannot be changed: no phase relay is enabled and the wallbox cannot switch"
            )
        self.law_state = replace(self.law_state, phase_mode=phase_mode)
        self.log.info("phase_mode=%s", phase_mode.value)
        await self._publish_state()

    async def _on_desired_priority(self, payload: bytes) -> None:
        priority = parse_enum(payload, Priority)
        self.law_state = replace(self.law_state, desired_priority=priority)
        self.log.info("desired_priority=%s", priority.value)
        await self._publish_state()

    async def _on_min_soc(self, payload: bytes) -> None:
        soc = parse_soc(payload, "min_soc")
        check_soc_order(soc, self.goal_state.goals.limit_soc, "min_soc")
        await self._set_goals(min_soc=soc)

    async def _on_limit_soc(self, payload: bytes) -> None:
        soc = parse_soc(payload, "limit_soc")
        check_soc_order(self.goal_state.goals.min_soc, soc, "limit_soc")
        await self._set_goals(limit_soc=soc)

    async def _on_plan(self, payload: bytes) -> None:
        await self._set_goals(plan=parse_plan(payload))

    async def _on_price_limit(self, payload: bytes) -> None:
        await self._set_goals(price_limit=parse_price_limit(payload))

    async def _set_goals(self, **changes: Any) -> None:
        goals = replace(self.goal_state.goals, **changes)
        self.goal_state = replace(self.goal_state, goals=goals, plan_charging=False)
        self.log.info("goals %s", " ".join(f"{k}={v}" for k, v in changes.items()))
        await self._publish_state()
