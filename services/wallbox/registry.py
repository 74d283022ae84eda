"""Every wallbox type: its `type` name, the module with its config model and adapter, one line about it."""

from __future__ import annotations

from pvcontrol.registry import DeviceType, Registry
from services.wallbox.device import WallboxBase

WALLBOXES = Registry(
    "wallbox",
    WallboxBase,
    default="SimulatedWallboxWithRelay",
    devices=[
        DeviceType(
            "SimulatedWallbox",
            "services.wallbox.simulated",
            "SimulatedWallboxConfig",
            "SimulatedWallbox",
            "a simulated charger with fixed phases, or switching them itself (phase_switching native)",
            simulated=True,
        ),
        DeviceType(
            "SimulatedWallboxWithRelay",
            "services.wallbox.simulated",
            "SimulatedWallboxWithRelayConfig",
            "SimulatedWallbox",
            "a simulated charger whose phases follow the phase relay",
            simulated=True,
        ),
        DeviceType(
            "GoeWallbox",
            "services.wallbox.goe",
            "GoeWallboxConfig",
            "GoeWallbox",
            "go-e Charger HOME / Gemini, local HTTP API v1 or v2",
        ),
        DeviceType(
            "OcppWallbox",
            "services.wallbox.ocpp",
            "OcppWallboxConfig",
            "OcppWallbox",
            "any OCPP 1.6J charger; pv-control is its central system (websocket server)",
        ),
    ],
)
