"""Native phase switching (`phase_switching` native): the wallbox service pauses charging, waits until the
charger's measurements show no current for the settle time, switches, and resumes what was asked for.
Never a switch under load, whatever the status word says. The charger in-process runs on a fake clock
(one second per read), so the 15 s settle takes no real time."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from pvcontrol.device import DeviceError
from pvcontrol.models import CarStatus, WallboxData
from services.wallbox.device import Measurements, Wallbox
from services.wallbox.native_phases import NativePhaseSwitch
from tests.devices.test_service_processes import config_file, state
from tests.fakes.goe import FakeGoe
from tests.helpers import Broker, MqttProbe, running

POLL = 0.2


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class LaggingCharger(Wallbox):
    """Keeps drawing current for `lag` reads after it was told to stop, like a car that ramps down; every
    read is one second later. `measures`: each read is also a measurement of the current (like go-e's
    `nrg`); `status_lies`: its status says idle at once after the stop (like OCPP's SuspendedEVSE)."""

    def __init__(self, lag: int, phases: int = 3, measures: bool = True, status_lies: bool = False) -> None:
        self.lag = lag
        self.allowed = True
        self.phases = phases
        self.measures = measures
        self.status_lies = status_lies
        self.clock = FakeClock()
        self.draining = 0
        self.log: list[str] = []
        self.switched_under_load = 0
        self.switched_at: float | None = None
        self.last_drawn_at: float | None = None
        self.measured: Measurements | None = None
        self.on_pause: Callable[[], None] = lambda: None

    def _power(self) -> float:
        return self.phases * 16 * 230.0 if self.allowed or self.draining > 0 else 0.0

    async def read(self) -> WallboxData:
        self.clock.now += 1.0
        power = self._power()
        if power:
            self.last_drawn_at = self.clock.now
        if self.measures:
            at = self.clock.now
            self.measured = (self.measured or Measurements(at, None)).seen(at, power > 0)
        self.draining = max(0, self.draining - 1)
        self.log.append(f"read {power:.0f}")
        reported = 0.0 if self.status_lies and not self.allowed else power
        return WallboxData(
            ts=time.time(),
            car_status=CarStatus.Charging if reported else CarStatus.WaitingForVehicle,
            allow_charging=self.allowed,
            phases_in=self.phases,
            phases_out=self.phases if reported else 0,
            power=reported,
            max_current=16,
        )

    def measurements(self) -> Measurements | None:
        return self.measured

    async def set_max_current(self, amperes: int) -> None:
        self.log.append(f"current {amperes}")

    async def allow_charging(self, allowed: bool) -> None:
        if self.allowed and not allowed:
            self.draining = self.lag
            self.on_pause()
        self.allowed = allowed
        self.log.append(f"allow {allowed}")

    async def reset(self) -> None:
        self.log.append("reset")

    async def set_phases(self, phases: int) -> None:
        if self._power() > 0:
            self.switched_under_load += 1
        self.switched_at = self.clock.now
        self.phases = phases
        self.log.append(f"phases {phases}")


def switcher(charger: LaggingCharger, timeout: float = 60.0, settle: float = 3.0) -> NativePhaseSwitch:
    return NativePhaseSwitch(
        charger,
        asyncio.Lock(),
        charger.read,
        timeout,
        0.0,
        logging.getLogger("test"),
        clock=charger.clock,
        settle=settle,
    )


def test_pauses_waits_for_no_current_switches_and_resumes() -> None:
    charger = LaggingCharger(lag=3)
    assert asyncio.run(switcher(charger).switch(1, lambda: False)) is True
    assert charger.switched_under_load == 0
    first_switch = charger.log.index("phases 1")
    assert charger.log[: first_switch + 1] == [
        "read 11040", "allow False", "read 11040", "read 11040", "read 11040",
        "read 0", "read 0", "read 0", "phases 1",
    ]  # fmt: skip  # idle from the 4th read on; the 3rd idle second completes the 3 s settle
    assert charger.log[first_switch + 1 :] == ["allow True"]
    assert (charger.phases, charger.allowed) == (1, True)


@pytest.mark.parametrize("lag", [0, 1, 5, 12])
def test_a_status_that_says_idle_at_once_is_not_believed_while_current_is_measured(lag: int) -> None:
    """Like an OCPP charger that reports SuspendedEVSE right after the 0 A pause while its MeterValues
    still show 16 A per phase: the switch waits for 15 s of measured idle (the relay's settle)."""
    charger = LaggingCharger(lag=lag, status_lies=True)
    assert asyncio.run(switcher(charger, settle=15.0).switch(1, lambda: False)) is True
    assert charger.switched_under_load == 0
    assert charger.switched_at is not None
    assert charger.last_drawn_at is not None
    stopped_at = 1001.0  # the first read was at 1001; the pause right after it
    assert charger.switched_at == max(charger.last_drawn_at, stopped_at) + 15.0


def test_without_measurements_it_waits_the_settle_time_after_the_stop_and_says_so_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    charger = LaggingCharger(lag=0, measures=False)
    switch = switcher(charger, settle=15.0)
    with caplog.at_level(logging.WARNING, logger="test"):
        asyncio.run(switch.switch(1, lambda: False))
        assert charger.switched_at == 1001.0 + 15.0
        asyncio.run(switch.switch(3, lambda: False))
        assert charger.switched_under_load == 0
    unmeasured = [r for r in caplog.records if "measured no current" in r.getMessage()]
    assert len(unmeasured) == 1


def test_the_newest_measurement_showing_current_blocks_the_switch_even_when_old() -> None:
    """A charger that measured current after the stop and then went quiet (no MeterValues any more) is
    not switched on its status: only a measurement without current (or the timeout) ends the wait."""
    charger = LaggingCharger(lag=2, status_lies=True)

    async def read_without_measuring() -> WallboxData:
        data = await LaggingCharger.read(charger)
        if charger.draining == 0 and not charger.allowed:
            charger.measures = False  # the last measurement it made showed current
        return data

    charger.read = read_without_measuring  # type: ignore[method-assign]
    with pytest.raises(DeviceError, match="not switched"):
        asyncio.run(switcher(charger, timeout=20.0, settle=5.0).switch(1, lambda: False))
    assert (charger.phases, charger.switched_under_load) == (3, 0)


def test_a_charger_that_keeps_drawing_current_is_not_switched_and_charging_resumes() -> None:
    charger = LaggingCharger(lag=10**6)
    with pytest.raises(DeviceError, match="not switched"):
        asyncio.run(switcher(charger, timeout=10.0).switch(1, lambda: False))
    assert "phases 1" not in charger.log
    assert (charger.phases, charger.allowed, charger.switched_under_load) == (3, True, 0)


def test_nothing_happens_on_the_phases_it_already_has() -> None:
    charger = LaggingCharger(lag=3)
    assert asyncio.run(switcher(charger).switch(3, lambda: False)) is False
    assert charger.log == ["read 11040"]


def test_an_idle_charger_is_switched_after_the_settle_time_and_stays_off() -> None:
    charger = LaggingCharger(lag=0)
    charger.allowed = False
    asyncio.run(switcher(charger).switch(1, lambda: False))
    assert charger.log == ["read 0", "read 0", "read 0", "read 0", "phases 1"]
    assert charger.allowed is False


def test_a_stop_asked_for_during_the_switch_and_the_failsafe_win_over_resuming() -> None:
    charger = LaggingCharger(lag=3)
    switch = switcher(charger)

    # what the wallbox service does with an allow_charging=false that arrives during the switch
    charger.on_pause = lambda: setattr(switch, "allow_wanted", False)
    asyncio.run(switch.switch(1, lambda: False))
    assert charger.allowed is False
    charger = LaggingCharger(lag=3)
    asyncio.run(switcher(charger).switch(1, lambda: True))  # the failsafe stopped charging meanwhile
    assert (charger.phases, charger.allowed) == (1, False)


def test_simulated_wallbox_switches_natively_over_mqtt(
    mqtt_broker: Broker, probe: MqttProbe, prefix: str, tmp_path: Path
) -> None:
    wallbox = {
        "type": "SimulatedWallbox",
        "phase_switching": "native",
        "poll_interval": POLL,
        "phase_switch_settle": 0.5,  # it measures nothing: 0.5 s after the stop
    }
    with running(
        ["wallbox", "-c", config_file(tmp_path, {"wallbox": wallbox})], mqtt_broker, prefix, tmp_path
    ):
        config = probe.wait_json(f"{prefix}/wallbox/config", lambda c: c["type"] == "SimulatedWallbox")
        assert (config["phase_switching"], config["car_status_settable"]) == ("native", True)
        probe.wait_for(f"{prefix}/wallbox/status", lambda m: m.payload == b"online")
        probe.publish(f"{prefix}/wallbox/max_current/set", "10")
        probe.publish(f"{prefix}/wallbox/allow_charging/set", "true")
        state(probe, prefix, "wallbox", lambda s: s["power"] == 3 * 10 * 230.0)

        mark = probe.mark()
        probe.publish(f"{prefix}/wallbox/phases/set", "1")
        after = state(probe, prefix, "wallbox", lambda s: s["phases_in"] == 1 and s["power"] > 0, mark)
        assert (after["power"], after["allow_charging"], after["phases_out"]) == (1 * 10 * 230.0, True, 1)
        between = [m.json() for m in probe.since(mark, f"{prefix}/wallbox/state")]
        changed = next(i for i, s in enumerate(between) if s["phases_in"] == 1)
        assert changed > 0
        assert between[changed - 1]["power"] == 0  # the last state before the switch: idle
        assert probe.on(f"{prefix}/wallbox/error") == []

        for payload in ("2", "1.0", "4"):
            mark = probe.mark()
            probe.publish(f"{prefix}/wallbox/phases/set", payload)
            error = probe.wait_json(f"{prefix}/wallbox/error", lambda e: True, after=mark)
            assert error["payload"] == payload


def test_a_wallbox_without_native_switching_refuses_phases(
    mqtt_broker: Broker, probe: MqttProbe, prefix: str, tmp_path: Path
) -> None:
    with running(["wallbox", "--wallbox", "SimulatedWallboxWithRelay"], mqtt_broker, prefix, tmp_path):
        config = probe.wait_json(
            f"{prefix}/wallbox/config", lambda c: c["type"] == "SimulatedWallboxWithRelay"
        )
        assert config["phase_switching"] == "relay"
        probe.wait_for(f"{prefix}/wallbox/status", lambda m: m.payload == b"online")
        probe.publish(f"{prefix}/wallbox/phases/set", "1")
        error = probe.wait_json(f"{prefix}/wallbox/error", lambda e: True)
        assert "does not switch phases itself" in error["error"]


def test_goe_v2_switches_with_psm_only_after_charging_paused(
    mqtt_broker: Broker, probe: MqttProbe, prefix: str, tmp_path: Path
) -> None:
    with FakeGoe(api="v2") as goe:
        goe.state.frc = 2  # charging, forced on (as pv-control leaves it)
        wallbox = {
            "type": "GoeWallbox",
            "url": goe.url,
            "poll_interval": POLL,
            "phase_switching": "native",
            "phase_switch_settle": 0.5,
        }
        with running(
            ["wallbox", "-c", config_file(tmp_path, {"wallbox": wallbox})], mqtt_broker, prefix, tmp_path
        ):
            config = probe.wait_json(f"{prefix}/wallbox/config", lambda c: c["type"] == "GoeWallbox")
            assert (config["phase_switching"], config["car_status_settable"]) == ("native", False)
            state(probe, prefix, "wallbox", lambda s: s["error"] == 0 and s["phases_out"] == 3)
            mark = probe.mark()
            probe.publish(f"{prefix}/wallbox/phases/set", "1")
            state(probe, prefix, "wallbox", lambda s: s["phases_in"] == 1 and s["phases_out"] == 1, mark)
            writes = [w for w in goe.writes if w[0] in ("frc", "psm")]
            assert writes == [("frc", "1"), ("psm", "1"), ("frc", "2")]
            assert goe.state.psm_switches_under_load == 0
            probe.publish(f"{prefix}/wallbox/car_status/set", "1")
            error = probe.wait_json(f"{prefix}/wallbox/error", lambda e: True)
            assert "car_status_settable false" in error["error"]


def test_goe_native_switching_needs_api_v2() -> None:
    from services.wallbox.goe import GoeWallboxConfig

    with pytest.raises(ValueError, match="needs API v2"):
        GoeWallboxConfig(url="http://x", api_version="v1", phase_switching="native")


def test_the_controller_repeating_its_wish_during_a_switch_is_no_error() -> None:
    """The wallbox service's handler, in-process: a repeat of the running switch is ignored, another one is
    refused, and the switch still happens once, idle."""
    from pvcontrol.broker import BrokerAddress
    from pvcontrol.commands import CommandError
    from pvcontrol.topics import Topics
    from services.wallbox.service import WallboxService
    from services.wallbox.simulated import SimulatedWallboxConfig

    charger = LaggingCharger(lag=3)
    config = SimulatedWallboxConfig(phase_switching="native")
    service = WallboxService(config, charger, BrokerAddress("127.0.0.1", 9), Topics("native"))
    service.native_phases.poll = 0.0
    service.native_phases.clock = charger.clock
    service.native_phases.settle = 3.0

    async def publish(_: WallboxData) -> None:
        return None

    service._publish = publish  # type: ignore[method-assign,assignment]  # no broker here

    async def scenario() -> None:
        await service._on_phases(b"1")
        await service._on_phases(b"1")  # repeated while busy: ignored
        with pytest.raises(CommandError, match="a switch to 1 phase"):
            await service._on_phases(b"3")
        assert service._phase_task is not None
        await service._phase_task

    asyncio.run(scenario())
    assert charger.log.count("phases 1") == 1
    assert charger.switched_under_load == 0
    assert (charger.phases, charger.allowed) == (1, True)
