"""Copy me to add a wallbox: `services/wallbox/<yourdevice>.py` holds the config model and the adapter.

1. Rename `TemplateWallbox*`, keep `type` equal to the name users write in `wallbox.type`.
2. Declare what the charger can do: `phase_switching` (`relay`: a phase relay switches for it, `native`: it
   switches itself, `none`) with the values it supports and a default. For `native` add
   `async def set_phases(self, phases: int)`: the adapter is then a `capabilities.PhaseSwitcher`.
3. Register it in `services/wallbox/registry.py`, add a protocol-faithful fake in `tests/fakes/`, a test in
   `tests/devices/`, and a section with a JSON and an env example in docs/devices.md.
The service validates every command (current within [min, max], phases 1 or 3) before the adapter sees it,
pauses charging around a native phase switch and keeps the failsafe stop: the adapter only talks to the
charger, and every failure is a `DeviceError`.
"""

from __future__ import annotations

import time
from typing import Literal

from pydantic import Field

from pvcontrol.device import DeviceError
from pvcontrol.http_client import JsonHttpClient
from pvcontrol.models import CarStatus, WallboxData
from services.wallbox.device import Wallbox, WallboxBase


class TemplateWallboxConfig(WallboxBase):
    type: Literal["TemplateWallbox"] = "TemplateWallbox"
    phase_switching: Literal["relay", "none"] = "none"
    url: str
    timeout: float = Field(default=5.0, gt=0)


class TemplateWallbox(Wallbox):
    def __init__(self, config: TemplateWallboxConfig) -> None:
        self._http = JsonHttpClient(config.url, config.timeout)

    async def read(self) -> WallboxData:
        document = await self._http.get("/status")
        try:
            return WallboxData(
                ts=time.time(),
                car_status=CarStatus(document["car"]),
                max_current=document["amp"],
                allow_charging=document["allow"],
                phases_in=document["phases"],
                phases_out=document["phases_charging"],
                power=document["power"],
            )
        except (KeyError, TypeError, ValueError) as e:
            raise DeviceError(f"TemplateWallbox: bad status ({e!r})") from e

    async def set_max_current(self, amperes: int) -> None:
        await self._http.post("/set", {"amp": amperes})

    async def allow_charging(self, allowed: bool) -> None:
        await self._http.post("/set", {"allow": allowed})

    async def reset(self) -> None:
        await self._http.post("/reset", {})

    async def close(self) -> None:
        self._http.close()
