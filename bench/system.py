"""The whole system's speed and memory: `python -m pvcontrol all` against a real Mosquitto on localhost.

Starts its own mosquitto on a free port (with the tests' helpers, tests/helpers.py) and `pvcontrol all`
with fast settings (1 s control cycle and polls, simulated devices, a topic prefix of its own), then
measures:

- startup: from starting the process to GET /readyz answering 200;
- RSS of the process 30 s after the start (idle, all services running);
- REST latency of GET /api/pvcontrol (sequential requests over one keep-alive connection);
- PUT /api/pvcontrol/controller/desired_mode until `P/controller/state` on MQTT shows the new mode;
- SSE fan-out: N clients on /api/pvcontrol/events, then a PUT; the time until every client has an event
  with the new mode, and the RSS growth while they are connected;
- shutdown: SIGTERM until the process has exited.

Every loop is bounded in count and time; all traffic stays on 127.0.0.1. Prints a markdown table.

    .venv/bin/python bench/system.py [--requests 500] [--tries 20] [--clients 50]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as mqtt
import psutil  # type: ignore[import-untyped]
from paho.mqtt.enums import CallbackAPIVersion

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.helpers import free_port, own_mosquitto, put_once_online, wait_until

HOST = "127.0.0.1"
MODES = ("PV_ONLY", "PV_ALL")
MIN_EVENT_INTERVAL = 0.25  # s, the gateway's event coalescing (services/api/events.py MIN_INTERVAL)
# Like a browser, the bench's HTTP clients send without Nagle's algorithm: a PUT's body written after its
# headers must not wait for the server's delayed ACK.
NODELAY = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]


def rss_mb(pid: int) -> float:
    return float(psutil.Process(pid).memory_info().rss) / 1e6


def percentile(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


@contextmanager
def mosquitto(workdir: Path, nodelay: bool) -> Iterator[int]:
    port = free_port()
    with own_mosquitto(port, workdir, [f"set_tcp_nodelay {str(nodelay).lower()}"]):
        yield port


class StateWatch:
    """Subscribes to `P/controller/state` and tells when its desired_mode becomes a given value."""

    def __init__(self, broker_port: int, prefix: str) -> None:
        self._topic = f"{prefix}/controller/state"
        self._cond = threading.Condition()
        self._mode: str | None = None
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-{uuid.uuid4().hex[:8]}")
        self._client.on_connect = self._on_connect
        self._client.on_message = self._on_message
        self._client.connect(HOST, broker_port)
        self._client.loop_start()

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        client.subscribe(self._topic)

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        try:
            mode = json.loads(message.payload)["desired_mode"]
        except (ValueError, KeyError, TypeError):
            return
        with self._cond:
            self._mode = mode
            self._cond.notify_all()

    def wait_for(self, mode: str, timeout: float) -> float | None:
        """The monotonic time the mode was seen, or None after `timeout`."""
        with self._cond:
            if self._cond.wait_for(lambda: self._mode == mode, timeout):
                return time.monotonic()
            return None

    def close(self) -> None:
        self._client.loop_stop()
        self._client.disconnect()


def put_mode(client: httpx.Client, mode: str) -> None:
    response = client.put("/api/pvcontrol/controller/desired_mode", json=mode)
    if response.status_code != 204:
        raise SystemExit(f"bench: PUT desired_mode {mode} answered {response.status_code}: {response.text}")


def measure_rest(client: httpx.Client, requests: int) -> list[float]:
    latencies = []
    for _ in range(requests):
        t0 = time.perf_counter()
        response = client.get("/api/pvcontrol")
        latencies.append((time.perf_counter() - t0) * 1000)
        response.raise_for_status()
    return latencies


def measure_mode_latency(client: httpx.Client, watch: StateWatch, tries: int) -> list[float]:
    put_mode(client, MODES[0])
    if watch.wait_for(MODES[0], 10) is None:
        raise SystemExit("bench: the controller state never showed PV_ONLY")
    latencies = []
    for i in range(tries):
        mode = MODES[(i + 1) % 2]
        t0 = time.monotonic()
        put_mode(client, mode)
        seen = watch.wait_for(mode, 10)
        if seen is None:
            raise SystemExit(f"bench: the controller state did not show {mode} within 10 s")
        latencies.append((seen - t0) * 1000)
    return latencies


async def sse_client(
    client: httpx.AsyncClient,
    connected: asyncio.Event,
    counter: list[int],
    n: int,
    changes: list[tuple[str, float]],
) -> None:
    """Connect, count in once the first event arrived, then note when each new `desired_mode` shows."""
    async with client.stream("GET", "/api/pvcontrol/events") as response:
        response.raise_for_status()
        last: str | None = None
        async for line in response.aiter_lines():
            if not line.startswith("data:"):
                continue
            mode = json.loads(line[5:])["controller"]["desired_mode"]
            if last is None:
                counter[0] += 1
                if counter[0] == n:
                    connected.set()
            elif mode != last:
                changes.append((mode, time.monotonic()))
            last = mode
    raise RuntimeError("the event stream ended")


async def _every_client_saw(changes: list[list[tuple[str, float]]], mode: str, since: float) -> list[float]:
    while True:
        seen = [next((t for m, t in reversed(c) if m == mode and t >= since), None) for c in changes]
        if all(t is not None for t in seen):
            return [t for t in seen if t is not None]
        await asyncio.sleep(0.005)


async def measure_sse(
    base_url: str, pid: int, clients: int, first_target: str, rounds: int
) -> dict[str, float]:
    """`rounds` PUTs (alternating modes) with every client connected: per round the time until every
    client had the event. Events are coalesced to one per 0.25 s (services/api/events.py), so a PUT
    waits 0-250 ms by chance; each round starts after a random pause, and the median over rounds is
    the figure to compare."""
    limits = httpx.Limits(max_connections=clients + 1, max_keepalive_connections=clients + 1)
    timeout = httpx.Timeout(30.0)
    rss_before = rss_mb(pid)
    transport = httpx.AsyncHTTPTransport(limits=limits, socket_options=NODELAY)
    async with httpx.AsyncClient(base_url=base_url, transport=transport, timeout=timeout) as client:
        connected = asyncio.Event()
        counter = [0]
        changes: list[list[tuple[str, float]]] = [[] for _ in range(clients)]
        t_connect = time.monotonic()
        tasks = [
            asyncio.create_task(sse_client(client, connected, counter, clients, changes[i]))
            for i in range(clients)
        ]
        slowest: list[float] = []
        medians: list[float] = []
        try:
            await asyncio.wait_for(connected.wait(), 30)
            connect_s = time.monotonic() - t_connect
            rss_connected = rss_mb(pid)
            target = first_target
            rng = random.Random(1)
            for _ in range(rounds):
                # A user clicks at any time: right after the last event, every PUT would land at the
                # start of the gateway's 0.25 s coalescing pause and wait all of it.
                await asyncio.sleep(rng.uniform(0, 2 * MIN_EVENT_INTERVAL))
                t0 = time.monotonic()
                response = await client.put("/api/pvcontrol/controller/desired_mode", json=target)
                if response.status_code != 204:
                    raise SystemExit(f"bench: PUT desired_mode answered {response.status_code}")
                seen = await asyncio.wait_for(_every_client_saw(changes, target, t0), 30)
                delays = sorted((t - t0) * 1000 for t in seen)
                medians.append(statistics.median(delays))
                slowest.append(delays[-1])
                target = MODES[(MODES.index(target) + 1) % 2]
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    return {
        "connect_s": connect_s,
        "p50_ms": statistics.median(medians),
        "all_p50_ms": statistics.median(slowest),
        "all_max_ms": max(slowest),
        "rss_before": rss_before,
        "rss_connected": rss_connected,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=500, help="GET /api/pvcontrol requests")
    parser.add_argument("--tries", type=int, default=20, help="PUT desired_mode -> MQTT state tries")
    parser.add_argument("--clients", type=int, default=50, help="concurrent SSE clients")
    parser.add_argument("--rounds", type=int, default=20, help="PUTs the SSE clients wait for")
    parser.add_argument("--settle", type=float, default=30.0, help="s after the start for the RSS sample")
    parser.add_argument(
        "--broker-nagle",
        action="store_true",
        help="mosquitto's default set_tcp_nodelay false (deploy/mosquitto/mosquitto.conf has true)",
    )
    args = parser.parse_args()

    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    http_port = free_port()
    base_url = f"http://{HOST}:{http_port}"
    rows: list[tuple[str, str]] = []
    with (
        tempfile.TemporaryDirectory(prefix="pvcontrol-bench-") as tmp,
        mosquitto(Path(tmp), not args.broker_nagle) as mqtt_port,
    ):
        env = {
            **os.environ,
            "PVC_MQTT__URL": f"mqtt://{HOST}:{mqtt_port}",
            "PVC_MQTT__PREFIX": prefix,
            "PVC_MQTT__EMBEDDED_BROKER": "false",
            "PVC_CONTROLLER__CYCLE_TIME": "1",
            "PVC_METER__POLL_INTERVAL": "1",
            "PVC_WALLBOX__POLL_INTERVAL": "1",
            "PVC_CAR__POLL_INTERVAL": "1",
        }
        command = [sys.executable, "-m", "pvcontrol", "all", "--host", HOST, "--port", str(http_port)]
        command += ["--log-level", "WARNING"]
        with (Path(tmp) / "pvcontrol.log").open("w") as log:
            started = time.monotonic()
            proc = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
        watch: StateWatch | None = None
        try:
            transport = httpx.HTTPTransport(socket_options=NODELAY)
            with httpx.Client(base_url=base_url, transport=transport, timeout=10.0) as client:

                def ready() -> bool:
                    if proc.poll() is not None:
                        raise SystemExit(f"bench: pvcontrol exited with {proc.returncode}")
                    try:
                        return client.get("/readyz").status_code == 200
                    except httpx.HTTPError:
                        return False

                wait_until(ready, 60, "/readyz", interval=0.02)
                rows.append(("startup to /readyz 200", f"{time.monotonic() - started:.2f} s"))

                watch = StateWatch(mqtt_port, prefix)
                put_once_online(base_url, "controller/desired_mode", MODES[0], timeout=30)
                time.sleep(max(0.0, started + args.settle - time.monotonic()))
                rss_settled = rss_mb(proc.pid)
                rows.append((f"RSS after {args.settle:g} s", f"{rss_settled:.1f} MB"))

                rest = measure_rest(client, args.requests)
                rows.append(
                    (
                        f"GET /api/pvcontrol latency, {args.requests} requests",
                        f"p50 {statistics.median(rest):.2f} ms, p95 {percentile(rest, 95):.2f} ms",
                    )
                )

                mode = measure_mode_latency(client, watch, args.tries)
                rows.append(
                    (
                        f"PUT desired_mode -> controller state on MQTT, {args.tries} tries",
                        f"p50 {statistics.median(mode):.1f} ms, max {max(mode):.1f} ms",
                    )
                )
                # The last try left MODES[args.tries % 2]; the SSE clients wait for the other one.
                target = MODES[(args.tries + 1) % 2]

            sse = asyncio.run(measure_sse(base_url, proc.pid, args.clients, target, args.rounds))
            rows.append(
                (
                    f"SSE fan-out, {args.clients} clients, {args.rounds} PUTs: PUT -> event at every client",
                    f"p50 {sse['p50_ms']:.0f} ms, all clients p50 {sse['all_p50_ms']:.0f} ms / max "
                    f"{sse['all_max_ms']:.0f} ms (connecting all: {sse['connect_s']:.2f} s)",
                )
            )
            rows.append(
                (
                    f"RSS growth with {args.clients} SSE clients",
                    f"{sse['rss_connected'] - sse['rss_before']:+.1f} MB "
                    f"({sse['rss_before']:.1f} -> {sse['rss_connected']:.1f} MB)",
                )
            )
            time.sleep(1)
            rows.append(("RSS at the end (clients gone)", f"{rss_mb(proc.pid):.1f} MB"))
        finally:
            if watch is not None:
                watch.close()
            t_stop = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            try:
                code = proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                code = proc.wait(10)
        rows.append(("shutdown (SIGTERM -> exit)", f"{time.monotonic() - t_stop:.2f} s, exit code {code}"))

    machine = f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} cores"
    broker = "mosquitto set_tcp_nodelay " + ("false" if args.broker_nagle else "true")
    print(f"## system: `pvcontrol all` on localhost ({machine}, {broker})")
    print()
    print("| metric | value |")
    print("|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")


if __name__ == "__main__":
    try:
        main()
    except (AssertionError, RuntimeError) as failed:  # a wait that timed out; no mosquitto
        raise SystemExit(f"bench: {failed}") from None
