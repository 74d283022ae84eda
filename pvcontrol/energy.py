"""Energy accounting: how the energy charged into the car is counted and split into its sources. Pure.

The one home of these rules for both users: the controller's metrics (`services/controller/rules.py`,
docs/CONTROL.md "Energy accounting") and the history's sessions (`services/api/history/sessions.py`).
There are two ways to split, each where it applies:

- `split_by_counters`: by the rise of the meter's grid-import counter since the last split. Meters update
  their counters only every few minutes, so the caller collects the charged energy until they move
  (`meter_counters_moved`). The controller's metrics use it: the original pv-control's rule, pinned by
  CONTROL.md for `strategy: original` and shared by every strategy. It knows only PV and grid.
- `split_by_flows`: by the power flows at the moment of one wallbox reading. The history uses it: it
  splits each step of a session as it comes, needs the home battery's part too, and must work with the
  meters whose adapters report no energy counters (they report 0).

How a wallbox's counters are read before any of this (noise, resets, rises no charger can make) is
`pvcontrol/plausibility.py`; `charged_increase` is the accounting step for a reading that passed it.
"""

from __future__ import annotations

# A drop of `charged_energy` larger than this means the wallbox began a new session (CONTROL.md). Readings
# reach the controller through the plausibility checks, which hold a noisy step back at the previous
# value, so a drop that arrives here is a reset by their rule as well.
COUNTER_RESET_DROP = 1.0  # Wh
METER_UPDATE_RISE = 1.0  # Wh; energy_consumption rising more than this means the meter counters updated


def charged_increase(previous: float, current: float) -> float:
    """Wh charged from a count of `previous` to `current`: after a reset the new count; never negative."""
    increase = current - previous
    if increase < -COUNTER_RESET_DROP:
        increase = current
    return max(increase, 0.0)


def meter_counters_moved(previous_consumption: float, consumption: float) -> bool:
    """True when the meter's `energy_consumption` rose enough to tell its counters have updated."""
    return consumption - previous_consumption > METER_UPDATE_RISE


def split_by_counters(charged: float, grid_rise: float) -> tuple[float, float]:
    """(pv, grid) parts of `charged` Wh, given what the grid-import counter rose by meanwhile: the grid
    part goes to the car first (never more than was charged), the rest is solar."""
    from_grid = min(max(0.0, grid_rise), charged)
    return charged - from_grid, from_grid


def split_by_flows(
    energy: float, car_power: float, grid_power: float | None, battery_power: float
) -> tuple[float, float, float]:
    """(pv, battery, grid) parts of `energy` Wh, in the proportions of the power flows of the moment.

    Grid import goes to the car first (the conservative choice: what the house imports while the car
    charges is the car's), then home-battery discharge, the rest is solar. `grid_power` None (no meter
    reading) or a car drawing nothing: all of it counts as bought, never as free sun."""
    if energy <= 0:
        return 0.0, 0.0, 0.0
    if grid_power is None or car_power <= 0:
        return 0.0, 0.0, energy
    grid_share = min(max(grid_power, 0.0), car_power) / car_power
    battery_share = min(max(battery_power, 0.0), car_power * (1 - grid_share)) / car_power
    grid = energy * grid_share
    battery = energy * battery_share
    return energy - grid - battery, battery, grid
