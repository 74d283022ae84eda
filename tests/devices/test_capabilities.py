"""Capabilities as types: which wallboxes switch phases themselves, which are simulations, which meters need
the wallbox's power. The services check them with `isinstance`, not with a base method that raises."""

from __future__ import annotations

import asyncio
import time

import pytest

from pvcontrol.broker import BrokerAddress
from pvcontrol.device import DeviceError
from pvcontrol.models import RelayData
from pvcontrol.topics import Topics
from services.meter.fronius import FroniusMeter, FroniusMeterConfig
from services.meter.service import MeterService
from services.meter.simulated import SimulatedMeter, SimulatedMeterConfig
from services.wallbox._template import TemplateWallbox, TemplateWallboxConfig
from services.wallbox.capabilities import PhaseSwitcher, SimulatedCharger
from services.wallbox.device import Wallbox
from services.wallbox.goe import GoeWallbox, GoeWallboxConfig
from services.wallbox.ocpp import OcppWallbox, OcppWallboxConfig
from services.wallbox.service import WallboxService
from services.wallbox.simulated import (
    SimulatedWallbox,
    SimulatedWallboxConfig,
    SimulatedWallboxWithRelayConfig,
)

NOWHERE = BrokerAddress("127.0.0.1", 9)  # never connected: the services are only constructed
TOPICS = Topics("capabilities")


def adapters() -> dict[str, Wallbox]:
    return {
        "go-e": GoeWallbox(GoeWallboxConfig(url="http://127.0.0.1:9")),
        "OCPP": OcppWallbox(OcppWallboxConfig(charge_point_id="CP1")),
        "simulated": SimulatedWallbox(SimulatedWallboxConfig()),
        "template": TemplateWallbox(TemplateWallboxConfig(url="http://127.0.0.1:9")),
    }


def test_which_wallboxes_switch_phases_themselves_and_which_are_simulations() -> None:
    found = {
        name: (isinstance(wallbox, PhaseSwitcher), isinstance(wallbox, SimulatedCharger))
        for name, wallbox in adapters().items()
    }
    assert found == {
        "go-e": (True, False),
        "OCPP": (True, False),
        "simulated": (True, True),
        "template": (False, False),
    }


def test_native_phase_switching_asked_of_a_wallbox_without_it_is_a_config_error() -> None:
    """A DeviceError while the service is built: `pvcontrol wallbox` exits with 2 (bad config)."""
    wallbox = TemplateWallbox(TemplateWallboxConfig(url="http://127.0.0.1:9"))
    with pytest.raises(DeviceError, match="cannot switch phases itself"):
        WallboxService(SimulatedWallboxConfig(phase_switching="native"), wallbox, NOWHERE, TOPICS)


def relay_state(phases: int) -> bytes:
    return RelayData(ts=time.time(), enabled=True, phases=phases).model_dump_json().encode()


def test_the_relay_state_reaches_a_simulated_charger_and_is_only_checked_for_a_real_one() -> None:
    simulated = SimulatedWallbox(SimulatedWallboxWithRelayConfig(phases=3))
    real = GoeWallbox(GoeWallboxConfig(url="http://127.0.0.1:9"))
    services = [
        WallboxService(SimulatedWallboxWithRelayConfig(), simulated, NOWHERE, TOPICS),
        WallboxService(GoeWallboxConfig(url="http://127.0.0.1:9"), real, NOWHERE, TOPICS),
    ]

    async def scenario() -> None:
        for service in services:
            await service._on_relay_state(relay_state(1))
        assert (await simulated.read()).phases_in == 1

    asyncio.run(scenario())
    assert [service.relay.phases if service.relay else None for service in services] == [1, 1]


def test_the_meter_service_subscribes_to_the_wallbox_only_for_a_meter_that_needs_its_power() -> None:
    wallbox_state = TOPICS.state("wallbox")
    simulated = MeterService(SimulatedMeterConfig(), SimulatedMeter(SimulatedMeterConfig()), NOWHERE, TOPICS)
    real_config = FroniusMeterConfig(url="http://127.0.0.1:9")
    real = MeterService(real_config, FroniusMeter(real_config), NOWHERE, TOPICS)
    assert wallbox_state in simulated.link._handlers
    assert wallbox_state not in real.link._handlers
    assert real.car_power_user is None
