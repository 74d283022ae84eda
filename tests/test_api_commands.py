"""The gateway's settings table, in-process: each row is a PUT route that publishes its command, and
the goals are refused with the controller's own checks (pvcontrol.goal_commands)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from pvcontrol.commands import CommandError
from pvcontrol.goal_commands import check_soc_order, parse_plan, parse_price_limit, plan_json, plan_setting
from pvcontrol.topics import ServiceName
from services.api.app import Gateway, create_app
from services.api.commands import SETTINGS
from services.api.events import Broadcaster
from services.api.picture import Picture

API = "/api/pvcontrol"
# A valid body for each row, and the payload it is published with.
VALID = {
    "controller/desired_mode": ('"MAX"', "MAX"),
    "controller/phase_mode": ('"CHARGE_1P"', "CHARGE_1P"),
    "controller/desired_priority": ('"CAR"', "CAR"),
    "controller/min_soc": ("0", "0"),
    "controller/limit_soc": ("80", "80"),
    "controller/plan": ('{"days": ["sun", "mon"], "time": "06:30", "soc": 70}', ""),
    "controller/price_limit": ("0.125", "0.125"),
    "controller/wallbox/car_status": ("2", "2"),
}


class OnlinePicture(Picture):
    """Every service online, the controller's goals as given, a wallbox that takes car_status."""

    def __init__(self, **goals: int) -> None:
        super().__init__()
        self.update_state("controller", json.dumps({"ts": 1, **goals}).encode())
        self.update_config("wallbox", b'{"type": "SimulatedWallbox", "car_status_settable": true}')

    def command_refusal(self, service: str) -> str | None:
        return None


def put_all(picture: Picture, requests: list[tuple[str, str]]) -> tuple[list[httpx.Response], list[Any]]:
    sent: list[tuple[ServiceName, str, str]] = []

    async def publish(service: ServiceName, name: str, payload: str) -> bool:
        sent.append((service, name, payload))
        return True

    app = create_app(Gateway(picture, Broadcaster(picture.document), publish, is_ready=lambda: True))

    async def run() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            headers = {"Content-Type": "application/json"}
            return [await client.put(f"{API}/{p}", content=body, headers=headers) for p, body in requests]

    return asyncio.run(run()), sent


def test_every_row_is_a_put_that_publishes_its_command() -> None:
    assert {s.path for s in SETTINGS} == set(VALID)
    responses, sent = put_all(OnlinePicture(), [(s.path, VALID[s.path][0]) for s in SETTINGS])
    assert [r.status_code for r in responses] == [204] * len(SETTINGS)
    plan = '{"soc": 70, "time": "06:30", "days": ["mon", "sun"]}'  # days in week order, keys as sent
    expected = [(s.service, s.command, VALID[s.path][1] or plan) for s in SETTINGS]
    assert sent == expected


@pytest.mark.parametrize(
    ("path", "body", "controller", "detail"),
    [
        (
            "controller/min_soc",
            "95",
            lambda: check_soc_order(95, 90, "min_soc"),
            "minimum 95 % is above the limit of 90 %",
        ),
        (
            "controller/limit_soc",
            "50",
            lambda: check_soc_order(60, 50, "limit_soc"),
            "limit 50 % is below the minimum of 60 %",
        ),
        (
            "controller/price_limit",
            "25",
            lambda: parse_price_limit(b"25"),
            "invalid price limit 25.0: a price per kWh from -10 to 10 such as 0.25, not cents",
        ),
        (
            "controller/plan",
            '{"soc": 80, "time": "24:00"}',
            lambda: parse_plan(b'{"soc": 80, "time": "24:00"}'),
            "invalid plan time '24:00', expected HH:MM",
        ),
    ],
)
def test_goals_are_refused_with_the_controller_s_reason(
    path: str, body: str, controller: Callable[[], object], detail: str
) -> None:
    (response,), sent = put_all(OnlinePicture(min_soc=60, limit_soc=90), [(path, body)])
    assert (response.status_code, response.json()) == (422, {"detail": detail})
    assert sent == []
    with pytest.raises(CommandError, match=detail):  # the same words on P/controller/error
        controller()


def test_no_minimum_and_no_limit_never_conflict() -> None:
    requests = [("controller/min_soc", "0"), ("controller/limit_soc", "100")]
    responses, sent = put_all(OnlinePicture(min_soc=60, limit_soc=90), requests)
    assert [r.status_code for r in responses] == [204, 204]
    assert [payload for _, _, payload in sent] == ["0", "100"]


@pytest.mark.parametrize(
    ("document", "refusal"),
    [
        ({"soc": 80, "time": "07:00", "when": "soon"}, 'expected an object with "soc"'),
        ({"soc": 0, "time": "99:99", "when": "soon"}, 'expected an object with "soc"'),
        ([80, "07:00"], 'expected an object with "soc"'),
        ({"soc": True, "time": "07:00"}, "invalid plan soc True"),
        ({"soc": 80.0, "time": "25:00"}, "invalid plan soc 80.0"),
        ({"time": "07:00"}, "invalid plan soc None"),
        ({"soc": 80, "time": "7:00"}, "invalid plan time '7:00'"),
        ({"soc": 80, "time": "07:00\n"}, "invalid plan time '07:00\\\\n'"),
        ({"soc": 80, "time": 700, "days": "mon"}, "invalid plan time '700'"),
        ({"soc": 80, "time": "07:00", "days": ["mon", "mon"]}, "invalid plan days"),
        ({"soc": 80, "time": "07:00", "days": None}, "invalid plan days"),
    ],
)
def test_a_bad_plan_is_refused_by_its_first_wrong_part(document: object, refusal: str) -> None:
    with pytest.raises(CommandError, match=f"^{refusal}"):
        plan_setting(document)


def test_a_plan_is_published_in_one_spelling() -> None:
    setting = plan_setting({"time": "23:59", "days": ["sun", "sat", "mon"], "soc": 100})
    assert plan_json(setting) == '{"soc": 100, "time": "23:59", "days": ["mon", "sat", "sun"]}'
    assert plan_setting(json.loads(plan_json(setting))) == setting
