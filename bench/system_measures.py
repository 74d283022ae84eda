"""The system bench's measurements against a running `pvcontrol all`: REST latency, a PUT until the
controller's state on MQTT shows it, SSE fan-out to many clients, and the process's RSS.

`bench/system.py` starts the broker and the process, runs these in turn and prints the table.
"""

from __future__ import annotations

import asyncio
import json
import random
import socket
import statistics
import threading
import time
import uuid
from typing import Any

import httpx
import paho.mqtt.client as mqtt
import psutil  # type: ignore[import-untyped]
from paho.mqtt.enums import CallbackAPIVersion

HOST = "127.0.0.1"
MODES = ("PV_ONLY", "PV_ALL")
MIN_EVENT_INTERVAL = 0.25  # s, the gateway's event coalescing (services/api/events.py MIN_INTERVAL)
# Like a browser, the bench's HTTP clients send without Nagle's algorithm: a PUT's body written after its
# headers must not wait for the server's delayed ACK.
NODELAY = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]


def rss_mb(pid: int) -> float:
    return float(psutil.Process(pid).memory_info().rss) / 1e6


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
