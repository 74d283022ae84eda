"""Create the phase relay named by the settings."""

from __future__ import annotations

import logging

from pvcontrol.settings import (
    DisabledPhaseRelayConfig,
    RaspiPhaseRelayConfig,
    RelaySettings,
    SimulatedPhaseRelayConfig,
)
from services.relay.device import PhaseRelay

log = logging.getLogger(__name__)


def create_relay(config: RelaySettings, hostname: str) -> PhaseRelay:
    if isinstance(config, SimulatedPhaseRelayConfig):
        from services.relay.simulated import SimulatedPhaseRelay

        return SimulatedPhaseRelay(config)
    if isinstance(config, DisabledPhaseRelayConfig):
        from services.relay.simulated import DisabledPhaseRelay

        return DisabledPhaseRelay()
    if isinstance(config, RaspiPhaseRelayConfig):
        if config.installed_on_host and config.installed_on_host != hostname:
            from services.relay.simulated import DisabledPhaseRelay

            log.info("the relay is installed on %s, this is %s: disabled", config.installed_on_host, hostname)
            return DisabledPhaseRelay()
        from services.relay.raspi import RaspiPhaseRelay

        return RaspiPhaseRelay(config)
    raise NotImplementedError(f"{config.type} is not implemented yet")
