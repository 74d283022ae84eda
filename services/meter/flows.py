"""How every meter adapter builds its reading from the power flows it read: the one place that says what
`power_consumption` and `energy_consumption` are when the device does not report them itself."""

from __future__ import annotations

import time

from pvcontrol.models import MeterData


def meter_data_from_flows(
    pv: float,
    grid: float,
    battery: float = 0.0,
    soc: float = 0.0,
    *,
    consumption: float | None = None,
    energy_grid: float = 0.0,
    energy_pv: float = 0.0,
    energy: float | None = None,
    ts: float | None = None,
) -> MeterData:
    """A meter reading (W: `grid` + import / - feed-in, `battery` + discharge / - charge; Wh counters).

    The house consumes what the sun, the grid and the battery deliver: `power_consumption` = pv + grid +
    battery, unless the device measures it (`consumption`). What it consumed is what came from the grid
    and from the sun: `energy_consumption` = `energy_grid` + `energy_pv`, unless the device counts it
    (`energy`). `ts` defaults to now."""
    return MeterData(
        ts=time.time() if ts is None else ts,
        power_pv=pv,
        power_grid=grid,
        power_battery=battery,
        power_consumption=pv + grid + battery if consumption is None else consumption,
        soc_battery=soc,
        energy_consumption=energy_grid + energy_pv if energy is None else energy,
        energy_consumption_grid=energy_grid,
        energy_consumption_pv=energy_pv,
    )
