"""The relay service: switches 1/3-phase charging, never while the wallbox draws current."""

from __future__ import annotations

import asyncio

from prometheus_client import Gauge

from pvcontrol.broker import BrokerAddress
from pvcontrol.commands import CommandError, parse_int
from pvcontrol.models import RelayData, WallboxData, now
from pvcontrol.plausibility import MAX_FUTURE_SKEW
from pvcontrol.readings import TrustedReading
from pvcontrol.service import ConfiguredService
from pvcontrol.topics import Topics
from services.relay.device import PhaseRelay
from services.relay.settings import RelaySettings

PHASES = Gauge("pvcontrol_phase_relay_phases", "Phases switched by the relay (0 = disabled)")
ENERGISED = Gauge("pvcontrol_phase_relay", "1 while the relay is energised")


def switch_refusal(wallbox: WallboxData | None, at: float, stale_after: float) -> str | None:
    """Why the relay must not switch now, or None when the wallbox is known to be idle."""
    if wallbox is None:
        return "no trusted wallbox state"
    if at - wallbox.ts > stale_after:
        return f"wallbox state is stale ({at - wallbox.ts:.0f} s old)"
    if wallbox.ts - at > MAX_FUTURE_SKEW:
        return f"wallbox state is dated {wallbox.ts - at:.0f} s in the future"
    if wallbox.phases_out > 0 or wallbox.power > 0:
        return f"wallbox is charging (phases_out={wallbox.phases_out}, power={wallbox.power} W)"
    return None


def settle_remaining(busy_at: float | None, at: float, settle: float) -> float:
    """Seconds until the wallbox has been idle for `settle` s since it last showed load (or sent an
    untrusted state). One forged idle document between two real ones showing load cannot get a switch
    through: the real ones keep restarting this wait."""
    if busy_at is None:
        return 0.0
    return max(0.0, settle - (at - busy_at))


class RelayService(ConfiguredService[RelaySettings]):
    name = "relay"

    def __init__(
        self, config: RelaySettings, relay: PhaseRelay, broker: BrokerAddress, topics: Topics
    ) -> None:
        super().__init__(config, broker, topics)
        self.relay = relay
        self.wallbox: WallboxData | None = None
        self._wallbox_reading = TrustedReading(WallboxData, "wallbox", self.log, config.plant_power_limit)
        self._busy_at: float | None = None
        self._deferred: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()
        self.link.on(topics.command("relay", "phases"), self._on_phases)
        self.link.on(topics.state("wallbox"), self._on_wallbox_state)

    def state(self) -> RelayData:
        return RelayData(
            ts=now(),
            enabled=self.relay.enabled,
            phase_relay=self.relay.is_energised(),
            phases=self.relay.phases(),
        )

    async def _on_wallbox_state(self, payload: bytes) -> None:
        self.wallbox = self._wallbox_reading.receive(payload)
        if self.wallbox is None or self.wallbox.phases_out > 0 or self.wallbox.power > 0:
            self._busy_at = now()

    async def _on_phases(self, payload: bytes) -> None:
        phases = parse_int(payload, 1, 3)
        if phases == 2:
            raise CommandError("invalid value 2, expected 1 or 3")
        if not self.relay.enabled:
            raise CommandError("the phase relay is disabled")
        if self._deferred is not None:
            self._deferred.cancel()  # the newest command wins
            self._deferred = None
        if phases == self.relay.phases():
            return
        self._check_idle(phases)
        wait = settle_remaining(self._busy_at, now(), self.config.idle_settle)
        if wait > 0:
            self.log.info("switching to %d phases in %.1f s if the wallbox stays idle", phases, wait)
            self._deferred = asyncio.create_task(self._switch_later(phases, wait))
            return
        self._switch(phases)

    def _check_idle(self, phases: int) -> None:
        refusal = switch_refusal(self.wallbox, now(), self.config.stale_after)
        if refusal is not None:
            raise CommandError(f"refusing to switch to {phases} phases: {refusal}")

    async def _switch_later(self, phases: int, wait: float) -> None:
        """A command that came while the wallbox had only just gone idle: switch once it has settled,
        checking everything again then. Load seen meanwhile refuses it: a command never waits long
        enough to act on a situation its sender no longer knows."""
        busy_at = self._busy_at
        await asyncio.sleep(wait)
        self._deferred = None
        try:
            if self._busy_at != busy_at:
                raise CommandError(f"refusing to switch to {phases} phases: the wallbox showed load again")
            self._check_idle(phases)
        except CommandError as e:
            topic = self.topics.command("relay", "phases")
            await self.link.report_rejection(topic, str(phases).encode(), str(e))
            return
        self._switch(phases)

    def _switch(self, phases: int) -> None:
        self.relay.set_phases(phases)
        self.log.info("switched to %d phases", phases)
        self._changed.set()

    async def main(self, stop: asyncio.Event) -> None:
        try:
            while not stop.is_set():
                state = self.state()
                PHASES.set(state.phases)
                ENERGISED.set(int(state.phase_relay))
                await self.publish_state(state)
                self._changed.clear()
                await self._wait_for_change(stop)
        finally:
            if self._deferred is not None:
                self._deferred.cancel()
            self.relay.close()

    async def _wait_for_change(self, stop: asyncio.Event) -> None:
        waiters = {asyncio.create_task(self._changed.wait()), asyncio.create_task(stop.wait())}
        try:
            await asyncio.wait(
                waiters, timeout=self.config.publish_interval, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for waiter in waiters:
                waiter.cancel()
