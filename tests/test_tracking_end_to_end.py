"""`pvcontrol all` with the tracking strategy: real processes on simulated devices over Mosquitto."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers import (
    Broker,
    MqttProbe,
    ServiceProcess,
    put_once_online,
    running_all,
    wait_until,
)

# A quick sun (one |sin| bump of 7 kW per 40 s: 3 phases have their 4.2 kW for half of each bump) over
# FAST_SIMULATION (no home battery), the phase relay on, and the tracking strategy's timers shrunk to
# the sun's pace.
FAST_TRACKING = {
    "PVC_METER__PV_MAX": "7000",
    "PVC_METER__PV_PERIOD": "40",
    "PVC_WALLBOX__SWITCH_PHASES_RESET_DELAY": "0.1",
    "PVC_RELAY__IDLE_SETTLE": "0.6",
    "PVC_CONTROLLER__STRATEGY": "tracking",
    "PVC_CONTROLLER__CYCLE_TIME": "2",
    "PVC_CONTROLLER__TRACKING_START_DELAY": "1",
    "PVC_CONTROLLER__TRACKING_MAX_GRID_TIME": "0.5",
    "PVC_CONTROLLER__TRACKING_PHASE_UP_DELAY": "1",
    "PVC_CONTROLLER__TRACKING_PHASE_DOWN_DELAY": "1",
    "PVC_CONTROLLER__TRACKING_PHASE_MIN_DWELL": "2",
    "PVC_CONTROLLER__TRACKING_PHASE_SWITCHES_PER_DAY": "1000",
}


@pytest.fixture
def system(mqtt_broker: Broker, prefix: str, tmp_path: Path) -> Iterator[tuple[str, ServiceProcess]]:
    with running_all(mqtt_broker, prefix, tmp_path, FAST_TRACKING) as system:
        yield system


def test_tracking_follows_the_sun_on_1_and_3_phases_and_never_switches_under_load(
    system: tuple[str, ServiceProcess], probe: MqttProbe, prefix: str
) -> None:
    url, process = system
    put_once_online(url)  # PV_ONLY, once the controller is online
    wallbox, relay = f"{prefix}/wallbox/state", f"{prefix}/relay/state"
    probe.wait_json(wallbox, lambda w: w["allow_charging"] and w["power"] > 0, timeout=60)
    seen: set[tuple[int, int]] = set()

    def currents_on_both_phase_counts() -> bool:
        for m in probe.on(wallbox):
            w = m.json()
            if w["power"] > 0:
                seen.add((w["phases_out"], w["max_current"]))
        return {p for p, _ in seen} == {1, 3} and len(seen) >= 4

    try:
        # Three bumps of the sun a try; a loaded machine may need more than one.
        wait_until(currents_on_both_phase_counts, 240, "charging on 1 and on 3 phases at several currents")
    except AssertionError as timed_out:
        last_reasons = [m.json()["reason"] for m in probe.on(f"{prefix}/controller/state")][-12:]
        relay_states = [m.json() for m in probe.on(relay)][-4:]
        raise AssertionError(
            f"{timed_out}; seen {sorted(seen)}; reasons {last_reasons}; relay {relay_states}"
        ) from None
    # The sun goes down between two bumps: charging stops, never from the grid for long.
    probe.wait_json(wallbox, lambda w: not w["allow_charging"], after=probe.mark(), timeout=60)
    assert all(6 <= amps <= 16 for _, amps in seen)

    # The relay only ever switched while the wallbox reported no current.
    states = [m.json() for m in list(probe.messages) if m.topic in (wallbox, relay)]
    last_wallbox = None
    for doc in states:
        if "enabled" in doc:
            if last_wallbox is not None and doc["phases"] != last_wallbox["phases_in"]:
                assert (last_wallbox["power"], last_wallbox["phases_out"]) == (0, 0), (doc, last_wallbox)
        else:
            last_wallbox = doc

    controller = httpx.get(f"{url}/api/pvcontrol").json()["controller"]
    assert controller["mode"] == "PV_ONLY"
    assert controller["reason"]
    reasons = {m.json()["reason"] for m in probe.on(f"{prefix}/controller/state")} - {None}
    assert any(r.startswith("charging") for r in reasons), reasons
    assert any(r.startswith("surplus") or r.startswith("starting in") for r in reasons), reasons
    assert process.proc.poll() is None
