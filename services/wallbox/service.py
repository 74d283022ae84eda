"""The wallbox service: reads the charger, obeys `max_current`, `allow_charging`, `reset` commands."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from pvcontrol.broker import BrokerAddress
from pvcontrol.commands import CommandError, parse_bool, parse_enum, parse_int, parse_text
from pvcontrol.device import DeviceError
from pvcontrol.models import CarStatus, ControllerData, RelayData, WallboxData, WbError
from pvcontrol.plausibility import SourceCheck
from pvcontrol.polling import Poller
from pvcontrol.service import ConfiguredService, sleep_or_stop
from pvcontrol.topics import Topics
from services.wallbox import metrics
from services.wallbox.capabilities import PhaseSwitcher, SimulatedCharger
from services.wallbox.device import Wallbox
from services.wallbox.failsafe import ControllerWatchdog
from services.wallbox.native_phases import NativePhaseSwitch
from services.wallbox.settings import WallboxSettings

STOP_BEFORE_EXIT_TIMEOUT = 10.0  # s for the charger to take the stop when the process fails


def check_relay_phases(data: WallboxData, relay: RelayData | None) -> WallboxData:
    """The charger sees other phases than the relay switched: report PHASE_RELAY_ERR."""
    if relay is None or not relay.enabled or data.error or data.wb_error != WbError.OK:
        return data
    if data.phases_in != relay.phases:
        return data.model_copy(update={"wb_error": WbError.PHASE_RELAY_ERR})
    return data


def parse_car_status(payload: bytes) -> CarStatus:
    try:
        return CarStatus(parse_int(payload, 1, 4))
    except CommandError:
        return parse_enum(payload, CarStatus)


class WallboxService(ConfiguredService[WallboxSettings]):
    name = "wallbox"

    def __init__(
        self,
        config: WallboxSettings,
        wallbox: Wallbox,
        broker: BrokerAddress,
        topics: Topics,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(config, broker, topics)
        if config.phase_switching == "native" and not isinstance(wallbox, PhaseSwitcher):
            raise DeviceError(f"a {config.type} cannot switch phases itself (phase_switching native)")
        self.wallbox = wallbox
        self.plausible = SourceCheck[WallboxData](clock=clock, log=self.log)
        self.relay: RelayData | None = None
        self._device_lock = asyncio.Lock()
        self._reset_task: asyncio.Task[None] | None = None
        self.poller = Poller("wallbox", self._read, self._publish, WallboxData, self.log)
        self.link.on(topics.command("wallbox", "max_current"), self._on_max_current)
        self.link.on(topics.command("wallbox", "allow_charging"), self._on_allow_charging)
        self.link.on(topics.command("wallbox", "reset"), self._on_reset)
        self.link.on(topics.command("wallbox", "car_status"), self._on_car_status)
        self.link.on(topics.command("wallbox", "phases"), self._on_phases)
        self.native_phases = NativePhaseSwitch(
            wallbox,
            self._device_lock,
            self._read_and_publish,
            config.phase_switch_timeout,
            min(1.0, config.poll_interval),
            self.log,
            settle=config.phase_switch_settle,
        )
        self._phase_task: asyncio.Task[None] | None = None
        self._phase_target = 0
        self.link.on(topics.state("relay"), self._on_relay_state)
        self.failsafe = ControllerWatchdog(config.controller_timeout, self.log)
        self.link.on_delivery(topics.state("controller"), self._on_controller_state)

    async def _read(self) -> WallboxData:
        async with self._device_lock:
            data = await self.wallbox.read()
        return check_relay_phases(self.plausible.check(data), self.relay)

    async def _publish(self, data: WallboxData) -> None:
        metrics.record(data)
        await self.publish_state(data)

    async def _write(self, what: str, action: Awaitable[None]) -> None:
        try:
            async with self._device_lock:
                await action
        except DeviceError as e:
            raise CommandError(f"wallbox did not accept {what}: {e}") from e
        self.log.info("set %s", what)
        await self.poller.poll_once()

    async def _on_max_current(self, payload: bytes) -> None:
        amperes = parse_int(payload, self.config.min_supported_current, self.config.max_supported_current)
        await self._write(f"max_current={amperes}", self.wallbox.set_max_current(amperes))

    async def _on_allow_charging(self, payload: bytes) -> None:
        allowed = parse_bool(payload)
        if allowed and self.failsafe.holds_stop():
            raise CommandError(
                f"allow_charging=true refused: no controller state for {self.failsafe.silent():.0f} s in a PV"
                " mode (failsafe); charging may start again once the controller is heard"
            )
        if self.native_phases.busy:
            self.native_phases.allow_wanted = allowed  # charging resumes (or not) once the switch is done
            if allowed:
                self.log.info("allow_charging=True held until the phase switch is done")
                return
        await self._write(f"allow_charging={allowed}", self.wallbox.allow_charging(allowed))

    async def _on_reset(self, payload: bytes) -> None:
        parse_text(payload)  # any value resets, but an oversized or binary one is rejected
        await self._write("reset", self.wallbox.reset())

    async def _on_car_status(self, payload: bytes) -> None:
        if not self.config.car_status_settable or not isinstance(self.wallbox, SimulatedCharger):
            raise CommandError(
                f"car_status cannot be set on a {self.config.type} (car_status_settable false)"
            )
        status = parse_car_status(payload)
        self.wallbox.set_car_status(status)
        self.log.info("set car_status=%s", status.name)
        await self.poller.poll_once()

    async def _on_phases(self, payload: bytes) -> None:
        phases = parse_int(payload, 1, 3)
        if phases == 2:
            raise CommandError("phases must be 1 or 3")
        if self.config.phase_switching != "native":
            raise CommandError(f"this wallbox does not switch phases itself ({self.config.phase_switching})")
        if self._phase_task is not None and not self._phase_task.done():
            if phases == self._phase_target:
                return  # the controller repeats its wish every cycle while the switch runs
            raise CommandError(f"a switch to {self._phase_target} phase(s) is under way")
        self._phase_target = phases
        # A switch waits for the charger to stop drawing current: it must not hold up other commands.
        self._phase_task = asyncio.create_task(self._switch_phases(phases, payload))

    async def _switch_phases(self, phases: int, payload: bytes) -> None:
        try:
            switched = await self.native_phases.switch(phases, lambda: self.failsafe.tripped)
        except DeviceError as e:
            topic = self.topics.command("wallbox", "phases")
            await self.link.report_rejection(topic, payload, f"phases={phases} not switched: {e}")
        else:
            if not switched:
                self.log.info("already on %d phase(s)", phases)
        await self.poller.poll_once()

    async def _read_and_publish(self) -> WallboxData:
        """For the phase switch: a reading that fails is an error, not the last good data."""
        data = await self._read()
        await self._publish(data)
        return data

    async def _on_relay_state(self, payload: bytes) -> None:
        relay = self.parse_state(RelayData, payload, "relay")
        if relay is None:
            return
        switched = self.relay is not None and self.relay.enabled and relay.phases != self.relay.phases
        self.relay = relay
        if isinstance(self.wallbox, SimulatedCharger):
            self.wallbox.on_relay_state(relay)
        if switched:
            if self._reset_task is not None:
                self._reset_task.cancel()  # one reset after the last switch is enough
            self._reset_task = asyncio.create_task(self._reset_after_switch())

    async def _reset_after_switch(self) -> None:
        """The charger needs a reset to see the new phases (as in the original)."""
        await asyncio.sleep(self.config.switch_phases_reset_delay)
        try:
            await self._write("reset after phase switch", self.wallbox.reset())
        except CommandError as e:
            self.log.warning("%s", e)

    async def _on_controller_state(self, payload: bytes, retained: bool) -> None:
        state = self.parse_state(ControllerData, payload, "controller")
        if state is not None:
            self.failsafe.heard(state, live=not retained)

    async def _watch_controller(self, stop: asyncio.Event) -> None:
        """Stop PV charging when the controller (or the broker) has gone silent: nobody else would."""
        while not stop.is_set():
            await sleep_or_stop(stop, self.failsafe.check_interval)
            if self.failsafe.should_stop():
                try:
                    await self._write("allow_charging=False (failsafe)", self.wallbox.allow_charging(False))
                except CommandError as e:
                    self.log.warning("failsafe stop failed, retrying: %s", e)
                else:
                    self.failsafe.stopped()

    async def stop_charging(self, reason: str) -> bool:
        """Before the process exits on a failure: nobody would stop the charger afterwards (its failsafe
        dies with this process). False if the charger could not be told."""
        self.native_phases.allow_wanted = False  # a phase switch under way must not resume charging
        try:
            async with asyncio.timeout(STOP_BEFORE_EXIT_TIMEOUT), self._device_lock:
                await self.wallbox.allow_charging(False)
        except (DeviceError, TimeoutError) as e:
            self.log.error("could not stop charging before exiting (%s): %s", reason, e)
            return False
        self.log.warning("charging stopped before exiting: %s", reason)
        return True

    async def main(self, stop: asyncio.Event) -> None:
        try:
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(self._watch_controller(stop))
                await self.poller.run(self.config.poll_interval, stop)
        except Exception:
            await self.stop_charging("the wallbox service failed")
            raise
        finally:
            if self._reset_task is not None:
                self._reset_task.cancel()
            if self._phase_task is not None:
                self._phase_task.cancel()
            await self.wallbox.close()
