"""REST over the history file: sessions (paged, CSV), totals per month, the per-minute power history."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Response

from services.api.history.file import HistoryUnavailable
from services.api.history.recorder import History
from services.api.history.sessions import Session, Tariff
from services.api.history.store import PRICED_KEYS, priced

MAX_PAGE_SIZE = 200
# Dates a query may name: every local midnight between them, and the day after `to`, is a valid time
# on every platform and in every time zone (year 1 and 9999-12-31 are not).
FIRST_DATE = date(1970, 1, 2)
LAST_DATE = date(9999, 12, 30)
CSV_MAX_ROWS = 100_000
HOUR = 3600.0

CSV_COLUMNS = (
    "id",
    "started",
    "ended",
    "energy_wh",
    "pv_wh",
    "battery_wh",
    "grid_wh",
    "solar_share",
    "cost",
    "soc_start",
    "soc_end",
    "phases",
    "peak_power_w",
)


def session_document(session: Session, tariff: Tariff) -> dict[str, Any]:
    share = session.solar_share
    return {
        "id": session.id,
        "started_at": session.started_at,
        "ended_at": session.ended_at,
        "open": session.open,
        "energy_wh": round(session.energy_wh, 1),
        "pv_wh": round(session.pv_wh, 1),
        "battery_wh": round(session.battery_wh, 1),
        "grid_wh": round(session.grid_wh, 1),
        "solar_share": None if share is None else round(share, 3),
        "cost": session.cost(tariff),
        "soc_start": session.soc_start,
        "soc_end": session.soc_end,
        "phases": sorted(session.phases),
        "peak_power_w": round(session.peak_power_w, 1),
        "end_estimated": session.end_estimated,
    }


ENERGY_KEYS = ("energy_wh", "pv_wh", "battery_wh", "grid_wh")


def month_document(month: dict[str, Any], tariff: Tariff) -> dict[str, Any]:
    return {"month": month["month"], "sessions": month["sessions"], **_energy(_sums(month), tariff)}


def _sums(month: dict[str, Any]) -> Session:
    """A month's (or all months') sums as one session, its priced part too."""
    energy, pv, battery, grid = (float(month[key] or 0.0) for key in ENERGY_KEYS)
    return Session(
        started_at=0, energy_wh=energy, pv_wh=pv, battery_wh=battery, grid_wh=grid, priced=priced(month)
    )


def _energy(sums: Session, tariff: Tariff) -> dict[str, Any]:
    share = sums.solar_share
    return {
        "energy_wh": round(sums.energy_wh, 1),
        "pv_wh": round(sums.pv_wh, 1),
        "battery_wh": round(sums.battery_wh, 1),
        "grid_wh": round(sums.grid_wh, 1),
        "solar_share": None if share is None else round(share, 3),
        "cost": sums.cost(tariff),
    }


def period(start: date | None, end: date | None) -> tuple[float | None, float | None]:
    """Unix seconds from the start of `start` to the end of `end` (both local days, inclusive)."""
    for name, day in (("from", start), ("to", end)):
        if day is not None and not FIRST_DATE <= day <= LAST_DATE:
            raise HTTPException(
                status_code=422, detail=f"'{name}' {day} is out of range: {FIRST_DATE} to {LAST_DATE}"
            )
    if start is not None and end is not None and end < start:
        raise HTTPException(status_code=422, detail="'to' is before 'from'")
    since = _local_midnight(start) if start else None
    until = _local_midnight(end + timedelta(days=1)) if end else None
    return since, until


def _local_midnight(day: date) -> float:
    return datetime(day.year, day.month, day.day).timestamp()  # local time on purpose


def _local_text(ts: float | None) -> str:
    return "" if ts is None else datetime.fromtimestamp(ts).astimezone().isoformat(timespec="seconds")


def _csv(sessions: list[Session], tariff: Tariff) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for s in sessions:
        doc = session_document(s, tariff)
        writer.writerow(
            [
                s.id,
                _local_text(s.started_at),
                _local_text(s.ended_at),
                doc["energy_wh"],
                doc["pv_wh"],
                doc["battery_wh"],
                doc["grid_wh"],
                "" if doc["solar_share"] is None else doc["solar_share"],
                doc["cost"],
                "" if s.soc_start is None else s.soc_start,
                "" if s.soc_end is None else s.soc_end,
                " ".join(str(p) for p in doc["phases"]),
                doc["peak_power_w"],
            ]
        )
    return out.getvalue()


def history_router(
    history: History | None, guard: list[Any], clock: Callable[[], float] = time.time
) -> APIRouter:
    router = APIRouter(prefix="/api/pvcontrol", tags=["history"], dependencies=guard)

    def available() -> History:
        if history is None:
            raise HTTPException(status_code=503, detail="this gateway keeps no history")
        return history

    def unavailable(e: HistoryUnavailable) -> HTTPException:
        return HTTPException(status_code=503, detail=str(e))

    @router.get("/sessions", summary="Charging sessions, newest first, paged and filtered by date")
    async def sessions(
        page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
        page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
        start: Annotated[date | None, Query(alias="from", description="YYYY-MM-DD, local")] = None,
        end: Annotated[date | None, Query(alias="to", description="YYYY-MM-DD, local, inclusive")] = None,
    ) -> dict[str, Any]:
        h = available()
        since, until = period(start, end)
        try:
            found = h.page(since, until, page_size, (page - 1) * page_size)
        except HistoryUnavailable as e:
            raise unavailable(e) from e
        return {
            "page": page,
            "page_size": page_size,
            "total": found.total,
            "tariff": {"grid_price": h.tariff.grid_price, "feed_in_tariff": h.tariff.feed_in_tariff},
            "sessions": [session_document(s, h.tariff) for s in found.sessions],
        }

    @router.get("/sessions.csv", summary="Charging sessions as CSV (local times), filtered by date")
    async def sessions_csv(
        start: Annotated[date | None, Query(alias="from", description="YYYY-MM-DD, local")] = None,
        end: Annotated[date | None, Query(alias="to", description="YYYY-MM-DD, local, inclusive")] = None,
    ) -> Response:
        h = available()
        since, until = period(start, end)
        try:
            found = h.page(since, until, CSV_MAX_ROWS, 0)
        except HistoryUnavailable as e:
            raise unavailable(e) from e
        return Response(
            _csv(found.sessions, h.tariff),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="pvcontrol-sessions.csv"'},
        )

    @router.get("/sessions/totals", summary="Energy by source, cost and solar share per month")
    async def totals() -> dict[str, Any]:
        h = available()
        try:
            sums = h.monthly_totals()
        except HistoryUnavailable as e:
            raise unavailable(e) from e
        months = [month_document(m, h.tariff) for m in sums]
        all_time = _sums({k: sum(m[k] or 0.0 for m in sums) for k in (*ENERGY_KEYS, *PRICED_KEYS)})
        return {
            "months": months,
            "total": {"sessions": sum(m["sessions"] for m in months), **_energy(all_time, h.tariff)},
        }

    @router.get("/history", summary="Power per minute (W): PV, grid, home battery, home, car")
    async def power_history(hours: Annotated[int, Query(ge=1, le=168)] = 24) -> dict[str, Any]:
        h = available()
        try:
            samples = h.samples(clock() - hours * HOUR)
        except HistoryUnavailable as e:
            raise unavailable(e) from e
        return {
            "interval": 60,
            "ts": [s.ts for s in samples],
            "power_pv": [s.power_pv for s in samples],
            "power_grid": [s.power_grid for s in samples],
            "power_battery": [s.power_battery for s in samples],
            "power_consumption": [s.power_consumption for s in samples],
            "power_car": [s.power_car for s in samples],
        }

    return router
