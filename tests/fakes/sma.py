"""A fake SMA Sunny Tripower with energy meter and battery: the WebConnect JSON API over HTTPS.

`POST /dyn/login.json` ({"right", "pass"} -> sid; wrong password: {"err": 401}; more than `max_sessions`
open: {"err": 503}), `POST /dyn/getValues.json?sid=` ({"destDev", "keys"} -> values of the requested
keys; unknown or expired sid: {"err": 401}), `POST /dyn/logout.json?sid=`. The certificate is
self-signed per instance (trustme), like the inverter's own.
"""

from __future__ import annotations

import secrets
import ssl
from typing import Any

import trustme

from tests.fakes.http import FakeHttpDevice, Reply, Request, run_cli

SERIAL = "0199-B32C3D4E"
PASSWORD = "Sunny-1234"


class FakeSma(FakeHttpDevice):
    def __init__(self, port: int = 0, host: str = "127.0.0.1", password: str = PASSWORD) -> None:
        self.ca = trustme.CA()
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ca.issue_cert(host, "localhost").configure_cert(context)
        super().__init__(port=port, host=host, ssl_context=context)
        self.password = password
        self.max_sessions = 4
        self.sessions: set[str] = set()
        self.logins = 0
        self.values: dict[str, float | None] = {
            "6100_0046C200": 4120.0,  # pv power
            "6100_40463700": 0.0,  # grid absorbed
            "6100_40463600": 1830.0,  # grid supplied
            "6100_00496900": 1200.0,  # battery charge
            "6100_00496A00": 0.0,  # battery discharge
            "6100_00295A00": 63.0,  # battery soc
            "6100_40263F00": 2920.0,  # grid_power (AC out of the inverter)
            "6400_00260100": 18_250_400.0,  # total yield Wh
            "6400_00462400": 9_870_100.0,  # total supplied Wh
            "6400_00462500": 2_104_300.0,  # total absorbed Wh
            "6400_00496700": 1_480_000.0,  # battery charged Wh
            "6400_00496800": 1_310_000.0,  # battery discharged Wh
        }

    def expire_sessions(self) -> None:
        """As after an inverter reboot: every sid is unknown."""
        with self.lock:
            self.sessions.clear()

    def respond(self, request: Request) -> Reply:
        body = request.body if isinstance(request.body, dict) else {}
        if request.method != "POST":
            return Reply({"err": 404}, status=404)
        if request.path == "/dyn/login.json":
            return Reply(self._login(body))
        if request.path == "/dyn/logout.json":
            self.sessions.discard(request.query.get("sid", ""))
            return Reply({"result": {"isLogin": False}})
        if request.path == "/dyn/getValues.json":
            if request.query.get("sid") not in self.sessions:
                return Reply({"err": 401})
            return Reply({"result": {SERIAL: self._get_values(body.get("keys") or [])}})
        return Reply({"err": 404}, status=404)

    def _login(self, body: dict[str, Any]) -> dict[str, Any]:
        if body.get("right") not in ("usr", "istl") or body.get("pass") != self.password:
            return {"err": 401}
        if len(self.sessions) >= self.max_sessions:
            return {"err": 503}
        sid = secrets.token_urlsafe(12)
        self.sessions.add(sid)
        self.logins += 1
        return {"result": {"sid": sid}}

    def _get_values(self, keys: list[str]) -> dict[str, Any]:
        return {key: {"1": [{"val": self.values[key]}]} for key in keys if key in self.values}


def main() -> None:
    run_cli(
        f"fake SMA Tripower (password {PASSWORD}, self-signed certificate)",
        8443,
        lambda args: FakeSma(port=args.port, host=args.host),
    )


if __name__ == "__main__":
    main()
