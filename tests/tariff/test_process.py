"""`pvcontrol tariff` as a real process on a real Mosquitto, one per type against its fake: aWATTar from the
environment as the acceptance checks run it (markup and VAT applied, refreshed when the fake adds
tomorrow, a failing fake reported and replaced by Fixed), the others from a config file."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.devices.test_service_processes import config_file
from tests.fakes import entsoe, octopus, tibber
from tests.fakes.awattar import FakeAwattar
from tests.fakes.day_ahead import eur_per_mwh
from tests.fakes.entsoe import FakeEntsoe
from tests.fakes.http import FakeHttpDevice, Fault
from tests.fakes.octopus import FakeOctopus
from tests.fakes.tibber import FakeTibber
from tests.helpers import Broker, MqttProbe, running

FAST = {"PVC_TARIFF__POLL_INTERVAL": "0.3", "PVC_TARIFF__RETRY_INTERVAL": "0.2", "PVC_TARIFF__TIMEOUT": "2"}


def test_awattar_from_the_environment_with_markup_and_vat_refreshed_and_falling_back(
    mqtt_broker: Broker, probe: MqttProbe, prefix: str, tmp_path: Path
) -> None:
    with FakeAwattar() as fake:
        fake.fail(Fault.HTTP_500)
        env = FAST | {
            "PVC_TARIFF__TYPE": "Awattar",
            "PVC_TARIFF__URL": fake.url,
            "PVC_TARIFF__MARKUP": "0.1",
            "PVC_TARIFF__VAT": "0.19",
        }
        with running(["tariff"], mqtt_broker, prefix, tmp_path, env) as service:
            fallback = probe.wait_json(f"{prefix}/tariff/state", lambda s: s["error"] >= 1)
            error = probe.wait_json(f"{prefix}/tariff/error", lambda e: True)
            mark = probe.mark()
            fake.heal()
            today = probe.wait_json(f"{prefix}/tariff/state", lambda s: s["source"] == "Awattar", mark)
            mark = probe.mark()
            fake.publish_tomorrow()
            longer = len(today["periods"]) + 23  # (an hour may have passed)
            both = probe.wait_json(
                f"{prefix}/tariff/state",
                lambda s: s["source"] == "Awattar" and len(s["periods"]) >= longer,
                mark,
            )
            probe.wait_for(f"{prefix}/tariff/status", lambda m: m.payload == b"online")
            assert service.terminate() == 0, service.log()
    assert probe.last(f"{prefix}/tariff/status").payload == b"offline"  # type: ignore[union-attr]
    assert fallback["source"] == "Fixed (fallback: Awattar failed)"
    assert {p["grid_price"] for p in fallback["periods"]} == {0.30}
    assert error["error"] == f"Awattar failed: GET 127.0.0.1:{fake.port}/v1/marketdata: HTTP 500"
    first = today["periods"][0]
    assert first["start"] <= time.time() < first["end"] + 5
    for period in both["periods"]:
        assert period["grid_price"] == pytest.approx((eur_per_mwh(period["start"]) / 1000 + 0.1) * 1.19)
    outage = [line.split(" ", 3)[2] for line in service.log().splitlines() if "Awattar failed" in line]
    assert outage == ["WARNING", "INFO"]  # one line when the outage starts, one when it ends


TYPES: dict[str, tuple[Callable[[], FakeHttpDevice | None], Callable[[Any], dict[str, Any]]]] = {
    "Tibber": (FakeTibber, lambda fake: {"type": "Tibber", "url": fake.url, "token": tibber.TOKEN}),
    "Entsoe": (
        FakeEntsoe,
        lambda fake: {"type": "Entsoe", "url": fake.url, "token": entsoe.TOKEN, "zone": entsoe.DE_LU},
    ),
    "OctopusAgile": (
        FakeOctopus,
        lambda fake: {"type": "OctopusAgile", "url": fake.url, "tariff": octopus.TARIFF},
    ),
    "TimeOfUse": (
        lambda: None,
        lambda _: {"type": "TimeOfUse", "table": [{"start": "00:00", "end": "00:00", "grid_price": 0.25}]},
    ),
    "Fixed": (lambda: None, lambda _: {}),
}


@pytest.mark.parametrize("name", list(TYPES))
def test_each_type_runs_as_a_process(
    mqtt_broker: Broker, probe: MqttProbe, prefix: str, tmp_path: Path, name: str
) -> None:
    make, section = TYPES[name]
    fake = make()
    try:
        if fake is not None:
            fake.start()
        config = config_file(tmp_path, {"tariff": section(fake), "history": {"grid_price": 0.33}})
        with running(["tariff", "-c", config], mqtt_broker, prefix, tmp_path) as service:
            state = probe.wait_json(f"{prefix}/tariff/state", lambda s: True)
            assert service.terminate() == 0, service.log()
    finally:
        if fake is not None:
            fake.stop()
    assert state["source"] == name
    assert state["error"] == 0
    assert state["periods"][0]["start"] <= time.time() < state["periods"][0]["end"] + 5
    if name in ("Fixed", "TimeOfUse"):
        assert {p["grid_price"] for p in state["periods"]} == {0.33 if name == "Fixed" else 0.25}
    else:
        assert len(fake.requests) >= 1  # type: ignore[union-attr]
