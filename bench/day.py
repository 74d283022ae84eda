"""One simulated day of a house: PV from pvlib's clear sky under seeded clouds, and appliance loads.

Every series has one value per `STEP` s from local midnight. Needs the `bench` extra (pvlib, numpy).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np  # type: ignore[import-not-found, unused-ignore]
import pandas as pd  # type: ignore[import-not-found, import-untyped, unused-ignore]
import pvlib  # type: ignore[import-not-found, import-untyped, unused-ignore]

STEP = 5.0  # s between two readings
STEPS = int(86_400 / STEP)
Sky = Literal["clear", "broken", "overcast"]
SKIES: tuple[Sky, ...] = ("clear", "broken", "overcast")

# A 7 kWp roof, 30° tilt facing south, near Vienna on 20 May; 14 % system losses as in PVWatts.
LATITUDE, LONGITUDE, TZ, DATE = 48.2, 16.4, "Europe/Vienna", "2026-05-20"
PEAK_W, TILT, AZIMUTH, LOSSES = 7000.0, 30.0, 180.0, 0.14


@dataclass(frozen=True)
class Day:
    sky: Sky
    seed: int
    pv: list[float]  # W
    house: list[float]  # W, without the car


def clear_sky_pv() -> Any:
    """PV AC power in W per minute of the day under a clear sky (numpy array of 1440)."""
    location = pvlib.location.Location(LATITUDE, LONGITUDE, tz=TZ, altitude=200)
    times = pd.date_range(f"{DATE} 00:00", periods=1440, freq="1min", tz=TZ)
    sky = location.get_clearsky(times)
    sun = location.get_solarposition(times)
    poa = pvlib.irradiance.get_total_irradiance(
        TILT, AZIMUTH, sun["apparent_zenith"], sun["azimuth"], sky["dni"], sky["ghi"], sky["dhi"]
    )
    temperature = pvlib.temperature.faiman(poa["poa_global"], temp_air=18.0, wind_speed=2.0)
    dc = pvlib.pvsystem.pvwatts_dc(poa["poa_global"], temperature, PEAK_W, -0.0037)
    return np.clip(dc.to_numpy() * (1 - LOSSES), 0.0, None)


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
    rng = np.random.default_rng([seed, SKIES.index(sky)])
    base = _to_steps(clear_sky_pv() if clear_pv is None else clear_pv)
    pv = base * cloud_transmission(sky, rng)
    house = house_load(np.random.default_rng([seed, 99]))  # the same appliances under every sky
    return Day(sky=sky, seed=seed, pv=[float(x) for x in pv], house=[float(x) for x in house])
