"""A fake go-e charger (HTTP API v1 or v2) that keeps charger state, obeys writes and charges a simulated car.

API v1: `GET /status` (values as JSON strings), `GET /mqtt?payload=<key>=<value>` (reply: full status).
API v2: `GET /api/status[?filter=k1,k2]`, `GET /api/set?<key>=<json value>` (reply: {key: true | "error"}).
Test hooks: `plug`, `set_supply_phases`, `override` (raw status values, e.g. unknown codes), the `writes`
log, a lagging car (`state.ramp_down`: s the car keeps drawing after `frc` 1 while `car` and `pha` already
say it stopped; `nrg` shows the truth), and the failure injection of FakeHttpDevice.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from tests.fakes.http import FakeHttpDevice, Reply, Request, run_cli

LINE_VOLTAGE = 230.0


@dataclass
class ChargerState:
    amp: int = 16
    alw: bool = True  # v1 `alw`; with v2 derived from `frc`
    frc: int = 0  # v2 force state: 0 neutral, 1 off, 2 on
    err: int = 0
    supply_phases: int = 3  # L1..L3 live before the contactor (what a phase relay switches)
    car_plugged: bool = True
    car_capacity_wh: float = 50_000.0
    car_energy_wh: float = 25_000.0
    session_wh: float = 0.0
    total_wh: float = 1_234_500.0
    temperatures: tuple[float, float] = (24.5, 27.25)
    reboots: int = 0
    psm: int = 0  # v2 phaseSwitchMode: 0 auto, 1 force 1 phase, 2 force 3 phases (Gemini / HOME v3)
    psm_switches_under_load: int = 0  # a real charger pauses itself; pv-control must have paused first
    updated: float = field(default_factory=time.monotonic)
    ramp_down: float = 0.0
    lag_until: float = 0.0  # monotonic; the car draws until then though the status says stopped
    psm_times: list[float] = field(default_factory=list)  # monotonic, when each psm change came

    @property
    def allowed(self) -> bool:
        return self.alw and self.frc != 1

    @property
    def car_full(self) -> bool:
        return self.car_energy_wh >= self.car_capacity_wh

    @property
    def charging(self) -> bool:
        return self.car_plugged and self.allowed and self.err == 0 and not self.car_full

    @property
    def drawing(self) -> bool:
        """What the meter sees: charging, or a car still ramping down after the stop."""
        return self.charging or (self.car_plugged and time.monotonic() < self.lag_until)

    @property
    def power(self) -> float:
        return self.amp * LINE_VOLTAGE * self.supply_phases if self.drawing else 0.0

    @property
    def car(self) -> int:
        """1 no car, 2 charging, 3 waiting for the car, 4 finished (v1 codes; v2 uses the same 1..4)."""
        if not self.car_plugged:
            return 1
        if self.charging:
            return 2
        return 4 if self.car_full or self.session_wh > 0 else 3

    def advance(self, now: float) -> None:
        hours = (now - self.updated) / 3600
        self.updated = now
        energy = self.power * hours
        self.session_wh += energy
        self.total_wh += energy
        self.car_energy_wh = min(self.car_capacity_wh, self.car_energy_wh + energy)


class FakeGoe(FakeHttpDevice):
    def __init__(self, api: Literal["v1", "v2"] = "v1", port: int = 0, host: str = "127.0.0.1") -> None:
        super().__init__(port=port, host=host)
        self.api = api
        self.state = ChargerState()
        self.writes: list[tuple[str, str]] = []
        self._override: dict[str, Any] = {}

    # --- test hooks --------------------------------------------------------------------------

    def plug(self, plugged: bool) -> None:
        with self.lock:
            self._advance()
            self.state.car_plugged = plugged
            if not plugged:
                self.state.session_wh = 0.0

    def set_supply_phases(self, phases: int) -> None:
        with self.lock:
            self._advance()
            self.state.supply_phases = phases

    def override(self, **raw: Any) -> None:
        """Report these raw status values instead of the real ones, e.g. `override(err="42")`."""
        with self.lock:
            self._override |= raw

    def clear_override(self) -> None:
        with self.lock:
            self._override = {}

    # --- protocol ----------------------------------------------------------------------------

    def _advance(self) -> None:
        self.state.advance(time.monotonic())

    def respond(self, request: Request) -> Reply:
        self._advance()
        if self.api == "v1":
            if request.path == "/status":
                return Reply(self.status_v1())
            if request.path == "/mqtt":
                return self._set_v1(request.query.get("payload", ""))
        else:
            if request.path == "/api/status":
                keys = request.query.get("filter")
                return Reply(self.status_v2(keys.split(",") if keys else None))
            if request.path == "/api/set":
                return self._set_v2(request.query)
        return Reply(b"<html><body>404 Not Found</body></html>", status=404)

    def _set_v1(self, payload: str) -> Reply:
        key, _, value = payload.partition("=")
        self.writes.append((key, value))
        s = self.state
        if key in ("amp", "amx") and value.isdigit() and 6 <= int(value) <= 32:
            s.amp = int(value)
        elif key == "alw" and value in ("0", "1"):
            s.alw = value == "1"
        elif key == "rst" and value == "1":
            self._reboot()
        return Reply(self.status_v1())

    def _set_v2(self, query: dict[str, str]) -> Reply:
        result: dict[str, Any] = {}
        s = self.state
        for key, raw in query.items():
            self.writes.append((key, raw))
            try:
                value = json.loads(raw)
            except ValueError:
                result[key] = "could not parse json value"
                continue
            if key == "amp" and isinstance(value, int) and 6 <= value <= 32:
                s.amp = value
            elif key == "frc" and value in (0, 1, 2):
                if value == 1 and s.charging:
                    s.lag_until = time.monotonic() + s.ramp_down
                s.frc = value
            elif key == "psm" and value in (0, 1, 2) and not isinstance(value, bool):
                if s.drawing and value != s.psm:
                    s.psm_switches_under_load += 1
                if value != s.psm:
                    s.psm_times.append(time.monotonic())
                s.psm = value
                if value:
                    s.supply_phases = 1 if value == 1 else 3
            elif key == "rst" and value in (1, True):
                self._reboot()
            else:
                result[key] = "value not supported"
                continue
            result[key] = True
        return Reply(result)

    def _reboot(self) -> None:
        self.state.reboots += 1

    def _phase_bits(self) -> tuple[list[bool], list[bool]]:
        live_in = [i < self.state.supply_phases for i in range(3)]
        live_out = [live and self.state.charging for live in live_in]
        return live_out, live_in

    def _nrg(self) -> tuple[list[float], list[float], list[float]]:
        """Per phase voltage (V), current (A), power (W)."""
        _, live_in = self._phase_bits()
        volts = [LINE_VOLTAGE + 1.5 * i if live else 0.0 for i, live in enumerate(live_in)]
        amps = [float(self.state.amp) if live and self.state.drawing else 0.0 for live in live_in]
        watts = [v * a for v, a in zip(volts, amps, strict=True)]
        return volts, amps, watts

    def status_v1(self) -> dict[str, Any]:
        s = self.state
        live_out, live_in = self._phase_bits()
        pha = sum(1 << i for i in range(3) if live_out[i]) | sum(1 << (i + 3) for i in range(3) if live_in[i])
        volts, amps, watts = self._nrg()
        nrg = (
            [round(v) for v in volts]
            + [0]
            + [round(a * 10) for a in amps]
            + [round(w / 100) for w in watts]
            + [0, round(s.power / 10)]
            + [100 if a else 0 for a in amps]
            + [0]
        )
        status: dict[str, Any] = {
            "version": "B",
            "tme": time.strftime("%d%m%y%H%M"),
            "rbc": str(251 + s.reboots),
            "rbt": "2208867",
            "car": str(s.car),
            "amp": str(s.amp),
            "err": str(s.err),
            "ast": "0",
            "alw": "1" if s.alw else "0",
            "stp": "0",
            "cbl": "32",
            "pha": str(pha),
            "tmp": str(round(min(s.temperatures))),
            "tma": list(s.temperatures),
            "amt": "32",
            "dws": str(round(s.session_wh * 360)),
            "dwo": "0",
            "adi": "0",
            "uby": "0",
            "eto": str(round(s.total_wh / 100)),
            "wst": "3",
            "txi": "0",
            "nrg": nrg,
            "fwv": "040.0",
            "sse": "012345",
            "wss": "home",
            "wke": "********",
            "wen": "1",
            "cdi": "0",
            "tof": "101",
            "tds": "1",
            "lbr": "255",
            "aho": "2",
            "afi": "8",
            "azo": "0",
            "ama": "32",
            "al1": "6",
            "al2": "10",
            "al3": "16",
            "al4": "20",
            "al5": "32",
            "cid": "255",
            "cch": "65535",
            "cfi": "65280",
            "lse": "0",
            "ust": "0",
            "wak": "********",
            "r1x": "2",
            "dto": "0",
            "nmo": "0",
            "sch": "AAAAAAAAAAAAAAAA",
            "sdp": "0",
            "eca": "0",
            "ecr": "0",
            "ecd": "0",
            "ec4": "0",
            "ec5": "0",
            "ec6": "0",
            "ec7": "0",
            "ec8": "0",
            "ec9": "0",
            "ec1": "0",
            "rca": "",
            "rcr": "",
            "rcd": "",
            "rc4": "",
            "rc5": "",
            "rc6": "",
            "rc7": "",
            "rc8": "",
            "rc9": "",
            "rc1": "",
            "rna": "",
            "rnm": "",
            "rne": "",
            "rn4": "",
            "rn5": "",
            "rn6": "",
            "rn7": "",
            "rn8": "",
            "rn9": "",
            "rn1": "",
            "loe": 0,
            "lot": 0,
            "lom": 0,
            "lop": 0,
            "log": "",
            "lon": 0,
            "lof": 0,
            "loa": 0,
            "lch": 0,
            "mce": 0,
            "mcs": "",
            "mcp": 0,
            "mcu": "",
            "mck": "",
            "mcc": 0,
        }
        return status | self._override

    def status_v2(self, keys: list[str] | None = None) -> dict[str, Any]:
        s = self.state
        live_out, live_in = self._phase_bits()
        volts, amps, watts = self._nrg()
        status: dict[str, Any] = {
            "alw": s.allowed,
            "acu": s.amp if s.charging else None,
            "adi": False,
            "amp": s.amp,
            "ama": 32,
            "amt": 32,
            "car": s.car,
            "err": s.err,
            "frc": s.frc,
            "cbl": 32,
            "pha": live_out + live_in,
            "nrg": [*volts, 0.0, *amps, *watts, 0.0, s.power, *(1.0 if a else 0.0 for a in amps), 0.0],
            "wh": round(s.session_wh, 3),
            "eto": round(s.total_wh),
            "tma": list(s.temperatures),
            "tpa": s.power,
            "trx": 0 if s.car_plugged else None,
            "lmo": 3,
            "fsp": s.supply_phases == 1,
            "psm": s.psm,
            "rbc": 251 + s.reboots,
            "rbt": 2208867,
            "fwv": "56.8",
            "typ": "go-eCharger",
            "var": 11,
            "sse": "012345",
            "fna": "go-eCharger",
            "wst": 3,
            "rssi": -61,
            "utc": time.strftime("%Y-%m-%dT%H:%M:%S.000", time.gmtime()),
        }
        status |= self._override
        return {k: v for k, v in status.items() if keys is None or k in keys}


def main() -> None:
    run_cli(
        "fake go-e charger",
        8081,
        lambda args: FakeGoe(api=args.api, port=args.port, host=args.host),
        lambda parser: parser.add_argument("--api", choices=["v1", "v2"], default="v1"),
    )


if __name__ == "__main__":
    main()
