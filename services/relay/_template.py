"""Copy me to add a phase relay: `services/relay/<yourrelay>.py` holds the config model and the adapter.

Rename `TemplatePhaseRelay*` (keep `type` the name users write in `relay.type`), register it in
`services/relay/registry.py`, add a fake in `tests/fakes/`, a test in `tests/devices/` and a section with a
JSON and an env example in docs/devices.md. The relay service checks that the wallbox is idle before it
calls `set_phases`; the adapter must never switch on its own (not at start, not in `close`).
"""

from __future__ import annotations

from typing import Literal

from services.relay.device import PhaseRelay, RelayBase


class TemplatePhaseRelayConfig(RelayBase):
    type: Literal["TemplatePhaseRelay"] = "TemplatePhaseRelay"
    phase_relay_type: Literal["NO", "NC"] = "NO"


class TemplatePhaseRelay(PhaseRelay):
    def __init__(self, config: TemplatePhaseRelayConfig) -> None:
        self._three_phases_when_energised = config.phase_relay_type == "NO"
        self._energised = False  # read the real output's state here: a restart must not switch

    @property
    def enabled(self) -> bool:
        return True

    def is_energised(self) -> bool:
        return self._energised

    def phases(self) -> int:
        return 3 if self._energised == self._three_phases_when_energised else 1

    def set_phases(self, phases: int) -> None:
        self._energised = (phases == 3) == self._three_phases_when_energised
