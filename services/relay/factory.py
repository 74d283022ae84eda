"""Create the phase relay named by the settings."""

from __future__ import annotations

from pvcontrol.settings import DisabledPhaseRelayConfig, RelaySettings, SimulatedPhaseRelayConfig
from services.relay.device import PhaseRelay


def create_relay(config: RelaySettings, hostname: str) -> PhaseRelay:
    if isinstance(config, SimulatedPhaseRelayConfig):
        from services.relay.simulated import SimulatedPhaseRelay

        return SimulatedPhaseRelay(config)
    if isinstance(config, DisabledPhaseRelayConfig):
        from services.relay.simulated import DisabledPhaseRelay

        return DisabledPhaseRelay()
    raise NotImplementedError(f"{config.type} is not implemented yet")
