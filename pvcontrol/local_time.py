"""Local days in the configured time zone (forecast, tariff): midnights in epoch seconds, 15-minute slots."""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

SLOT = 900.0  # s, one forecast period


def zone(name: str | None = None) -> ZoneInfo:
    """`name`, else the system's zone (TZ, /etc/localtime), else UTC."""
    if name is None:
        name = os.environ.get("TZ", "").lstrip(":") or None
    if name is None:
        localtime = Path("/etc/localtime")
        if localtime.exists():
            with localtime.open("rb") as file:
                return ZoneInfo.from_file(file, key="localtime")
        return ZoneInfo("UTC")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as e:
        raise ValueError(f"unknown time zone {name!r}") from e


def midnight(ts: float, tz: ZoneInfo, days: int = 0) -> float:
    """Epoch s of the local midnight that starts the day of `ts`, `days` later."""
    day = datetime.fromtimestamp(ts, tz).date() + timedelta(days=days)
    return datetime(day.year, day.month, day.day, tzinfo=tz).timestamp()


def slot_start(ts: float) -> float:
    """Start of the 15-minute period holding `ts` (every zone's offset is a multiple of 15 minutes)."""
    return (ts // SLOT) * SLOT
