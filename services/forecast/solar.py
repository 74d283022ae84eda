"""The clear-sky model of the roof (pvlib, imported only here): power per period, sunrise and sunset.

Power = kWp x plane-of-array irradiance / 1000 W/m² x `losses`, per plane (no temperature model: the
nowcast correction absorbs what the sky and the heat take).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

from pvcontrol.local_time import SLOT, midnight
from pvcontrol.models import ForecastPeriod
from services.forecast.device import Plane


def _location(latitude: float, longitude: float, altitude: float | None) -> Any:
    import pvlib  # type: ignore[import-untyped, unused-ignore]

    return pvlib.location.Location(latitude, longitude, altitude=altitude if altitude is not None else 0.0)


def clear_sky(
    latitude: float,
    longitude: float,
    altitude: float | None,
    planes: Sequence[Plane],
    losses: float,
    start: float,
    end: float,
) -> list[ForecastPeriod]:
    """15-minute periods from `start` to `end` (epoch s, slot-aligned), each the power at its middle."""
    import pandas as pd  # type: ignore[import-untyped, unused-ignore]
    import pvlib

    count = round((end - start) / SLOT)
    if count <= 0:
        return []
    middles = pd.DatetimeIndex(
        [pd.Timestamp(start + (i + 0.5) * SLOT, unit="s", tz="UTC") for i in range(count)]
    )
    location = _location(latitude, longitude, altitude)
    sky = location.get_clearsky(middles, model="ineichen")
    sun = location.get_solarposition(middles)
    total = [0.0] * count
    for plane in planes:
        poa = pvlib.irradiance.get_total_irradiance(
            plane.tilt,
            plane.azimuth,
            sun["apparent_zenith"],
            sun["azimuth"],
            sky["dni"],
            sky["ghi"],
            sky["dhi"],
        )["poa_global"]
        for i, irradiance in enumerate(poa.to_numpy()):
            if math.isfinite(irradiance) and irradiance > 0:
                total[i] += plane.kwp * irradiance * losses
    return [
        ForecastPeriod(start=start + i * SLOT, end=start + (i + 1) * SLOT, power_pv=total[i])
        for i in range(count)
    ]


def sun_times(
    latitude: float, longitude: float, ts: float, tz: ZoneInfo
) -> tuple[float | None, float | None]:
    """Sunrise and sunset (epoch s) of the local day of `ts`; None in polar day or night."""
    import pandas as pd
    import pvlib

    day = pd.DatetimeIndex([pd.Timestamp(midnight(ts, tz), unit="s", tz="UTC").tz_convert(tz)])
    found = pvlib.solarposition.sun_rise_set_transit_spa(day, latitude, longitude)
    return _epoch(found["sunrise"].iloc[0]), _epoch(found["sunset"].iloc[0])


def _epoch(value: Any) -> float | None:
    import pandas as pd

    if value is None or pd.isna(value):
        return None
    return float(pd.Timestamp(value).timestamp())
