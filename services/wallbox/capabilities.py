"""What some wallbox adapters can do beyond the `Wallbox` interface, as protocols the service checks with
`isinstance` (like evcc's api.PhaseSwitcher): an adapter has the capability by having the methods."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from pvcontrol.models import CarStatus, RelayData


@runtime_checkable
class PhaseSwitcher(Protocol):
    """A charger that switches between 1 and 3 phases itself (`phase_switching` native selects it). The
    service has paused charging and seen no current before it calls `set_phases`; a failure is a
    `DeviceError`."""

    async def set_phases(self, phases: int) -> None: ...


@runtime_checkable
class SimulatedCharger(Protocol):
    """The hooks of a simulated charger: its car is plugged in or out by command (P/wallbox/car_status/set,
    with `car_status_settable`) and its phases may follow the phase relay's state."""

    def set_car_status(self, status: CarStatus) -> None: ...

    def on_relay_state(self, relay: RelayData) -> None: ...
