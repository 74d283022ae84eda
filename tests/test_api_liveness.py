"""Honest REST answers: a PUT that cannot reach its service answers 503 with the reason.

The gateway re-learns every service's liveness after each (re)connect to the broker instead of
trusting a retained `online` (a service that died while the broker was down never had its last will
sent). Fault injection with real processes: a broker that goes away, a controller killed meanwhile.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from getpass import getuser
from pathlib import Path

import httpx
import pytest

from services.api.liveness import LivenessTracker
from tests.helpers import (
    STARTUP_TIMEOUT,
    Broker,
    MqttProbe,
    accepts,
    free_port,
    gateway_ready,
    running,
    wait_until,
)

DESIRED_MODE = "/api/pvcontrol/controller/desired_mode"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def tracker() -> tuple[LivenessTracker, Clock]:
    clock = Clock()
    t = LivenessTracker(clock)
    t.config_received("controller", {"cycle_time": 10})  # window 2 x 10 + 5 s
    return t, clock


def test_retained_online_with_old_state_is_unknown(tracker: tuple[LivenessTracker, Clock]) -> None:
    t, clock = tracker
    t.status_received("controller", "online")
    t.state_received("controller", clock.now - 600)  # the retained copy of a long-dead service
    assert t.liveness("controller") == "unknown"
    assert "unknown" in (t.reason("controller") or "")


def test_second_state_message_is_live_whatever_its_ts(tracker: tuple[LivenessTracker, Clock]) -> None:
    t, clock = tracker
    t.status_received("controller", "online")
    t.state_received("controller", clock.now - 600)
    t.state_received("controller", clock.now - 600)  # only a live publication arrives twice
    assert t.liveness("controller") == "online"
    assert t.reason("controller") is None


def test_silence_longer_than_two_intervals_is_not_online(tracker: tuple[LivenessTracker, Clock]) -> None:
    t, clock = tracker
    t.status_received("controller", "online")
    t.state_received("controller", clock.now)
    clock.now += 25
    assert t.liveness("controller") == "online"
    clock.now += 1
    assert t.liveness("controller") == "unknown"
    assert "not responding" in (t.reason("controller") or "")
    t.state_received("controller", clock.now)
    assert t.liveness("controller") == "online"


def test_reconnect_forgets_life(tracker: tuple[LivenessTracker, Clock]) -> None:
    t, clock = tracker
    t.status_received("controller", "online")
    t.state_received("controller", clock.now)
    t.reconnected()
    assert t.liveness("controller") == "unknown"


def test_future_state_is_no_sign_of_life(tracker: tuple[LivenessTracker, Clock]) -> None:
    t, clock = tracker
    t.status_received("controller", "online")
    t.state_received("controller", clock.now + 3600)
    assert t.liveness("controller") == "unknown"


def test_offline_status_wins(tracker: tuple[LivenessTracker, Clock]) -> None:
    t, clock = tracker
    t.status_received("controller", "online")
    t.state_received("controller", clock.now)
    t.state_received("controller", clock.now)
    t.status_received("controller", "offline")
    assert t.liveness("controller") == "offline"
    assert t.reason("controller") == "controller is offline"


def test_the_car_publishes_irregularly_so_its_status_alone_counts() -> None:
    t = LivenessTracker(Clock())
    t.status_received("car", "online")
    assert t.liveness("car") == "online"
    t.status_received("car", "offline")
    assert t.liveness("car") == "offline"


# --- real processes -------------------------------------------------------------------------------


@contextmanager
def persistent_mosquitto(port: int, workdir: Path) -> Iterator[subprocess.Popen[bytes]]:
    """Mosquitto with persistence, as deployed: retained messages survive its restart. It saves them
    every second and when stopped with SIGTERM."""
    exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    config = workdir / "mosquitto.conf"
    # `user`: as root, mosquitto would switch to its own user, who may not write to `workdir`.
    lines = [f"listener {port} 127.0.0.1", "allow_anonymous true", "persistence true", f"user {getuser()}"]
    lines += ["autosave_interval 1", f"persistence_location {workdir}/", ""]
    config.write_text("\n".join(lines))
    with (workdir / "mosquitto.log").open("a") as log:
        proc = subprocess.Popen([exe, "-c", str(config)], stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: accepts(port), 10, f"mosquitto on port {port}")
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(10)


def _put_mode(url: str, mode: str = "PV_ONLY") -> httpx.Response:
    return httpx.put(f"{url}{DESIRED_MODE}", json=mode, timeout=5)


def _wait_for_503(url: str) -> httpx.Response:
    def refused() -> httpx.Response | None:
        response = _put_mode(url)
        return response if response.status_code == 503 else None

    return wait_until(refused, what="PUT answered 503")


def _sse_status(url: str) -> dict[str, str]:
    with httpx.stream("GET", f"{url}/api/pvcontrol/events", timeout=10) as response:
        for line in response.iter_lines():
            if line.startswith("data:"):
                status: dict[str, str] = json.loads(line[5:])["status"]
                return status
    raise AssertionError("no event")


def test_put_while_broker_is_down_is_503_with_reason(tmp_path: Path, prefix: str) -> None:
    port = free_port()
    broker = Broker("127.0.0.1", port)
    with persistent_mosquitto(port, tmp_path) as mosquitto:
        api_port = free_port()
        url = f"http://127.0.0.1:{api_port}"
        args = ["api", "--port", str(api_port), "--host", "127.0.0.1"]
        with running(args, broker, prefix, tmp_path):
            wait_until(lambda: gateway_ready(url), STARTUP_TIMEOUT, "gateway ready")
            probe = MqttProbe(broker, prefix)
            probe.start()
            probe.publish_json(f"{prefix}/controller/config", {"type": "Controller", "cycle_time": 30})
            probe.publish(f"{prefix}/controller/status", "online", retain=True)
            probe.publish_json(f"{prefix}/controller/state", {"ts": time.time()})
            wait_until(lambda: _put_mode(url).status_code == 204, what="PUT accepted")
            probe.stop()

            mosquitto.send_signal(signal.SIGTERM)
            mosquitto.wait(10)
            response = _wait_for_503(url)
            assert "not connected to the MQTT broker" in response.json()["detail"]
            assert _sse_status(url)["api"] == "offline"


def test_controller_killed_while_broker_down_is_not_online_after_reconnect(
    tmp_path: Path, prefix: str
) -> None:
    port = free_port()
    broker = Broker("127.0.0.1", port)
    controller_env = {"PVC_CONTROLLER__CYCLE_TIME": "1"}
    api_port = free_port()
    url = f"http://127.0.0.1:{api_port}"
    api_args = ["api", "--port", str(api_port), "--host", "127.0.0.1"]
    with (
        persistent_mosquitto(port, tmp_path) as mosquitto,
        running(api_args, broker, prefix, tmp_path),
        running(["controller"], broker, prefix, tmp_path, controller_env) as controller,
    ):
        wait_until(lambda: gateway_ready(url), STARTUP_TIMEOUT, "gateway ready")
        wait_until(lambda: _put_mode(url).status_code == 204, what="controller online")
        saved_after = time.time()
        database = tmp_path / "mosquitto.db"
        wait_until(lambda: database.exists() and database.stat().st_mtime > saved_after, what="saved")

        # The broker host loses power (a stopped mosquitto would send the wills of its clients);
        # meanwhile the controller dies: its last will is never sent.
        mosquitto.kill()
        mosquitto.wait(10)
        controller.proc.kill()
        controller.proc.wait(10)

        with persistent_mosquitto(port, tmp_path):
            probe = MqttProbe(broker, prefix)
            probe.start()
            try:
                # The broker restored the dead controller's retained `online` ...
                assert probe.wait_for(f"{prefix}/controller/status").payload == b"online"
                wait_until(lambda: gateway_ready(url), STARTUP_TIMEOUT, "gateway reconnected")
                # ... but the gateway does not believe it: no state comes any more.
                response = _wait_for_503(url)
                assert "controller" in response.json()["detail"]
                assert _sse_status(url)["controller"] != "online"
                mark = probe.mark()
                assert _put_mode(url).status_code == 503
                assert probe.since(mark, f"{prefix}/controller/desired_mode/set") == []

                # A controller that comes back is believed again.
                with running(["controller"], broker, prefix, tmp_path, controller_env):
                    wait_until(lambda: _put_mode(url, "PV_ALL").status_code == 204, what="back")
                    assert _sse_status(url)["controller"] == "online"
            finally:
                probe.stop()
