"""The go-e charger over its local HTTP API, v1 or v2 (auto-detected)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any, Literal

from pydantic import Field, model_validator

from pvcontrol.device import DeviceError
from pvcontrol.http_client import HttpStatusError, JsonHttpClient, NotJsonError
from pvcontrol.models import WallboxData
from services.wallbox.device import Measurements, Wallbox, WallboxBase, is_drawing
from services.wallbox.goe_protocol import V2_STATUS_KEYS, decode_v1, decode_v2, measured_currents

log = logging.getLogger(__name__)

ApiVersion = Literal["v1", "v2"]
PSM_FORCE = {1: 1, 3: 2}  # v2 phaseSwitchMode: 0 auto (the charger decides), 1 force 1, 2 force 3


class GoeWallboxConfig(WallboxBase):
    type: Literal["GoeWallbox"] = "GoeWallbox"
    url: str
    api_version: Literal["auto", "v1", "v2"] = "auto"
    timeout: float = Field(default=5.0, gt=0)
    # relay: a Pi phase relay in the supply (the original set-up); native: API v2 `psm` (Gemini, HOME v3+)
    phase_switching: Literal["relay", "native", "none"] = "relay"

    @model_validator(mode="after")
    def _native_needs_v2(self) -> GoeWallboxConfig:
        if self.phase_switching == "native" and self.api_version == "v1":
            raise ValueError("phase_switching native needs API v2 (psm); set api_version auto or v2")
        return self


class GoeWallbox(Wallbox):
    def __init__(self, config: GoeWallboxConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self._http = JsonHttpClient(config.url, config.timeout)
        self._api: ApiVersion | None = None if config.api_version == "auto" else config.api_version
        self._last: WallboxData | None = None
        self._clock = clock
        self._measurements: Measurements | None = None

    async def _api_version(self) -> ApiVersion:
        if self._api is None:
            self._api = await self._detect()
            log.info("go-e charger at %s speaks API %s", self._http.base_url, self._api)
        return self._api

    async def _detect(self) -> ApiVersion:
        """API v2 answers `/api/status`; a v1 charger answers 404 or not JSON there."""
        try:
            probe = await self._http.get("/api/status", {"filter": "alw"})
        except NotJsonError:
            return "v1"
        except HttpStatusError as e:
            if 400 <= e.status < 500:
                return "v1"
            raise  # a failing charger: detect again on the next read
        return "v2" if isinstance(probe, dict) and "alw" in probe else "v1"

    async def read(self) -> WallboxData:
        api = await self._api_version()
        if api == "v2":
            document = await self._http.get("/api/status", {"filter": ",".join(V2_STATUS_KEYS)})
            data = decode_v2(document)
        else:
            document = await self._http.get("/status")
            data = decode_v1(document)
        self._last = data
        # every status document carries the live meter (`nrg`): a measurement, unlike `car` and `pha`
        at = self._clock()
        drawing = is_drawing(measured_currents(document, api), data.power)
        self._measurements = (self._measurements or Measurements(at, None)).seen(at, drawing)
        return data

    def measurements(self) -> Measurements | None:
        return self._measurements

    async def set_max_current(self, amperes: int) -> None:
        if self._last is not None and self._last.max_current == amperes:
            return
        if await self._api_version() == "v2":
            await self._set_v2("amp", amperes)
        else:
            # amx: like amp, but not written to the charger's flash (the controller changes it often)
            await self._set_v1("amx", str(amperes))
        if self._last is not None:
            self._last = self._last.model_copy(update={"max_current": amperes})

    async def allow_charging(self, allowed: bool) -> None:
        if self._last is not None and self._last.allow_charging == allowed:
            return
        if await self._api_version() == "v2":
            await self._set_v2("frc", 2 if allowed else 1)
        else:
            await self._set_v1("alw", "1" if allowed else "0")
        if self._last is not None:
            self._last = self._last.model_copy(update={"allow_charging": allowed})

    async def set_phases(self, phases: int) -> None:
        if await self._api_version() != "v2":
            raise DeviceError("go-e: switching phases needs API v2 (psm)")
        await self._set_v2("psm", PSM_FORCE[phases])

    async def reset(self) -> None:
        if await self._api_version() == "v2":
            await self._set_v2("rst", 1)
        else:
            await self._set_v1("rst", "1")

    async def _set_v1(self, key: str, value: str) -> None:
        """The reply is the full status document."""
        # As documented by go-e, not URL-encoded: `payload=amx=10`.
        reply = await self._http.get(f"/mqtt?payload={key}={value}")
        if not isinstance(reply, dict):
            raise DeviceError(f"go-e: reply to {key}={value} is not a status document")

    async def _set_v2(self, key: str, value: Any) -> None:
        """The reply maps each key to true, or to an error message."""
        reply = await self._http.get("/api/set", {key: json.dumps(value)})
        if not isinstance(reply, dict) or reply.get(key) is not True:
            raise DeviceError(f"go-e refused {key}={value}: {reply!r}"[:200])

    async def close(self) -> None:
        self._http.close()
