"""Create the phase relay named by the settings."""

from __future__ import annotations

import logging

from services.relay.device import PhaseRelay, RelayBase
from services.relay.registry import RELAYS

log = logging.getLogger(__name__)


def create_relay(config: RelayBase, hostname: str) -> PhaseRelay:
    installed_on_host = getattr(config, "installed_on_host", None)
    if installed_on_host and installed_on_host != hostname:
        from services.relay.simulated import DisabledPhaseRelay

        log.info("the relay is installed on %s, this is %s: disabled", installed_on_host, hostname)
        return DisabledPhaseRelay()
    relay: PhaseRelay = RELAYS.create(config)
    return relay
