"""The controller's last guard, in-process: whatever a reading contains (a wallbox energy counter of 1e308
Wh that slipped past every plausibility check), neither a control cycle nor building the state raises.
The law is replaced by one that returns the absurd increments such a counter produces."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from typing import Any

import pytest

from pvcontrol.broker import BrokerAddress
from pvcontrol.models import ChargeMode, ControllerData
from pvcontrol.topics import Topics
from services.controller import service as controller_service
from services.controller.cycle import Strategy
from services.controller.law import Commands, CycleResult, LawInputs, LawState
from services.controller.settings import ControllerSettings


@dataclass(frozen=True)
class ReplacedLaw(Strategy):
    """The service's strategy with its control cycle replaced."""

    law: Callable[[LawState], CycleResult] = lambda state: CycleResult(state, Commands())

    def control_cycle(self, state: LawState, settings: ControllerSettings, inputs: LawInputs) -> CycleResult:
        return self.law(state)


class Recorder:
    def __init__(self) -> None:
        self.states: list[ControllerData] = []
        self.commands: list[Commands] = []

    async def publish_state(self, state: Any) -> None:
        assert isinstance(state, ControllerData)
        ControllerData.model_validate_json(state.model_dump_json())  # what goes out is a valid document
        self.states.append(state)

    async def send(self, commands: Commands) -> None:
        self.commands.append(commands)


def service_with_law(
    monkeypatch: pytest.MonkeyPatch, increments: list[tuple[float, float]], mode: ChargeMode = ChargeMode.MAX
) -> tuple[controller_service.ControllerService, Recorder]:
    """A controller whose law charges `increments` (pv Wh, grid Wh), one pair per cycle."""
    queue = list(increments)

    def law(state: LawState) -> CycleResult:
        pv, grid = queue.pop(0)
        return CycleResult(state, Commands(), charged_wh=pv + grid, charged_pv_wh=pv, charged_grid_wh=grid)

    service = controller_service.ControllerService(
        ControllerSettings(cycle_time=30), BrokerAddress("127.0.0.1", 9), Topics("guard")
    )
    strategy = service.strategy
    service.strategy = ReplacedLaw(**{f.name: getattr(strategy, f.name) for f in fields(strategy)}, law=law)
    service.law_state = replace(service.law_state, desired_mode=mode, mode=mode)
    recorder = Recorder()
    monkeypatch.setattr(service, "publish_state", recorder.publish_state)
    monkeypatch.setattr(service, "_send", recorder.send)
    return service, recorder


def test_absurd_energy_increments_are_ignored_and_the_state_stays_valid(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    absurd = [(1e308, 0.0), (1.7e308, 0.0), (math.inf, 0.0), (math.nan, 0.0), (-5.0, 0.0), (0.0, 1.7e308)]
    service, recorder = service_with_law(monkeypatch, [*absurd, (10.0, 2.5), (1.7e308, 0.0), (4.0, 0.0)])

    async def cycles() -> None:
        for _ in range(9):
            await service.cycle()

    asyncio.run(cycles())
    assert len(recorder.states) == 9
    assert all(s.error == 0 for s in recorder.states)
    assert [(s.energy_today_pv, s.energy_today_grid) for s in recorder.states][5:] == [
        (0.0, 0.0),
        (10.0, 2.5),
        (10.0, 2.5),
        (14.0, 2.5),
    ]
    lines = [r.getMessage() for r in caplog.records if "implausible charged energy" in r.getMessage()]
    assert len([line for line in lines if "over after" not in line]) == 2  # two episodes: one line each


def test_a_plausible_large_increment_after_a_long_quiet_span_still_counts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    service, recorder = service_with_law(monkeypatch, [(3000.0, 0.0)])
    service._split_at -= 600  # nothing counted for 10 min (stale readings): 50 kW could charge 8.3 kWh
    asyncio.run(service.cycle())
    assert recorder.states[-1].energy_today_pv == 3000.0


def test_a_state_that_cannot_be_built_fails_the_cycle_safely_not_the_controller(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Should an inf get into today's energy anyway: the cycle stops PV charging, reports the failure on a
    valid state document and the next cycle works again."""
    service, recorder = service_with_law(monkeypatch, [(1.0, 0.0), (1.0, 0.0)], mode=ChargeMode.PV_ONLY)
    service.energy_today["pv"] = math.inf

    asyncio.run(service.cycle())
    failing = recorder.states[-1]
    assert failing.error == 1
    assert (failing.energy_today_pv, failing.energy_today_grid) == (0.0, 0.0)
    assert recorder.commands[-1] == Commands(allow_charging=False)
    asyncio.run(service.cycle())
    assert recorder.states[-1].error == 0
    assert recorder.states[-1].energy_today_pv == 1.0
