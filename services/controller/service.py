"""The controller service: runs the control law every `cycle_time` s on the latest readings.

`controller.strategy` picks the law once (strategies.py): `tracking` (tracking.py, the default; also on
every fresh meter reading, and still at least every `cycle_time`) or `original` (law.py, every
`cycle_time`)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
from dataclasses import replace
from datetime import datetime
from typing import Any

from pvcontrol.broker import BrokerAddress
from pvcontrol.commands import CommandError, parse_enum
from pvcontrol.goal_commands import check_soc_order, parse_price_limit, parse_soc, plan_setting
from pvcontrol.models import (
    CarData,
    ChargeMode,
    ControllerData,
    ForecastData,
    HomeBatteryState,
    MeterData,
    PhaseMode,
    Priority,
    RelayData,
    TariffData,
    WallboxData,
    now,
)
from pvcontrol.readings import TrustedReading
from pvcontrol.service import ConfiguredService, sleep_or_stop
from pvcontrol.throttle import Episode
from pvcontrol.topics import Topics
from services.controller import metrics
from services.controller.battery_plan import FORECAST_MAX_AGE
from services.controller.goal_control import GoalState, cycle_with_goals, plan_state
from services.controller.goals import Decision, Goals, parse_plan, plan_from_setting
from services.controller.model import Commands, CycleResult, LawInputs, LawState
from services.controller.price_plan import usable_tariff
from services.controller.settings import ControllerSettings
from services.controller.strategies import STRATEGIES


def local_day(ts: float) -> str:
    return datetime.fromtimestamp(ts).date().isoformat()


class ControllerService(ConfiguredService[ControllerSettings]):
    name = "controller"

    def __init__(self, config: ControllerSettings, broker: BrokerAddress, topics: Topics) -> None:
        super().__init__(config, broker, topics)
        self.strategy = STRATEGIES[config.strategy]
        self.law_state: LawState = self.strategy.initial_state(config)
        self._fresh_meter = asyncio.Event()  # a strategy may cycle on every fresh meter reading
        self._reason: str | None = None
        self._home_battery: HomeBatteryState | None = None
        self._sent: dict[str, int | bool] = {}  # last value sent per command, for the counters
        # An implausible or invalid reading replaces the last one with None: treated like stale data.
        self._meter_reading = TrustedReading(MeterData, "meter", self.log, config.plant_power_limit)
        self._wallbox_reading = TrustedReading(WallboxData, "wallbox", self.log, config.plant_power_limit)
        self._failing_cycles = Episode(self.log, "control cycle failed; PV charging stopped")
        self._absurd_energy = Episode(self.log, "implausible charged energy ignored")
        self._split_at = now()  # the last cycle that counted PV or grid energy: what an increment may span
        self.meter: MeterData | None = None
        self.wallbox: WallboxData | None = None
        self.relay: RelayData | None = None
        self.native_phases = False  # the wallbox switches phases itself (its config: phase_switching native)
        self._car_reading = TrustedReading(CarData, "car", self.log, config.plant_power_limit)
        self.car: CarData | None = None
        self._forecast_reading = TrustedReading(ForecastData, "forecast", self.log, config.plant_power_limit)
        self._stale_forecast = Episode(self.log, "forecast too old, planned without one")
        self.forecast: ForecastData | None = None
        self._tariff_reading = TrustedReading(TariffData, "tariff", self.log, config.plant_power_limit)
        self._stale_tariff = Episode(self.log, "tariff prices too old or none ahead, planned without prices")
        self.tariff: TariffData | None = None
        self.goal_state = GoalState()
        self._decision: Decision | None = None
        self.energy_day = local_day(now())
        self.energy_today = {"pv": 0.0, "grid": 0.0}
        self._restored = asyncio.Event()
        self._published = False
        self._pending_wish: bool | None = None
        self.link.on(topics.state("meter"), self._on_meter)
        self.link.on(topics.state("wallbox"), self._on_wallbox)
        self.link.on(topics.state("relay"), self._on_relay)
        self.link.on(topics.state("controller"), self._on_own_state)
        self.link.on(topics.command("controller", "desired_mode"), self._on_desired_mode)
        self.link.on(topics.command("controller", "phase_mode"), self._on_phase_mode)
        self.link.on(topics.command("controller", "desired_priority"), self._on_desired_priority)
        self.link.on(topics.state("car"), self._on_car)
        self.link.on(topics.state("forecast"), self._on_forecast)
        self.link.on(topics.state("tariff"), self._on_tariff)
        self.link.on(topics.config("wallbox"), self._on_wallbox_config)
        self.link.on(topics.command("controller", "min_soc"), self._on_min_soc)
        self.link.on(topics.command("controller", "limit_soc"), self._on_limit_soc)
        self.link.on(topics.command("controller", "plan"), self._on_plan, accepts_empty=True)
        self.link.on(topics.command("controller", "price_limit"), self._on_price_limit, accepts_empty=True)

    @property
    def relay_enabled(self) -> bool:
        return self.relay is not None and self.relay.enabled

    @property
    def phases_switchable(self) -> bool:
        """By a phase relay, or by the wallbox itself: the law then decides phases."""
        return self.relay_enabled or self.native_phases

    # --- readings ---------------------------------------------------------------------------------

    async def _on_meter(self, payload: bytes) -> None:
        self.meter = self._meter_reading.receive(payload)
        if self.strategy.every_reading and self.meter is not None:
            self._fresh_meter.set()

    async def _on_wallbox(self, payload: bytes) -> None:
        self.wallbox = self._wallbox_reading.receive(payload)

    async def _on_wallbox_config(self, payload: bytes) -> None:
        try:
            config = json.loads(payload)
        except ValueError:
            return
        native = isinstance(config, dict) and config.get("phase_switching") == "native"
        if native != self.native_phases:
            self.log.info(
                "phases are switched by %s", "the wallbox itself" if native else "a phase relay, if any"
            )
        self.native_phases = native

    async def _on_car(self, payload: bytes) -> None:
        self.car = self._car_reading.receive(payload)

    async def _on_forecast(self, payload: bytes) -> None:
        self.forecast = self._forecast_reading.receive(payload)

    def _usable_forecast(self, at: float) -> ForecastData | None:
        """The latest valid forecast, None once it is older than the law plans with (logged once)."""
        if self.forecast is None:
            return None
        age = at - self.forecast.ts
        if age > FORECAST_MAX_AGE:
            self._stale_forecast.seen(f"published {age:.0f} s ago")
            return None
        self._stale_forecast.over()
        return self.forecast

    async def _on_tariff(self, payload: bytes) -> None:
        self.tariff = self._tariff_reading.receive(payload)

    def _usable_tariff(self, at: float) -> TariffData | None:
        """The latest valid prices, None once they are stale or cover nothing ahead (logged once)."""
        if self.tariff is None:
            return None
        tariff = usable_tariff(self.tariff, at)
        if tariff is None:
            self._stale_tariff.seen(f"published {at - self.tariff.ts:.0f} s ago")
            return None
        self._stale_tariff.over()
        return tariff

    async def _on_relay(self, payload: bytes) -> None:
        self.relay = self.parse_state(RelayData, payload, "relay") or self.relay

    async def _on_own_state(self, payload: bytes) -> None:
        """Restore the user's choices once, from the retained state of the previous run (never from
        our own echo: once this run has published, it is too late)."""
        if self._restored.is_set() or self._published:
            return
        previous = self.parse_state(ControllerData, payload, "previous controller")
        if previous is not None:
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
        self._restored.set()

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

    # --- cycle ------------------------------------------------------------------------------------

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

    async def _send(self, commands: Commands) -> None:
        t = self.topics
        if commands.reset_wallbox:
            await self.link.publish_command(t.command("wallbox", "reset"), "1")
        if commands.phases is not None:
            topic = t.command("wallbox", "phases") if self.native_phases else t.command("relay", "phases")
            await self.link.publish_command(topic, str(commands.phases))
        if commands.max_current is not None:
            await self.link.publish_command(t.command("wallbox", "max_current"), str(commands.max_current))
        if commands.allow_charging is not None:
            value = "true" if commands.allow_charging else "false"
            await self.link.publish_command(t.command("wallbox", "allow_charging"), value)

    def _log_changes(self, before: LawState, after: LawState, commands: Commands) -> None:
        if (before.mode, before.desired_mode) != (after.mode, after.desired_mode):
            self.log.info("mode=%s desired_mode=%s", after.mode.value, after.desired_mode.value)
        sent = {k: v for k, v in vars(commands).items() if v not in (None, False)}
        if sent:
            self.log.info("commands %s", " ".join(f"{k}={v}" for k, v in sent.items()))

    def _count(self, commands: Commands) -> None:
        """Prometheus counters of what changed on the wallbox and the relay (repeats not counted)."""
        sent = {
            k: v
            for k, v in vars(commands).items()
            if v is not None and v is not False and self._sent.get(k) != v
        }
        self._sent.update(sent)
        if "allow_charging" in sent:
            (metrics.STARTS if sent["allow_charging"] else metrics.STOPS).inc()
        if "phases" in sent:
            metrics.PHASE_SWITCHES.inc()
        if "max_current" in sent:
            metrics.CURRENT_CHANGES.inc()

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
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(_first_of(stop, self._fresh_meter), max(seconds, 0))

    async def _wait_for_restore(self, stop: asyncio.Event) -> None:
        await _first_of(stop, self.link.connected)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(_first_of(stop, self._restored), self.config.restore_timeout)
        self._restored.set()


def _pending_reason(result: CycleResult) -> str | None:
    """The original law gives no reason; say at least what it waits for."""
    if result.allow_charging_wish is None:
        return None
    action = "starting" if result.allow_charging_wish else "stopping"
    return f"{action} in {max(result.state.allow_charging_delay, 0.0):.0f} s"


async def _first_of(*events: asyncio.Event) -> None:
    waiters = {asyncio.create_task(e.wait()) for e in events}
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
