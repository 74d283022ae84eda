"""What the controller sends: the commands to the wallbox and the relay, their log lines and counters."""

from __future__ import annotations

from pvcontrol.broker import BrokerAddress
from pvcontrol.topics import Topics
from services.controller import metrics
from services.controller.inputs import ControllerInputs
from services.controller.model import Commands, LawState
from services.controller.settings import ControllerSettings


class ControllerOutputs(ControllerInputs):
    def __init__(self, config: ControllerSettings, broker: BrokerAddress, topics: Topics) -> None:
        super().__init__(config, broker, topics)
        self._sent: dict[str, int | bool] = {}  # last value sent per command, for the counters

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
