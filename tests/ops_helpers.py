"""Helpers for the operations tests: required tools, a real Prometheus, the stack as separate processes."""

from __future__ import annotations

import functools
import json
import shutil
import subprocess
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import Broker, ServiceProcess, accepts, free_port, start_service, wait_until

REPO = Path(__file__).resolve().parent.parent
PROMETHEUS_DIR = REPO / "deploy" / "prometheus"

# Where each service's metrics are in the Compose stack (deploy/prometheus/prometheus.yml).
COMPOSE_TARGETS = {
    "meter": "meter:9101",
    "wallbox": "wallbox:9102",
    "car": "car:9103",
    "relay": "relay:9104",
    "controller": "controller:9105",
    "forecast": "forecast:9106",
    "tariff": "tariff:9107",
    "api": "api:8080",
}


def need_tool(name: str, package: str) -> str:
    """The path of `name`, or a failure that says how to install it (scripts/test.sh does): never a skip."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed: apt-get install {package} (scripts/test.sh installs it)")
    return path


def run_tool(args: list[str], timeout: float = 60) -> str:
    done = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    return done.stdout


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


@dataclass
class Stack:
    """Every service as its own process on free ports; `ports` maps a service to its metrics port."""

    broker: Broker
    prefix: str
    ports: dict[str, int]
    processes: dict[str, ServiceProcess]

    def target(self, service: str) -> str:
        return f"127.0.0.1:{self.ports[service]}"


@contextmanager
def service_stack(
    broker: Broker, prefix: str, log_dir: Path, env: Mapping[str, str] | None = None
) -> Iterator[Stack]:
    ports = {service: free_port() for service in COMPOSE_TARGETS}
    processes: dict[str, ServiceProcess] = {}
    try:
        for service, port in ports.items():
            option = (
                ["--port", str(port), "--host", "127.0.0.1"]
                if service == "api"
                else ["--metrics-port", str(port)]
            )
            processes[service] = start_service([service, *option], broker, prefix, log_dir, env)
        for service, port in ports.items():
            wait_until(functools.partial(accepts, port), 30, f"{service}'s metrics on port {port}")
        yield Stack(broker, prefix, ports, processes)
    finally:
        for process in processes.values():
            if process.proc.poll() is None:
                process.proc.kill()
            process.proc.wait(10)


def http_json(url: str, data: bytes | None = None, headers: Mapping[str, str] | None = None) -> Any:
    request = urllib.request.Request(url, data=data, headers=dict(headers or {}))
    with urllib.request.urlopen(request, timeout=5) as response:
        body = response.read()
    return json.loads(body) if body else None


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@dataclass
class Prometheus:
    url: str
    log_path: Path

    def api(self, path: str, **params: str) -> Any:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        document = http_json(f"{self.url}/api/v1/{path}{query}")
        assert document["status"] == "success", document
        return document["data"]

    def query(self, promql: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.api("query", query=promql)["result"]
        return result

    def log(self) -> str:
        return self.log_path.read_text()


@contextmanager
def running_prometheus(config: Mapping[str, Any], workdir: Path) -> Iterator[Prometheus]:
    """The real Prometheus (Debian's package) with `config`, rules from deploy/prometheus, on a free port."""
    exe = need_tool("prometheus", "prometheus")
    workdir.mkdir(parents=True, exist_ok=True)
    for rules in PROMETHEUS_DIR.glob("rules*.yml"):
        shutil.copy(rules, workdir / rules.name)
    config_path = workdir / "prometheus.yml"
    config_path.write_text(yaml.safe_dump(dict(config)))
    port = free_port()
    log_path = workdir / "prometheus.log"
    args = [
        exe,
        f"--config.file={config_path}",
        f"--storage.tsdb.path={workdir / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
    ]
    with ExitStack() as stack:
        log = stack.enter_context(log_path.open("w"))
        proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        try:
            prometheus = Prometheus(f"http://127.0.0.1:{port}", log_path)
            wait_until(lambda: proc.poll() is not None or accepts(port), 30, "prometheus listening")
            assert proc.poll() is None, f"prometheus exited:\n{log_path.read_text()}"
            # It listens before its storage is ready and answers 503 until then.
            wait_until(lambda: proc.poll() is not None or answers(f"{prometheus.url}/-/ready"), 30, "ready")
            assert proc.poll() is None, f"prometheus exited:\n{log_path.read_text()}"
            yield prometheus
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)


def fast(config: Mapping[str, Any]) -> dict[str, Any]:
    """`config` with a 1 s scrape and evaluation interval, so a test sees two scrapes within seconds."""
    copy = dict(config)
    copy["global"] = {**config.get("global", {}), "scrape_interval": "1s", "evaluation_interval": "1s"}
    return copy
