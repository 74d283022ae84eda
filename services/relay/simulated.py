"""A relay that only exists in memory, and the stand-in for an installation without one."""

from __future__ import annotations

from typing import Literal

from services.relay.device import PhaseRelay, RelayBase


class DisabledPhaseRelayConfig(RelayBase):
    type: Literal["DisabledPhaseRelay"] = "DisabledPhaseRelay"


class SimulatedPhaseRelayConfig(RelayBase):
    type: Literal["SimulatedPhaseRelay"] = "SimulatedPhaseRelay"
    phase_relay_type: Literal["NO", "NC"] = "NO"


def phases_for(energised: bool, relay_type: str) -> int:
    """NO (normally open): energised = 3 phases; NC: the reverse."""
    return 3 if energised == (relay_type == "NO") else 1


class SimulatedPhaseRelay(PhaseRelay):
    def __init__(self, config: SimulatedPhaseRelayConfig) -> None:
        self._type = config.phase_relay_type
        self._energised = False

    @property
    def enabled(self) -> bool:
        return True

    def is_energised(self) -> bool:
        return self._energised

    def phases(self) -> int:
        return phases_for(self._energised, self._type)

    def set_phases(self, phases: int) -> None:
        self._energised = phases_for(True, self._type) == phases


class DisabledPhaseRelay(PhaseRelay):
    def __init__(self, config: DisabledPhaseRelayConfig | None = None) -> None:
        pass

    @property
    def enabled(self) -> bool:
        return False

    def is_energised(self) -> bool:
        return False

    def phases(self) -> int:
        return 0

    def set_phases(self, phases: int) -> None:
        raise RuntimeError("the phase relay is disabled")
