"""The whole system's speed and memory: `python -m pvcontrol all` against a real Mosquitto on localhost.

Starts its own mosquitto on a free port (with the tests' helpers, tests/helpers.py) and `pvcontrol all`
with fast settings (1 s control cycle and polls, simulated devices, a topic prefix of its own), then
measures (`bench/system_measures.py`):

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
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.system_measures import (
    HOST,
    MODES,
    NODELAY,
    StateWatch,
    measure_mode_latency,
    measure_rest,
    measure_sse,
    rss_mb,
)
from tests.helpers import free_port, own_mosquitto, put_once_online, wait_until


def percentile(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


@contextmanager
def mosquitto(workdir: Path, nodelay: bool) -> Iterator[int]:
    port = free_port()
    with own_mosquitto(port, workdir, [f"set_tcp_nodelay {str(nodelay).lower()}"]):
        yield port


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
