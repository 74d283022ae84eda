"""Copy me to add a meter: `services/meter/<yourdevice>.py` holds the config model and the adapter.

1. Rename `TemplateMeter*`, keep `type` equal to the name users write in `meter.type`.
2. Register it in `services/meter/registry.py` (one `DeviceType` line: name, module, config class, adapter).
3. Add a fake that speaks the device's protocol over a real socket (`tests/fakes/`) and a test
   (`tests/devices/test_<yourdevice>.py`), and a section with a JSON and an env example to docs/devices.md
   (tests/devices/test_registry.py checks that).
Import a library only your device needs inside the adapter (in `__init__` or the first read), so nobody
else's process imports it. Every failure is a `DeviceError`: the service counts it and keeps the last data.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from pvcontrol.device import DeviceError, json_number
from pvcontrol.http_client import JsonHttpClient
from pvcontrol.models import MeterData
from services.meter.device import Meter, MeterBase
from services.meter.flows import meter_data_from_flows


class TemplateMeterConfig(MeterBase):
    type: Literal["TemplateMeter"] = "TemplateMeter"
    url: str
    timeout: float = Field(default=5.0, gt=0)


class TemplateMeter(Meter):
    def __init__(self, config: TemplateMeterConfig) -> None:
        self._http = JsonHttpClient(config.url, config.timeout)

    async def read(self) -> MeterData:
        document = await self._http.get("/status")
        if not isinstance(document, dict):
            raise DeviceError(f"TemplateMeter: expected an object, got {type(document).__name__}")
        pv = json_number(document.get("pv"), "TemplateMeter: pv")
        grid = json_number(document.get("grid"), "TemplateMeter: grid")  # + import
        return meter_data_from_flows(pv, grid)

    async def close(self) -> None:
        self._http.close()
