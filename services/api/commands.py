"""What a PUT may set (CONTRACT.md section 2): one row per setting, one handler for them all.

A PUT to /api/pvcontrol/<path> becomes the command `P/<service>/<command>/set`. A body FastAPI cannot
read as the row's type is a 422 with its details; a value the row refuses (`check`, or `payload`
raising CommandError) is a 422 with the reason; a command that would not reach its service is a 503.
A new setting is a new row in SETTINGS.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from annotated_types import Ge, Le
from fastapi import APIRouter, Body, HTTPException, Response
from fastapi.params import Depends
from pydantic import BeforeValidator

from pvcontrol.commands import CommandError
from pvcontrol.goal_commands import (
    SOC_RANGE,
    SocGoal,
    check_soc_order,
    plan_json,
    plan_setting,
    price_limit_payload,
    soc_or_none,
)
from pvcontrol.models import CarStatus, ChargeMode, ControllerData, Priority
from pvcontrol.topics import ServiceName
from services.api.picture import Picture

# service, command name, payload -> whether it was handed to the broker
Publish = Callable[[ServiceName, str, str], Awaitable[bool]]
SettablePhaseMode = Literal["AUTO", "CHARGE_1P", "CHARGE_3P"]


@dataclass(frozen=True)
class Setting:
    path: str  # under /api/pvcontrol/
    summary: str
    body: Any  # the body's type: FastAPI validates it and shows it in the OpenAPI document
    command: str  # published as P/<service>/<command>/set
    service: ServiceName = "controller"
    payload: Callable[[Any], str] = str  # the valid body as the command's payload
    check: Callable[[Any, Picture], None] | None = None  # refuses with a CommandError by the picture
    optional: bool = False  # a PUT without a body (or `null`) is the value None


def plain_int(value: object) -> int:
    """A JSON integer, not `true`, `1.0` or `"1"` (which pydantic would also take for 1)."""
    if type(value) is not int:
        raise ValueError("expected a plain integer")
    return value


def soc_body(name: SocGoal) -> Any:
    low, high = SOC_RANGE[name]
    return Annotated[int, BeforeValidator(plain_int), Ge(low), Le(high)]


def _goals(picture: Picture) -> ControllerData:
    state = picture.state("controller")
    assert isinstance(state, ControllerData)
    return state


def min_soc_fits(soc: int, picture: Picture) -> None:
    check_soc_order(soc_or_none("min_soc", soc), _goals(picture).limit_soc, "min_soc")


def limit_soc_fits(soc: int, picture: Picture) -> None:
    check_soc_order(_goals(picture).min_soc, soc_or_none("limit_soc", soc), "limit_soc")


def plan_payload(document: Any) -> str:
    return "" if document is None else plan_json(plan_setting(document))


def car_status_settable(_status: CarStatus, picture: Picture) -> None:
    # the wallbox declares it in its config document (simulations only)
    if picture.configs.get("wallbox", {}).get("car_status_settable") is not True:
        raise CommandError("this wallbox does not take car_status")


SETTINGS: tuple[Setting, ...] = (
    Setting("controller/desired_mode", "Set the charge mode", ChargeMode, "desired_mode"),
    Setting("controller/phase_mode", "Set the phase mode", SettablePhaseMode, "phase_mode"),
    Setting("controller/desired_priority", "Set the priority", Priority, "desired_priority"),
    Setting(
        "controller/min_soc",
        "Charge at full power below this SOC (%), whatever the mode; 0 = none",
        soc_body("min_soc"),
        "min_soc",
        check=min_soc_fits,
    ),
    Setting(
        "controller/limit_soc",
        "Stop at this SOC (%) in every mode but MANUAL; 100 = none",
        soc_body("limit_soc"),
        "limit_soc",
        check=limit_soc_fits,
    ),
    Setting(
        "controller/plan",
        'Departure plan {"soc": 80, "time": "07:00", "days": ["mon", ...]}; null clears it',
        Any,
        "plan",
        payload=plan_payload,
        optional=True,
    ),
    Setting(
        "controller/price_limit",
        "PV modes also charge from the grid at or below this price per kWh; null = off",
        Any,
        "price_limit",
        payload=price_limit_payload,
        optional=True,
    ),
    Setting(
        "controller/wallbox/car_status",
        "Plug a simulated car in or out (simulated wallbox only)",
        Annotated[CarStatus, BeforeValidator(plain_int)],
        "car_status",
        service="wallbox",
        check=car_status_settable,
    ),
)


def add_setting_routes(
    router: APIRouter, picture: Picture, publish: Publish, dependencies: list[Depends]
) -> None:
    for setting in SETTINGS:
        router.add_api_route(
            f"/{setting.path}",
            _handler(setting, picture, publish),
            methods=["PUT"],
            status_code=204,
            summary=setting.summary,
            dependencies=dependencies,
            name=setting.command,
        )


def _handler(setting: Setting, picture: Picture, publish: Publish) -> Callable[..., Awaitable[Response]]:
    async def put(value: Any) -> Response:
        try:
            if setting.check is not None:
                setting.check(value, picture)
            payload = setting.payload(value)
        except CommandError as e:
            raise HTTPException(status_code=422, detail=str(e)) from e
        refusal = picture.command_refusal(setting.service)
        if refusal is not None:
            raise HTTPException(status_code=503, detail=refusal)
        if not await publish(setting.service, setting.command, payload):
            raise HTTPException(status_code=503, detail="the gateway lost the MQTT broker: command not sent")
        return Response(status_code=204)

    # FastAPI reads the body's type from the handler's signature: this row's type, not `Any`.
    body = inspect.Parameter(
        "value",
        inspect.Parameter.KEYWORD_ONLY,
        annotation=Annotated[setting.body, Body()],
        default=None if setting.optional else inspect.Parameter.empty,
    )
    put.__signature__ = inspect.Signature([body], return_annotation=Response)  # type: ignore[attr-defined]
    return put
