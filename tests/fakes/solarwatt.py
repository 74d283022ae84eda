"""A fake SolarWatt Manager (kiwigrid Energy Manager): `GET /rest/kiwigrid/wizard/devices`.

The reply lists the devices the manager knows (location, inverter, battery, meter) with their tagValues,
as the real one does; the location device carries the balanced powers and work counters.
"""

from __future__ import annotations

import time
from typing import Any

from tests.fakes.http import FakeHttpDevice, Reply, Request, run_cli

DEVICES = "/rest/kiwigrid/wizard/devices"
LOCATION_GUID = "urn:kiwigrid:location:ERC05-000008007:0"


class FakeSolarWatt(FakeHttpDevice):
    def __init__(self, port: int = 0, host: str = "127.0.0.1", location_guid: str = LOCATION_GUID) -> None:
        super().__init__(port=port, host=host)
        self.location_guid = location_guid
        self.produced = 3210.0
        self.consumed = 870.0
        self.buffered = 1500.0  # battery charging
        self.released = 0.0  # battery discharging
        self.soc = 54.0
        self.work = {"WorkConsumed": 9_876_543.0, "WorkConsumedFromGrid": 4_321_000.0}

    def set_powers(self, produced: float, consumed: float, buffered: float = 0, released: float = 0) -> None:
        with self.lock:
            self.produced, self.consumed = produced, consumed
            self.buffered, self.released = buffered, released

    def respond(self, request: Request) -> Reply:
        if request.path != DEVICES:
            return Reply({"error": "not found", "status": 404}, status=404)
        return Reply({"result": {"items": self.devices()}})

    def devices(self) -> list[dict[str, Any]]:
        now = int(time.time() * 1000)
        grid = self.consumed - self.produced + self.buffered - self.released  # + import
        from_grid, out = max(grid, 0.0), max(-grid, 0.0)
        from_producers = min(self.consumed, self.produced)
        work_from_grid = self.work["WorkConsumedFromGrid"]
        location = {
            "PowerProduced": self.produced,
            "PowerConsumed": self.consumed,
            "PowerConsumedFromGrid": from_grid,
            "PowerConsumedFromProducers": from_producers,
            "PowerConsumedFromStorage": max(0.0, self.consumed - from_producers - from_grid),
            "PowerOut": out,
            "PowerOutFromProducers": out,
            "PowerOutFromStorage": 0.0,
            "PowerBuffered": self.buffered,
            "PowerBufferedFromGrid": 0.0,
            "PowerBufferedFromProducers": self.buffered,
            "PowerReleased": self.released,
            "PowerSelfConsumed": from_producers,
            "PowerSelfSupplied": self.consumed - from_grid,
            "WorkConsumed": self.work["WorkConsumed"],
            "WorkConsumedFromGrid": work_from_grid,
            "WorkConsumedFromProducers": self.work["WorkConsumed"] - work_from_grid - 812_000.0,
            "WorkConsumedFromStorage": 812_000.0,
            "WorkProduced": 15_432_100.0,
            "WorkOut": 6_100_200.0,
            "WorkBuffered": 1_020_000.0,
            "WorkReleased": 905_000.0,
            "IdName": "Location",
        }
        return [
            _device(self.location_guid, "com.kiwigrid.devices.location.Location", location, now),
            _device(
                "urn:kiwigrid:inverter:SMA-3010045123:0",
                "com.kiwigrid.devices.inverter.Inverter",
                {"PowerACOut": self.produced, "WorkACOut": 15_432_100.0, "IdManufacturer": "SMA"},
                now,
            ),
            _device(
                "urn:solarwatt:myreserve:bc:A1B2C3D4",
                "com.kiwigrid.devices.batteryconverter.BatteryConverter",
                {
                    "StateOfCharge": self.soc,
                    "PowerACIn": self.buffered,
                    "PowerACOut": self.released,
                    "IdName": "MyReserve",
                },
                now,
            ),
            _device(
                "urn:kiwigrid:powermeter:S0-123456:0",
                "com.kiwigrid.devices.powermeter.PowerMeter",
                {"PowerIn": from_grid, "PowerOut": out, "WorkIn": work_from_grid, "CountryCode": "DE"},
                now,
            ),
        ]


def _device(guid: str, device_class: str, tags: dict[str, Any], now_ms: int) -> dict[str, Any]:
    return {
        "guid": guid,
        "deviceModel": [
            {"deviceClass": "com.kiwigrid.devices.Device"},
            {"deviceClass": device_class},
        ],
        "tagValues": {
            name: {"tagName": name, "value": value, "timestamp": now_ms, "guid": guid}
            for name, value in tags.items()
        },
        "stateVersion": 4711,
    }


def main() -> None:
    run_cli(
        f"fake SolarWatt Manager (location_guid {LOCATION_GUID})",
        8083,
        lambda args: FakeSolarWatt(port=args.port, host=args.host),
    )


if __name__ == "__main__":
    main()
