"""SolarWatt Manager (Energy Manager, kiwigrid): the location device of `/rest/kiwigrid/wizard/devices`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field

from pvcontrol.device import DeviceError, json_number
from pvcontrol.http_client import JsonHttpClient
from pvcontrol.models import MeterData
from services.meter.device import Meter, MeterBase
from services.meter.flows import meter_data_from_flows

DEVICES = "/rest/kiwigrid/wizard/devices"


class SolarWattMeterConfig(MeterBase):
    type: Literal["SolarWattMeter"] = "SolarWattMeter"
    url: str
    location_guid: str
    timeout: float = Field(default=5.0, gt=0)


def _tag(tags: Mapping[str, Any], name: str, default: float | None = None) -> float:
    try:
        value = tags[name]["value"]
    except (KeyError, TypeError) as e:
        if default is not None:
            return default
        raise DeviceError(f"SolarWatt: location has no tag {name}") from e
    return json_number(value, f"SolarWatt: {name}")


def decode_location(document: Any, location_guid: str) -> MeterData:
    try:
        items = document["result"]["items"]
        tags = next(item["tagValues"] for item in items if item.get("guid") == location_guid)
    except (KeyError, TypeError) as e:
        raise DeviceError(f"SolarWatt: unexpected devices document ({e!r})") from e
    except StopIteration as e:
        raise DeviceError(f"SolarWatt: no device with guid {location_guid}") from e
    pv = _tag(tags, "PowerProduced")
    grid = _tag(tags, "PowerConsumedFromGrid") - _tag(tags, "PowerOut")
    # A location without battery has no buffer tags.
    battery = _tag(tags, "PowerReleased", 0.0) - _tag(tags, "PowerBuffered", 0.0)
    # The manager measures consumption and counts it by source itself: its tags are taken as read.
    return meter_data_from_flows(
        pv,
        grid,
        battery,
        consumption=_tag(tags, "PowerConsumed"),
        energy=_tag(tags, "WorkConsumed"),
        energy_grid=_tag(tags, "WorkConsumedFromGrid"),
        energy_pv=_tag(tags, "WorkConsumedFromProducers"),
    )


class SolarWattMeter(Meter):
    def __init__(self, config: SolarWattMeterConfig) -> None:
        self._http = JsonHttpClient(config.url, config.timeout)
        self._location_guid = config.location_guid

    async def read(self) -> MeterData:
        return decode_location(await self._http.get(DEVICES), self._location_guid)

    async def close(self) -> None:
        self._http.close()
