"""A fake Fronius inverter (Gen24 with battery and smart meter at the grid point), Solar API v1 power flow.

`GET /solar_api/v1/GetPowerFlowRealtimeData.fcgi` answers the document a real inverter sends; the powers
follow `set_powers` (grid = load - pv - battery, so the site balances like the real one).
"""

from __future__ import annotations

import time
from typing import Any

from tests.fakes.http import FakeHttpDevice, Reply, Request, run_cli

POWER_FLOW = "/solar_api/v1/GetPowerFlowRealtimeData.fcgi"


class FakeFronius(FakeHttpDevice):
    def __init__(self, port: int = 0, host: str = "127.0.0.1") -> None:
        super().__init__(port=port, host=host)
        self.pv: float | None = 2847.0
        self.load = 1100.2
        self.battery: float | None = -512.3  # + discharge
        self.soc: float | None = 67.5
        self.e_total = 12_345_678.9

    def set_powers(self, pv: float | None, load: float, battery: float | None, soc: float | None) -> None:
        """None is reported as null, as the inverter does at night or without a battery."""
        with self.lock:
            self.pv, self.load, self.battery, self.soc = pv, load, battery, soc

    def respond(self, request: Request) -> Reply:
        if request.path != POWER_FLOW:
            return Reply(b"<html><body>404 Not Found</body></html>", status=404)
        return Reply(self.power_flow())

    def power_flow(self) -> dict[str, Any]:
        grid = self.load - (self.pv or 0.0) - (self.battery or 0.0)
        produced = (self.pv or 0.0) + (self.battery or 0.0)
        autonomy = 100.0 if grid <= 0 else max(0.0, 100.0 * (1 - grid / self.load)) if self.load else 0.0
        return {
            "Body": {
                "Data": {
                    "Inverters": {
                        "1": {
                            "Battery_Mode": "normal" if self.battery is not None else "disabled",
                            "DT": 1,
                            "E_Day": None,
                            "E_Total": self.e_total,
                            "E_Year": None,
                            "P": round(produced, 1),
                            "SOC": self.soc,
                        }
                    },
                    "SecondaryMeters": {},
                    "Site": {
                        "BackupMode": False,
                        "BatteryStandby": False,
                        "E_Day": None,
                        "E_Total": self.e_total,
                        "E_Year": None,
                        "Meter_Location": "grid",
                        "Mode": "bidirectional",
                        "P_Akku": self.battery,
                        "P_Grid": round(grid, 1),
                        "P_Load": -self.load,
                        "P_PV": self.pv,
                        "rel_Autonomy": round(autonomy, 1),
                        "rel_SelfConsumption": 100.0 if grid >= 0 else round(100 * self.load / produced, 1),
                    },
                    "Smartloads": {"OhmpilotEcos": {}, "Ohmpilots": {}},
                    "Version": "13",
                }
            },
            "Head": {
                "RequestArguments": {},
                "Status": {"Code": 0, "Reason": "", "UserMessage": ""},
                "Timestamp": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()),
            },
        }


def main() -> None:
    run_cli("fake Fronius inverter", 8082, lambda args: FakeFronius(port=args.port, host=args.host))


if __name__ == "__main__":
    main()
