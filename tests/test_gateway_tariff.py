"""The gateway and `P/tariff/state`: session costs at the price of each minute (a two-price day), the
prices over REST and SSE, the Home Assistant price sensors in the tariff's currency. The gateway runs in
the test process on the real Mosquitto; the other services are a probe publishing their state documents
with the timestamps the test chooses (the clock the history goes by)."""

from __future__ import annotations

import asyncio
import csv
import functools
import io
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from pvcontrol.broker import BrokerAddress
from pvcontrol.models import TariffData
from pvcontrol.topics import Topics
from services.api.discovery import documents, node_id
from services.api.discovery_entities import GRID_PRICE, PLAN_COST
from services.api.picture import live_tariff
from services.api.service import ApiService
from services.api.settings import ApiSettings, HistorySettings
from tests.helpers import Broker, MqttProbe, free_port, gateway_ready, wait_until

API = "/api/pvcontrol"
HOUR = 3600
# Yesterday's noon (UTC, whole hour): readings from the past are plausible, from the future they are not.
NOON = float(int(time.time()) // HOUR * HOUR - 24 * HOUR)
CHEAP, DEAR = (0.10, 0.05), (0.40, 0.07)  # (grid_price, feed_in) before and after noon
FLAT_GRID, FLAT_FEED_IN = 0.30, 0.08  # history settings' defaults


def two_price_day() -> dict[str, Any]:
    return {
        "ts": NOON - 12 * HOUR,
        "error": 0,
        "source": "TimeOfUse",
        "currency": "EUR",
        "periods": [
            {"start": NOON - 12 * HOUR, "end": NOON, "grid_price": CHEAP[0], "feed_in": CHEAP[1]},
            {"start": NOON, "end": NOON + 12 * HOUR, "grid_price": DEAR[0], "feed_in": DEAR[1]},
        ],
    }


@contextmanager
def gateway(broker: Broker, prefix: str, data_dir: Path) -> Iterator[str]:
    port = free_port()
    service = ApiService(
        ApiSettings(host="127.0.0.1", port=port),
        BrokerAddress(broker.host, broker.port),
        Topics(prefix),
        HistorySettings(data_dir=data_dir),
    )
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    thread = threading.Thread(target=loop.run_until_complete, args=(service.run(stop),), daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: gateway_ready(url), 20, "gateway ready")
        yield url
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)
        loop.close()
        assert not thread.is_alive()


def get(url: str, path: str) -> Any:
    response = httpx.get(f"{url}{API}{path}")
    assert response.status_code == 200, response.text
    return response.json()


def wallbox(probe: MqttProbe, ts: float, status: int, charged: float) -> None:
    power = 4000.0 if status == 2 else 0.0
    probe.publish_json(
        f"{probe.prefix}/wallbox/state",
        {"ts": ts, "car_status": status, "charged_energy": charged, "power": power, "phases_out": 3},
    )


def charged_so_far(url: str, energy: float) -> bool:
    return [s["energy_wh"] for s in get(url, "/sessions")["sessions"]] == [energy]


def per_minute_cost(start: float, end: float, power: float, grid_share: float) -> float:
    """What charging at `power` W from `start` to `end` costs, minute by minute, at the two-price day."""
    cost = 0.0
    for minute in range(int(start), int(end), 60):
        grid_price, feed_in = CHEAP if minute < NOON else DEAR
        kwh = power / 1000 / 60
        cost += kwh * grid_share * grid_price + kwh * (1 - grid_share) * feed_in
    return cost


def test_a_session_across_a_price_change_costs_each_minute_at_its_price(
    mqtt_broker: Broker, prefix: str, tmp_path: Path, probe: MqttProbe
) -> None:
    with gateway(mqtt_broker, prefix, tmp_path) as url:
        probe.publish_json(f"{prefix}/tariff/state", two_price_day())
        wait_until(lambda: get(url, "/tariff")["data"]["error"] == 0, what="the tariff at the gateway")
        # 4 kW into the car, 3 kW of it from the grid, the rest solar: half an hour before noon and after
        probe.publish_json(f"{prefix}/meter/state", {"ts": NOON - HOUR, "power_pv": 1000, "power_grid": 3000})
        wait_until(lambda: get(url, "/meter")["data"]["power_grid"] == 3000, what="the meter")
        for ts, charged in ((NOON - 1800, 0), (NOON - 900, 1000), (NOON + 900, 3000), (NOON + 1800, 4000)):
            wallbox(probe, ts, 2, charged)
            wait_until(functools.partial(charged_so_far, url, charged))
        wallbox(probe, NOON + 1900, 1, 4000)
        done = wait_until(lambda: next((s for s in get(url, "/sessions")["sessions"] if not s["open"]), None))

        expected = per_minute_cost(NOON - 1800, NOON + 1800, 4000, grid_share=0.75)
        assert expected == pytest.approx(0.81)  # 2 kWh at 0.10/0.05, 2 kWh at 0.40/0.07
        flat = 3 * FLAT_GRID + 1 * FLAT_FEED_IN
        assert done["cost"] == pytest.approx(expected)
        assert done["cost"] != pytest.approx(flat)
        rows = list(csv.DictReader(io.StringIO(httpx.get(f"{url}{API}/sessions.csv").text)))
        assert float(rows[0]["cost"]) == pytest.approx(expected)
        assert get(url, "/sessions/totals")["total"]["cost"] == pytest.approx(expected)
        totals = probe.wait_json(f"{prefix}/api/state", lambda s: s["sessions"]["energy_wh"] == 4000)
        assert totals["sessions"]["cost"] == pytest.approx(expected, abs=0.005)  # 2 decimals there


def sse_states(response: httpx.Response) -> Iterator[dict[str, Any]]:
    for line in response.iter_lines():
        if line.startswith("data:"):
            yield json.loads(line.split(":", 1)[1])


def test_the_prices_are_served_over_rest_and_sse_and_an_invalid_document_is_ignored(
    mqtt_broker: Broker, prefix: str, tmp_path: Path, probe: MqttProbe
) -> None:
    day = two_price_day()
    with gateway(mqtt_broker, prefix, tmp_path) as url:
        assert get(url, "/tariff")["data"]["error"] > 0  # never received: defaults with an error
        with httpx.stream("GET", f"{url}{API}/events", timeout=20) as response:
            events = sse_states(response)
            assert next(events)["tariff"] is None
            probe.publish_json(f"{prefix}/tariff/config", {"type": "TimeOfUse"})
            probe.publish_json(f"{prefix}/tariff/state", day)
            live = next(e for e in events if e["tariff"] is not None)
        assert live["tariff"] == day
        served = wait_until(lambda: (d := get(url, "/tariff"))["type"] and d)
        assert served == {"type": "TimeOfUse", "config": {"type": "TimeOfUse"}, "data": day}

        overlapping = json.loads(json.dumps(day))
        overlapping["periods"][1]["start"] = NOON - HOUR
        probe.publish_json(f"{prefix}/tariff/state", overlapping)
        probe.publish_json(f"{prefix}/meter/state", {"ts": time.time(), "power_pv": 321.0})  # a marker
        wait_until(lambda: get(url, "/meter")["data"]["power_pv"] == 321.0)
        assert get(url, "/tariff")["data"] == day


def test_equal_neighbouring_periods_are_one_in_the_live_document() -> None:
    hourly = [
        {"start": NOON + h * HOUR, "end": NOON + (h + 1) * HOUR, "grid_price": 0.3, "feed_in": 0.08}
        for h in range(24)
    ]
    hourly[5]["grid_price"] = 0.2
    live = live_tariff(TariffData.model_validate({"ts": NOON, "periods": hourly}))
    assert [(p["start"], p["end"], p["grid_price"]) for p in live["periods"]] == [
        (NOON, NOON + 5 * HOUR, 0.3),
        (NOON + 5 * HOUR, NOON + 6 * HOUR, 0.2),
        (NOON + 6 * HOUR, NOON + 24 * HOUR, 0.3),
    ]


def test_home_assistant_gets_the_price_now_and_the_plan_cost_in_the_tariff_currency(
    mqtt_broker: Broker, prefix: str, tmp_path: Path
) -> None:
    ha = MqttProbe(mqtt_broker, prefix)
    ha.start(extra_topics=("homeassistant/#",))
    topic = f"homeassistant/sensor/{node_id(prefix)}/pvcontrol_grid_price/config"
    try:
        with gateway(mqtt_broker, prefix, tmp_path):
            first = ha.wait_json(topic, lambda c: c["state_topic"] == f"{prefix}/tariff/state")
            assert first["unit_of_measurement"] == "EUR/kWh"  # until a tariff says otherwise
            ha.publish_json(f"{prefix}/tariff/state", two_price_day() | {"currency": "GBP"})
            price = ha.wait_json(topic, lambda c: c["unit_of_measurement"] == "GBP/kWh")
            cost = ha.wait_json(
                f"homeassistant/sensor/{node_id(prefix)}/pvcontrol_plan_cost/config",
                lambda c: c["unit_of_measurement"] == "GBP",
            )
    finally:
        ha.stop()
    assert (price["device_class"], price["value_template"]) == ("monetary", GRID_PRICE)
    assert price["availability_topic"] == f"{prefix}/tariff/status"
    assert (cost["device_class"], cost["value_template"]) == ("monetary", PLAN_COST)
    assert cost["state_topic"] == f"{prefix}/controller/state"
    for sensor in (price, cost):
        assert "state_class" not in sensor  # Home Assistant takes only `total` for money: neither is one


def test_every_discovery_id_is_unique_with_the_price_sensors() -> None:
    found = {config["unique_id"] for _, config in documents(Topics(), phase_select=True)}
    ids = [config["unique_id"] for _, config in documents(Topics(), phase_select=True)]
    assert len(ids) == len(found)
    assert {"pvcontrol_pvcontrol_grid_price", "pvcontrol_pvcontrol_plan_cost"} <= found
