"""A fake Shelly energy meter speaking the Gen2+ RPC API over HTTP (`GET /rpc/<Method>?id=N`).

`profile` EM: a Pro 3EM (`EM.GetStatus`/`EMData.GetStatus` id 0, three phases). `profile` EM1: a Pro EM-50
with two channels (`EM1.GetStatus`/`EM1Data.GetStatus` id 0 and 1), channel 1 on the PV inverter's line with
its clamp the other way round (negative power while producing, as often installed). Unknown methods or ids
answer like the device: HTTP 404 / 500 with an RPC error object.
"""

from __future__ import annotations

from typing import Any, Literal

from tests.fakes.http import FakeHttpDevice, Reply, Request, run_cli

VOLTS = (231.2, 229.8, 230.5)


class FakeShelly(FakeHttpDevice):
    def __init__(self, profile: Literal["EM", "EM1"] = "EM", port: int = 0, host: str = "127.0.0.1") -> None:
        super().__init__(port=port, host=host)
        self.profile = profile
        self.grid = -1234.5  # W, + import
        self.pv = 3456.7  # W produced (EM1 channel 1)
        self.imported = 4_321_000.0  # Wh
        self.exported = 1_234_000.0
        self.produced = 6_543_000.0
        self.errors: list[str] = []

    def set_powers(self, grid: float, pv: float) -> None:
        with self.lock:
            self.grid, self.pv = grid, pv

    def respond(self, request: Request) -> Reply:
        method = request.path.removeprefix("/rpc/")
        if not request.path.startswith("/rpc/"):
            return Reply(b"Not Found", status=404)
        try:
            ident = int(request.query.get("id", "0"))
        except ValueError:
            return self._rpc_error(-103, "Invalid argument 'id'!")
        handlers = {
            "Shelly.GetDeviceInfo": self._device_info,
            "EM.GetStatus": self._em,
            "EMData.GetStatus": self._em_data,
            "EM1.GetStatus": self._em1,
            "EM1Data.GetStatus": self._em1_data,
        }
        handler = handlers.get(method)
        if handler is None or (
            method.startswith("EM1") != (self.profile == "EM1") and method != "Shelly.GetDeviceInfo"
        ):
            return Reply({"code": 404, "message": f"No handler for {method}"}, status=404)
        if (self.profile == "EM" and ident != 0) or ident > 1:
            return self._rpc_error(-105, f"Argument 'id', value {ident} not found!")
        return Reply(handler(ident))

    @staticmethod
    def _rpc_error(code: int, message: str) -> Reply:
        return Reply({"code": code, "message": message}, status=500)

    def _device_info(self, _: int) -> dict[str, Any]:
        model = "SPEM-003CEBEU" if self.profile == "EM" else "SPEM-002CEBEU50"
        return {"name": None, "id": "shellypro3em-c8f09e8a1b2c", "model": model, "gen": 2, "ver": "1.4.4"}

    def _em(self, ident: int) -> dict[str, Any]:
        status: dict[str, Any] = {"id": ident}
        for i, phase in enumerate("abc"):
            power = self.grid / 3
            status |= {
                f"{phase}_current": round(abs(power) / VOLTS[i], 3),
                f"{phase}_voltage": VOLTS[i],
                f"{phase}_act_power": round(power, 1),
                f"{phase}_aprt_power": round(abs(power) + 2.1, 1),
                f"{phase}_pf": -1.0 if power < 0 else 1.0,
                f"{phase}_freq": 50.0,
            }
        status |= {
            "n_current": None,
            "total_current": round(abs(self.grid) / 230.5, 3),
            "total_act_power": round(self.grid, 1),
            "total_aprt_power": round(abs(self.grid) + 6.3, 1),
            "user_calibrated_phase": [],
        }
        if self.errors:
            status["errors"] = list(self.errors)
        return status

    def _em_data(self, ident: int) -> dict[str, Any]:
        data: dict[str, Any] = {"id": ident}
        for phase in "abc":
            data[f"{phase}_total_act_energy"] = round(self.imported / 3, 2)
            data[f"{phase}_total_act_ret_energy"] = round(self.exported / 3, 2)
        return data | {"total_act": round(self.imported, 2), "total_act_ret": round(self.exported, 2)}

    def _em1(self, ident: int) -> dict[str, Any]:
        power = self.grid if ident == 0 else -self.pv
        status: dict[str, Any] = {
            "id": ident,
            "current": round(abs(power) / VOLTS[0], 3),
            "voltage": VOLTS[0],
            "act_power": round(power, 1),
            "aprt_power": round(abs(power) + 1.4, 1),
            "pf": -1.0 if power < 0 else 1.0,
            "freq": 50.0,
            "calibration": "factory",
        }
        if self.errors:
            status["errors"] = list(self.errors)
        return status

    def _em1_data(self, ident: int) -> dict[str, Any]:
        if ident == 0:
            return {
                "id": 0,
                "total_act_energy": round(self.imported, 2),
                "total_act_ret_energy": round(self.exported, 2),
            }
        return {"id": 1, "total_act_energy": 12.5, "total_act_ret_energy": round(self.produced, 2)}


def main() -> None:
    run_cli(
        "fake Shelly energy meter",
        8084,
        lambda args: FakeShelly(profile=args.profile, port=args.port, host=args.host),
        lambda parser: parser.add_argument("--profile", choices=["EM", "EM1"], default="EM"),
    )


if __name__ == "__main__":
    main()
