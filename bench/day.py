"""One simulated day of a house: PV from pvlib's clear sky under seeded clouds, and appliance loads.

Every series has one value per `STEP` s from local midnight. Needs the `bench` extra (pvlib, numpy).
The days of the year (`DAYS`) and the roofs (`ROOFS`) are those of bench/README.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np  # type: ignore[import-not-found, unused-ignore]
import pandas as pd  # type: ignore[import-not-found, import-untyped, unused-ignore]
import pvlib  # type: ignore[import-not-found, import-untyped, unused-ignore]

STEP = 5.0  # s between two readings
STEPS = int(86_400 / STEP)
Sky = Literal["clear", "broken", "overcast"]
SKIES: tuple[Sky, ...] = ("clear", "broken", "overcast")

# Near Vienna; 14 % system losses as in PVWatts.
LATITUDE, LONGITUDE, TZ, DATE = 48.2, 16.4, "Europe/Vienna", "2026-05-20"
LOSSES = 0.14
Plane = tuple[float, float, float]  # kWp, tilt, azimuth (180 = south)
SOUTH: tuple[Plane, ...] = ((7.0, 30.0, 180.0),)
ROOFS: dict[str, tuple[Plane, ...]] = {
    "south": SOUTH,  # 7 kWp, 30° facing south
    "east_west": ((3.5, 15.0, 90.0), (3.5, 15.0, 270.0)),  # 2 x 3.5 kWp, 15°, east and west
}


@dataclass(frozen=True)
class DaySpec:
    """A day of the year: its date, sky and air temperature (°C, for the cells)."""

    name: str
    date: str
    sky: Sky
    temp_air: float

    @property
    def month(self) -> int:
        return int(self.date[5:7])


# Today's day under three skies, and days of the other seasons (the same location, loads and seeds).
DAYS: tuple[DaySpec, ...] = (
    DaySpec("May clear", DATE, "clear", 18.0),
    DaySpec("May broken", DATE, "broken", 18.0),
    DaySpec("May overcast", DATE, "overcast", 18.0),
    DaySpec("Jun broken", "2026-06-21", "broken", 24.0),
    DaySpec("Sep overcast", "2026-09-22", "overcast", 16.0),
    DaySpec("Dec clear", "2026-12-15", "clear", 2.0),
    DaySpec("Jan broken", "2026-01-15", "broken", 0.0),
    DaySpec("Mar clear", "2026-03-20", "clear", 8.0),
)
TODAY = {spec.sky: spec for spec in DAYS if spec.date == DATE}


@dataclass(frozen=True)
class Day:
    sky: Sky
    seed: int
    pv: list[float]  # W
    house: list[float]  # W, without the car
    start: float = 1_779_228_000.0  # epoch s of local midnight (2026-05-20 in Vienna)
    clear: list[float] = field(default_factory=list)  # W, the same roof under a clear sky
    sunrise: float = 0.0  # epoch s
    sunset: float = 0.0
    name: str = ""


def clear_sky_pv(date: str = DATE, planes: tuple[Plane, ...] = SOUTH, temp_air: float = 18.0) -> Any:
    """PV AC power in W per minute of the day under a clear sky (numpy array of 1440)."""
    location = pvlib.location.Location(LATITUDE, LONGITUDE, tz=TZ, altitude=200)
    times = pd.date_range(f"{date} 00:00", periods=1440, freq="1min", tz=TZ)
    sky = location.get_clearsky(times)
    sun = location.get_solarposition(times)
    total = np.zeros(1440)
    for kwp, tilt, azimuth in planes:
        poa = pvlib.irradiance.get_total_irradiance(
            tilt, azimuth, sun["apparent_zenith"], sun["azimuth"], sky["dni"], sky["ghi"], sky["dhi"]
        )
        temperature = pvlib.temperature.faiman(poa["poa_global"], temp_air=temp_air, wind_speed=2.0)
        dc = pvlib.pvsystem.pvwatts_dc(poa["poa_global"], temperature, kwp * 1000, -0.0037)
        total += np.nan_to_num(dc.to_numpy())
    return np.clip(total * (1 - LOSSES), 0.0, None)


def sun_times(date: str) -> tuple[float, float, float]:
    """Local midnight, sunrise and sunset of `date` near Vienna, epoch seconds."""
    location = pvlib.location.Location(LATITUDE, LONGITUDE, tz=TZ, altitude=200)
    midnight = pd.DatetimeIndex([pd.Timestamp(f"{date} 00:00", tz=TZ)])
    sun = location.get_sun_rise_set_transit(midnight, method="spa")
    return (
        midnight[0].timestamp(),
        sun["sunrise"].iloc[0].timestamp(),
        sun["sunset"].iloc[0].timestamp(),
    )


def _to_steps(per_minute: Any) -> Any:
    minutes = np.arange(1440) * 60.0
    return np.interp(np.arange(STEPS) * STEP, minutes, per_minute)


def _smooth(values: Any, seconds: float) -> Any:
    width = max(int(seconds / STEP), 1)
    kernel = np.ones(width) / width
    return np.convolve(np.pad(values, (width, width), mode="edge"), kernel, mode="same")[width:-width]


def cloud_transmission(sky: Sky, rng: Any) -> Any:
    """The share of clear-sky PV that passes the clouds, per step."""
    if sky == "clear":
        return np.ones(STEPS)
    out = np.empty(STEPS)
    i = 0
    if sky == "broken":
        # Cumulus: sunny spells (mean 6 min) and shadows (mean 3 min) letting 20-45 % through.
        shadow = False
        while i < STEPS:
            mean = 180.0 if shadow else 360.0
            n = max(int(rng.exponential(mean) / STEP), 2)
            out[i : i + n] = rng.uniform(0.2, 0.45) if shadow else rng.uniform(0.95, 1.05)
            i += n
            shadow = not shadow
        return _smooth(out, 30.0)
    # Overcast: a dull 15-45 % that drifts, now and then a thinner patch.
    while i < STEPS:
        n = max(int(rng.exponential(600.0) / STEP), 2)
        out[i : i + n] = rng.uniform(0.15, 0.45) if rng.random() > 0.1 else rng.uniform(0.5, 0.75)
        i += n
    return _smooth(out, 120.0)


def house_load(rng: Any) -> Any:
    """Base load, a fridge, and the day's appliances at seeded times, W per step."""
    t = np.arange(STEPS) * STEP
    hour = t / 3600
    load = 250.0 + 20.0 * _smooth(rng.normal(0.0, 1.0, STEPS), 60.0)
    fridge_phase = rng.uniform(0, 1800)
    load += np.where(((t + fridge_phase) % 1800) < 600, 120.0, 0.0)
    load += np.where((hour >= 18) & (hour < 23), 250.0, 0.0)  # lights, TV

    def run(start_h: float, minutes: float, watts: float, duty_period: float = 0.0) -> None:
        on = (hour >= start_h) & (hour < start_h + minutes / 60)
        if duty_period:  # a hob or oven that cycles its element
            on &= ((t - start_h * 3600) % duty_period) < duty_period * 0.6
        load[on] += watts

    run(rng.uniform(6.5, 7.5), 4, 2000)  # kettle
    wash = rng.uniform(9.0, 11.0)
    run(wash, 15, 2100)  # washing machine: heating, then the drum
    run(wash + 0.25, 75, 250)
    lunch = rng.uniform(11.5, 12.5)
    run(lunch, 40, 2300, duty_period=90)
    dish = rng.uniform(13.0, 14.5)
    run(dish, 20, 2000)
    run(dish + 1 / 3, 60, 150)
    run(dish + 4 / 3, 10, 2000)
    run(rng.uniform(14.5, 16.5), 20, 1500)  # vacuum cleaner
    run(rng.uniform(16.0, 17.0), 30, 1800)  # water heater top-up
    run(rng.uniform(18.0, 19.0), 45, 2200, duty_period=120)  # dinner
    for _ in range(6):  # small things: hair dryer, microwave, toaster
        run(rng.uniform(7.0, 21.0), rng.uniform(2, 6), rng.uniform(600, 1400))
    return load


def build_day(sky: Sky, seed: int, clear_pv: Any | None = None) -> Day:
    """Today's day (20 May, the south roof) under `sky`."""
    return build_season_day(TODAY[sky], seed, clear_pv=clear_pv)


def build_season_day(
    spec: DaySpec, seed: int, planes: tuple[Plane, ...] = SOUTH, clear_pv: Any | None = None
) -> Day:
    # Today's clouds keep their seeds; the other dates get their own.
    key = [seed, SKIES.index(spec.sky)] if spec.date == DATE else [seed, SKIES.index(spec.sky), spec.month]
    rng = np.random.default_rng(key)
    if clear_pv is None:
        clear_pv = clear_sky_pv(spec.date, planes, spec.temp_air)
    base = _to_steps(clear_pv)
    pv = base * cloud_transmission(spec.sky, rng)
    house = house_load(np.random.default_rng([seed, 99]))  # the same appliances under every sky
    start, sunrise, sunset = sun_times(spec.date)
    return Day(
        sky=spec.sky,
        seed=seed,
        pv=[float(x) for x in pv],
        house=[float(x) for x in house],
        start=start,
        clear=[float(x) for x in base],
        sunrise=sunrise,
        sunset=sunset,
        name=spec.name,
    )
