"""The REST gateway (CONTRACT.md section 2), compatible with the original pv-control."""

from __future__ import annotations

import json
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, FastAPI, HTTPException, Response
from fastapi.responses import PlainTextResponse, StreamingResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BeforeValidator

from pvcontrol import __version__
from pvcontrol.commands import CommandError
from pvcontrol.models import CarStatus, ChargeMode, ControllerData, Priority
from pvcontrol.topics import ServiceName
from services.api import errors
from services.api.auth import Auth
from services.api.events import Broadcaster
from services.api.history import History
from services.api.history_api import history_router
from services.api.limits import RequestLimits
from services.api.picture import Picture
from services.api.static import ui_router
from services.controller.goals import plan_document, plan_from_document
from services.controller.price_limit import check_price_limit, price_limit_text

# service, command name, payload -> whether it was handed to the broker
Publish = Callable[[ServiceName, str, str], Awaitable[bool]]
Service = Literal["controller", "meter", "wallbox", "relay", "car", "forecast"]
SettablePhaseMode = Literal["AUTO", "CHARGE_1P", "CHARGE_3P"]


def plain_int(value: object) -> int:
    """A JSON integer, not `true`, `1.0` or `"1"` (which pydantic would also take for 1)."""
    if type(value) is not int:
        raise ValueError("expected a plain integer")
    return value


@dataclass
class Gateway:
    picture: Picture
    broadcaster: Broadcaster
    publish: Publish
    is_ready: Callable[[], bool]
    auth: Auth = field(default_factory=Auth)
    history: History | None = None


def api_router(gw: Gateway) -> APIRouter:
    router = APIRouter(prefix="/api/pvcontrol", tags=["pvcontrol"])
    read = [Depends(gw.auth.read_guard())]
    write = [Depends(gw.auth.write_guard())]

    async def command(name: str, value: str, service: ServiceName = "controller") -> Response:
        """Publish a command, or answer 503 with the reason when it would not reach `service`."""
        refusal = gw.picture.command_refusal(service)
        if refusal is not None:
            raise HTTPException(status_code=503, detail=refusal)
        if not await gw.publish(service, name, value):
            raise HTTPException(status_code=503, detail="the gateway lost the MQTT broker: command not sent")
        return Response(status_code=204)

    @router.get("", summary="The state of every service", dependencies=read)
    async def whole() -> dict[str, Any]:
        return gw.picture.document()

    @router.get(
        "/events",
        summary="Server-Sent Events: a `state` event on every change",
        dependencies=[Depends(gw.auth.events_guard())],
    )
    async def events() -> StreamingResponse:
        return StreamingResponse(
            gw.broadcaster.stream(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    @router.get("/{service}", summary="Type, configuration and state of one service", dependencies=read)
    async def one(service: Service) -> dict[str, Any]:
        return gw.picture.service_document(service)

    @router.put(
        "/controller/desired_mode",
        status_code=204,
        summary="Set the charge mode",
        dependencies=write,
    )
    async def desired_mode(mode: Annotated[ChargeMode, Body()]) -> Response:
        return await command("desired_mode", mode.value)

    @router.put(
        "/controller/phase_mode",
        status_code=204,
        summary="Set the phase mode",
        dependencies=write,
    )
    async def phase_mode(mode: Annotated[SettablePhaseMode, Body()]) -> Response:
        return await command("phase_mode", mode)

    @router.put(
        "/controller/desired_priority",
        status_code=204,
        summary="Set the priority",
        dependencies=write,
    )
    async def desired_priority(priority: Annotated[Priority, Body()]) -> Response:
        return await command("desired_priority", priority.value)

    def goals() -> ControllerData:
        state = gw.picture.state("controller")
        assert isinstance(state, ControllerData)
        return state

    @router.put(
        "/controller/min_soc",
        status_code=204,
        summary="Charge at full power below this SOC (%), whatever the mode; 0 = none",
        dependencies=write,
    )
    async def min_soc(soc: Annotated[int, BeforeValidator(plain_int), Body(ge=0, le=100)]) -> Response:
        limit = goals().limit_soc
        if soc and limit is not None and soc > limit:
            raise HTTPException(status_code=422, detail=f"minimum {soc} % is above the limit of {limit} %")
        return await command("min_soc", str(soc))

    @router.put(
        "/controller/limit_soc",
        status_code=204,
        summary="Stop at this SOC (%) in every mode but MANUAL; 100 = none",
        dependencies=write,
    )
    async def limit_soc(soc: Annotated[int, BeforeValidator(plain_int), Body(ge=1, le=100)]) -> Response:
        minimum = goals().min_soc
        if soc < 100 and minimum is not None and soc < minimum:
            raise HTTPException(status_code=422, detail=f"limit {soc} % is below the minimum of {minimum} %")
        return await command("limit_soc", str(soc))

    @router.put(
        "/controller/plan",
        status_code=204,
        summary='Departure plan {"soc": 80, "time": "07:00", "days": ["mon", ...]}; null clears it',
        dependencies=write,
    )
    async def plan(document: Annotated[Any, Body()] = None) -> Response:
        if document is None:
            return await command("plan", "")
        try:
            parsed = plan_from_document(document)
        except CommandError as e:
            raise HTTPException(status_code=422, detail=str(e)) from e
        return await command("plan", json.dumps(plan_document(parsed)))

    @router.put(
        "/controller/price_limit",
        status_code=204,
        summary="PV modes also charge from the grid at or below this price per kWh; null = off",
        dependencies=write,
    )
    async def price_limit(limit: Annotated[Any, Body()] = None) -> Response:
        if limit is None:
            return await command("price_limit", "")
        if isinstance(limit, bool) or not isinstance(limit, int | float) or not math.isfinite(limit):
            raise HTTPException(status_code=422, detail="expected a number per kWh such as 0.15, or null")
        try:
            text = price_limit_text(check_price_limit(price_limit_text(limit)))
        except CommandError as e:
            raise HTTPException(status_code=422, detail=str(e)) from e
        return await command("price_limit", text)

    @router.put(
        "/controller/wallbox/car_status",
        status_code=204,
        summary="Plug a simulated car in or out (simulated wallbox only)",
        dependencies=write,
    )
    async def car_status(status: Annotated[CarStatus, BeforeValidator(plain_int), Body()]) -> Response:
        # the wallbox declares it in its config document (simulations only)
        if gw.picture.configs.get("wallbox", {}).get("car_status_settable") is not True:
            raise HTTPException(status_code=422, detail="this wallbox does not take car_status")
        return await command("car_status", str(int(status)), service="wallbox")

    return router


def ops_router(gw: Gateway) -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/metrics", response_class=PlainTextResponse, summary="Prometheus metrics")
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @router.get("/healthz", summary="Liveness")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", summary="Ready when connected to the broker")
    async def readyz(response: Response) -> dict[str, str]:
        if gw.is_ready():
            return {"status": "ready"}
        response.status_code = 503
        return {"status": "broker not connected"}

    return router


def create_app(gw: Gateway, basehref: str = "", ui_dir: Path | None = None) -> FastAPI:
    app = FastAPI(title="pv-control", version=__version__, description="Charge the car from solar power.")
    errors.install(app)
    app.add_middleware(RequestLimits, auth=gw.auth)  # before any route reads a body
    prefix = f"/{basehref.strip('/')}" if basehref.strip("/") else ""
    read = [Depends(gw.auth.read_guard())]
    # before api_router: its GET /{service} would take /sessions and /history
    for router in (history_router(gw.history, read), api_router(gw), ops_router(gw)):
        app.include_router(router)
        if prefix:
            app.include_router(router, prefix=prefix, include_in_schema=False)
    app.include_router(ui_router(ui_dir, base=f"{prefix}/"), prefix=prefix)
    return app
