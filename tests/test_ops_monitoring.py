"""Monitoring as users run it: promtool on the config and rules, and a real Prometheus scraping the stack.

The stack is every service as its own process (as in Compose); Prometheus runs with
deploy/prometheus/prometheus.yml, only its targets pointed at the test's ports and its intervals cut to
1 s. The Kubernetes scrape job runs on file-discovered targets that carry the pod labels and annotations
of deploy/k8s, because Debian's Prometheus is built without Kubernetes discovery.
"""

from __future__ import annotations

import functools
import json
import re
import urllib.error
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import Broker, accepts, free_port, running, wait_until
from tests.ops_helpers import (
    COMPOSE_TARGETS,
    PROMETHEUS_DIR,
    REPO,
    Prometheus,
    Stack,
    fast,
    load_yaml,
    need_tool,
    run_tool,
    running_prometheus,
    service_stack,
)

# Series an owner looks at first; each must be there after two scrapes of a freshly started stack.
KEY_SERIES = [
    'pvcontrol_meter_power_watts{source="pv"}',
    'pvcontrol_meter_power_watts{source="grid"}',
    "pvcontrol_meter_power_consumption_total_watts",
    "pvcontrol_wallbox_power_watts",
    "pvcontrol_wallbox_max_current_amperes",
    "pvcontrol_wallbox_phases_out",
    "pvcontrol_car_soc_ratio",
    "pvcontrol_phase_relay_phases",
    'pvcontrol_controller_mode{pvcontrol_controller_mode="OFF"}',
    'pvcontrol_controller_charged_energy_wh_total{source="pv"}',
    "pvcontrol_controller_failed_cycles_total",
    "pvcontrol:pv_surplus_watts",
    "pvcontrol:relay_switches:changes1h",
]


def test_promtool_accepts_the_configs_and_the_rule_unit_tests_pass() -> None:
    promtool = need_tool("promtool", "prometheus")
    for config in ("prometheus.yml", "prometheus-all.yml"):
        run_tool([promtool, "check", "config", str(PROMETHEUS_DIR / config)])
    out = run_tool([promtool, "check", "rules", str(PROMETHEUS_DIR / "rules.yml")])
    assert "SUCCESS" in out
    out = run_tool([promtool, "test", "rules", str(PROMETHEUS_DIR / "rules.test.yml")])
    assert "SUCCESS" in out


def test_every_alert_has_a_unit_test_that_fires_it() -> None:
    rules = load_yaml(PROMETHEUS_DIR / "rules.yml")
    alerts = {r["alert"] for g in rules["groups"] for r in g["rules"] if "alert" in r}
    tests = load_yaml(PROMETHEUS_DIR / "rules.test.yml")["tests"]
    fired = {
        case["alertname"]
        for test in tests
        for case in test.get("alert_rule_test", [])
        if case.get("exp_alerts")
    }
    quiet = {
        case["alertname"]
        for test in tests
        for case in test.get("alert_rule_test", [])
        if not case.get("exp_alerts")
    }
    assert alerts == fired, f"alerts without a firing test: {alerts - fired}"
    assert alerts == quiet, f"alerts without a quiet test: {alerts - quiet}"


def test_compose_config_scrapes_every_service_by_its_compose_name() -> None:
    config = load_yaml(PROMETHEUS_DIR / "prometheus.yml")
    targets = [t for job in config["scrape_configs"] for sc in job["static_configs"] for t in sc["targets"]]
    assert sorted(targets) == sorted(COMPOSE_TARGETS.values())
    compose = load_yaml(REPO / "docker-compose.yml")
    for service, target in COMPOSE_TARGETS.items():
        assert service in compose["services"], f"{service} is not a Compose service"
        assert target.split(":")[0] == service


def pointed_at(config: dict[str, Any], stack: Stack) -> dict[str, Any]:
    """The Compose config with each `service:port` target replaced by the test's process."""
    by_target = {target: service for service, target in COMPOSE_TARGETS.items()}
    jobs = []
    for job in config["scrape_configs"]:
        static = [
            {**sc, "targets": [stack.target(by_target[t]) for t in sc["targets"]]}
            for sc in job["static_configs"]
        ]
        jobs.append({**job, "static_configs": static})
    return {**fast(config), "scrape_configs": jobs}


@pytest.fixture(scope="module")
def stack(mqtt_broker: Broker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with service_stack(
        mqtt_broker, f"pvctest-{uuid.uuid4().hex[:10]}", tmp_path_factory.mktemp("stack")
    ) as s:
        yield s


@pytest.fixture(scope="module")
def prometheus(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prometheus]:
    config = pointed_at(load_yaml(PROMETHEUS_DIR / "prometheus.yml"), stack)
    with running_prometheus(config, tmp_path_factory.mktemp("prometheus")) as prom:
        wait_for_two_scrapes(prom, len(COMPOSE_TARGETS))
        yield prom


def wait_for_two_scrapes(prom: Prometheus, targets: int) -> None:
    def scraped_twice() -> bool:
        counts = prom.query("count_over_time(up[1m])")
        return len(counts) == targets and all(float(c["value"][1]) >= 2 for c in counts)

    wait_until(scraped_twice, 60, f"{targets} targets scraped twice")


def rule_errors(prom: Prometheus) -> list[tuple[str, str]]:
    """(rule, error) for every rule whose evaluation failed, once every rule has been evaluated."""

    def all_evaluated() -> list[dict[str, Any]] | None:
        rules = [r for g in prom.api("rules")["groups"] for r in g["rules"]]
        return rules if all(r["lastEvaluation"] > "2000" for r in rules) else None

    rules = wait_until(all_evaluated, 20, "every rule evaluated")
    return [(r["name"], r["lastError"]) for r in rules if r["health"] != "ok"]


def test_a_real_prometheus_scrapes_every_service_and_evaluates_the_rules(prometheus: Prometheus) -> None:
    targets = prometheus.api("targets")["activeTargets"]
    assert sorted(t["labels"]["job"] for t in targets) == sorted(f"pvcontrol-{s}" for s in COMPOSE_TARGETS)
    down = [(t["labels"]["job"], t["lastError"]) for t in targets if t["health"] != "up"]
    assert not down, down
    connected = {r["metric"]["service"] for r in prometheus.query("pvcontrol_mqtt_connected == 1")}
    assert connected == set(COMPOSE_TARGETS)
    for series in KEY_SERIES:
        wait_until(functools.partial(prometheus.query, series), 20, f"series {series}")

    # Every rule evaluated against the real series without an error (a join that matches many-to-many,
    # for instance, shows up here and nowhere else).
    assert rule_errors(prometheus) == []
    # A fresh healthy stack fires nothing.
    assert prometheus.query("ALERTS") == []


def k8s_pod_targets(stack: Stack) -> list[dict[str, Any]]:
    """What Kubernetes discovery would hand Prometheus for each pod of deploy/k8s, as file_sd targets."""
    targets = []
    for manifest in sorted((REPO / "deploy" / "k8s").glob("*.yaml")):
        for doc in yaml.safe_load_all(manifest.read_text()):
            if not doc or doc.get("kind") != "Deployment" or doc["metadata"]["name"] == "mosquitto":
                continue
            meta = doc["spec"]["template"]["metadata"]
            component = meta["labels"]["app.kubernetes.io/component"]
            annotations = meta.get("annotations", {})
            labels = {
                f"__meta_kubernetes_pod_label_{k.replace('.', '_').replace('/', '_').replace('-', '_')}": v
                for k, v in meta["labels"].items()
            }
            labels.update(
                {
                    f"__meta_kubernetes_pod_annotation_{k.replace('.', '_').replace('/', '_')}": v
                    for k, v in annotations.items()
                }
            )
            # The pod's IP with the container port Kubernetes lists; the annotation then picks the
            # metrics port, here the test's port for that service.
            labels["__meta_kubernetes_pod_annotation_prometheus_io_port"] = str(stack.ports[component])
            labels["__meta_kubernetes_pod_name"] = f"pvcontrol-{component}-0"
            targets.append({"targets": ["127.0.0.1:1"], "labels": labels})
    return targets


def test_the_k8s_annotation_job_finds_and_scrapes_every_pod(stack: Stack, tmp_path: Path) -> None:
    config = load_yaml(PROMETHEUS_DIR / "prometheus-k8s.yml")
    (job,) = config["scrape_configs"]
    assert job["kubernetes_sd_configs"] == [{"role": "pod", "namespaces": {"names": ["pvcontrol"]}}]
    sd_file = tmp_path / "pods.yml"
    targets = k8s_pod_targets(stack)
    # The annotation values must be the ports the services really use by default.
    assert {t["labels"]["__meta_kubernetes_pod_label_app_kubernetes_io_component"] for t in targets} == set(
        COMPOSE_TARGETS
    )
    sd_file.write_text(yaml.safe_dump(targets))
    job = {k: v for k, v in job.items() if k != "kubernetes_sd_configs"}
    job["file_sd_configs"] = [{"files": [str(sd_file)]}]
    with running_prometheus({**fast(config), "scrape_configs": [job]}, tmp_path / "k8s") as prom:
        wait_for_two_scrapes(prom, len(COMPOSE_TARGETS))
        up = prom.query("up")
        assert sorted(r["metric"]["component"] for r in up) == sorted(COMPOSE_TARGETS)
        assert all(r["value"][1] == "1" for r in up), up
        assert {r["metric"]["job"] for r in up} == {"pvcontrol"}


def test_k8s_annotations_name_the_default_metrics_ports() -> None:
    defaults = {service: target.split(":")[1] for service, target in COMPOSE_TARGETS.items()}
    for manifest in sorted((REPO / "deploy" / "k8s").glob("*.yaml")):
        for doc in yaml.safe_load_all(manifest.read_text()):
            if doc and doc.get("kind") == "Deployment" and doc["metadata"]["name"] != "mosquitto":
                meta = doc["spec"]["template"]["metadata"]
                component = meta["labels"]["app.kubernetes.io/component"]
                assert meta["annotations"]["prometheus.io/port"] == defaults[component], manifest.name
                assert meta["annotations"]["prometheus.io/scrape"] == "true"


GRAFANA_DIR = REPO / "deploy" / "grafana"
DASHBOARD = GRAFANA_DIR / "dashboards" / "pvcontrol.json"
# Grafana's own variables, as a short range would set them.
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__range": "1m", "$__interval": "1m"}


def dashboard_queries() -> list[tuple[str, str]]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [(panel["title"], target["expr"]) for panel in dashboard["panels"] for target in panel["targets"]]


def metric_names(expr: str) -> set[str]:
    return set(re.findall(r"\b(pvcontrol[_:][a-z0-9_:]+|up)\b(?![(\"])", expr))


def grafana_expr(expr: str) -> str:
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    assert "$" not in expr, f"an unknown Grafana variable in {expr}"
    return expr


def test_every_dashboard_query_answers_with_data_from_the_running_stack(prometheus: Prometheus) -> None:
    """The dashboard references only metrics a real scrape has, and every panel query returns data."""
    queries = dashboard_queries()
    names = set().union(*(metric_names(expr) for _, expr in queries))
    assert len(names) > 15, names
    missing = [n for n in sorted(names) if not prometheus.query(f'count({{__name__="{n}"}})')]
    assert missing == [], f"the dashboard uses metrics no service exports: {missing}"
    empty = []
    for title, expr in queries:
        try:
            if not prometheus.query(grafana_expr(expr)):
                empty.append((title, expr))
        except urllib.error.HTTPError as e:
            pytest.fail(f"panel {title!r}: Prometheus refuses {expr!r}: {e.read().decode()}")
    assert empty == [], f"panel queries without data on a running stack: {empty}"


def test_a_query_naming_a_metric_that_does_not_exist_is_caught(prometheus: Prometheus) -> None:
    # The check above must be able to fail: a misspelt metric has no series.
    assert metric_names("sum(pvcontrol_wallbox_powr_watts)") == {"pvcontrol_wallbox_powr_watts"}
    assert prometheus.query('count({__name__="pvcontrol_wallbox_powr_watts"})') == []


def test_dashboard_uses_the_datasource_variable_and_grafana_provisioning_matches_compose() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] == "pvcontrol"
    (variable,) = dashboard["templating"]["list"]
    assert (variable["name"], variable["type"], variable["query"]) == (
        "datasource",
        "datasource",
        "prometheus",
    )
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
    compose = load_yaml(REPO / "docker-compose.yml")["services"]
    datasource = load_yaml(GRAFANA_DIR / "provisioning" / "datasources" / "prometheus.yml")["datasources"][0]
    assert datasource["url"] == "http://prometheus:9090"
    provider = load_yaml(GRAFANA_DIR / "provisioning" / "dashboards" / "pvcontrol.yml")["providers"][0]
    grafana, prometheus = compose["grafana"], compose["prometheus"]
    assert grafana["profiles"] == prometheus["profiles"] == ["monitoring"]
    assert "./deploy/grafana/provisioning:/etc/grafana/provisioning:ro" in grafana["volumes"]
    assert f"./deploy/grafana/dashboards:{provider['options']['path']}:ro" in grafana["volumes"]
    assert "./deploy/prometheus:/etc/prometheus:ro" in prometheus["volumes"]
    assert "--config.file=/etc/prometheus/prometheus.yml" in prometheus["command"]


MONITORING_OVERLAY = REPO / "deploy" / "k8s" / "monitoring"


def test_the_k8s_monitoring_overlay_carries_the_rules_and_monitors_every_pod() -> None:
    kustomization = load_yaml(MONITORING_OVERLAY / "kustomization.yaml")
    assert all((MONITORING_OVERLAY / r).is_file() for r in kustomization["resources"])
    rule = load_yaml(MONITORING_OVERLAY / "prometheusrule.yaml")
    assert rule["kind"] == "PrometheusRule"
    assert rule["spec"] == load_yaml(PROMETHEUS_DIR / "rules.yml"), (
        "copy deploy/prometheus/rules.yml's groups"
    )
    monitor = load_yaml(MONITORING_OVERLAY / "podmonitor.yaml")
    ports = {e["port"] for e in monitor["spec"]["podMetricsEndpoints"]}
    selector = monitor["spec"]["selector"]["matchLabels"]
    for manifest in sorted((REPO / "deploy" / "k8s").glob("*.yaml")):
        for doc in yaml.safe_load_all(manifest.read_text()):
            if not doc or doc.get("kind") != "Deployment":
                continue
            template = doc["spec"]["template"]
            selected = selector.items() <= template["metadata"]["labels"].items()
            assert selected == (doc["metadata"]["name"] != "mosquitto"), manifest.name
            if selected:
                (container,) = template["spec"]["containers"]
                named = {p["name"]: str(p["containerPort"]) for p in container["ports"]}
                (port,) = ports & set(named)
                assert named[port] == template["metadata"]["annotations"]["prometheus.io/port"]


def test_prometheus_all_scrapes_pvcontrol_all_and_the_dashboard_works_there(
    mqtt_broker: Broker, prefix: str, tmp_path: Path
) -> None:
    """The one-process shape (the Pi): prometheus-all.yml against `pvcontrol all`, all on one port."""
    config = load_yaml(PROMETHEUS_DIR / "prometheus-all.yml")
    (job,) = config["scrape_configs"]
    assert job["static_configs"] == [{"targets": ["localhost:8080"]}]
    port = free_port()
    args = ["all", "--port", str(port), "--host", "127.0.0.1"]
    with running(args, mqtt_broker, prefix, tmp_path, {"PVC_HISTORY__DATA_DIR": str(tmp_path)}) as pvcontrol:
        wait_until(lambda: accepts(port), 30, "pvcontrol all listening")
        job = {**job, "static_configs": [{"targets": [f"127.0.0.1:{port}"]}]}
        with running_prometheus({**fast(config), "scrape_configs": [job]}, tmp_path / "prometheus") as prom:
            wait_for_two_scrapes(prom, 1)
            connected = {r["metric"]["service"] for r in prom.query("pvcontrol_mqtt_connected == 1")}
            assert connected == set(COMPOSE_TARGETS)
            for title, expr in dashboard_queries():  # recording rules may lag the scrapes by a cycle
                wait_until(
                    functools.partial(prom.query, grafana_expr(expr)),
                    30,
                    f"panel {title!r} with data: {expr}",
                )
            assert rule_errors(prom) == []
            assert prom.query("ALERTS") == []
            # Killed, the process is a target down: the alert is pending at once (it fires after 5 min).
            pvcontrol.proc.kill()
            pending = wait_until(lambda: prom.query('ALERTS{alertstate="pending"}'), 20, "a pending alert")
            assert [a["metric"]["alertname"] for a in pending] == ["PvcontrolServiceDown"]
            assert pending[0]["metric"]["job"] == "pvcontrol"
