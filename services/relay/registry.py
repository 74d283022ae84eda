"""Every phase relay type: its `type` name, the module with its config model and adapter, a summary."""

from __future__ import annotations

from pvcontrol.registry import DeviceType, Registry
from services.relay.device import RelayBase

RELAYS = Registry(
    "relay",
    RelayBase,
    default="SimulatedPhaseRelay",
    devices=[
        DeviceType(
            "SimulatedPhaseRelay",
            "services.relay.simulated",
            "SimulatedPhaseRelayConfig",
            "SimulatedPhaseRelay",
            "a simulated phase relay",
            simulated=True,
        ),
        DeviceType(
            "DisabledPhaseRelay",
            "services.relay.simulated",
            "DisabledPhaseRelayConfig",
            "DisabledPhaseRelay",
            "no phase relay (fixed phases, or a wallbox that switches them itself)",
        ),
        DeviceType(
            "RaspiPhaseRelay",
            "services.relay.raspi",
            "RaspiPhaseRelayConfig",
            "RaspiPhaseRelay",
            "Waveshare RPi Relay Board on a Raspberry Pi (RPi.GPIO)",
        ),
    ],
)
