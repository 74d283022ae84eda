"""The REST gateway (CONTRACT.md section 2), compatible with the original pv-control."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Response
from fastapi.responses import PlainTextResponse, StreamingResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from pvcontrol import __version__
from services.api import errors
from services.api.auth import Auth
from services.api.commands import Publish, add_setting_routes
from services.api.events import Broadcaster
from services.api.history.recorder import History
from services.api.history.routes import history_router
from services.api.limits import RequestLimits
from services.api.picture import Picture
from services.api.static import ui_router

Service = Literal["controller", "meter", "wallbox", "relay", "car", "forecast", "tariff"]


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

    add_setting_routes(router, gw.picture, gw.publish, write)
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
