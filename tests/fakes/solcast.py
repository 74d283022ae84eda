"""Solcast's rooftop sites API (`/rooftop_sites/{resource_id}/forecasts?format=json`, `Authorization:
Bearer <key>`), answered from `tests.fakes.sky` (recorded response shape: `forecasts` of `pv_estimate`,
`pv_estimate10`, `pv_estimate90` in kW, `period_end` ISO 8601 UTC with seven decimals, `period` "PT30M",
from the current half hour 7 days on; 401 without a valid key, 404 for an unknown site, 429 with
`response_status` once the day's calls are used up)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from tests.fakes.http import FakeHttpDevice, Reply, Request, run_cli
from tests.fakes.sky import irradiance

API_KEY = "solcast-test-key"
STEP = 1800


class FakeSolcast(FakeHttpDevice):
    def __init__(
        self,
        clock: Callable[[], float] = time.time,
        port: int = 0,
        sites: dict[str, float] | None = None,
        daily_limit: int = 10,
    ) -> None:
        super().__init__(port)
        self.clock = clock
        self.sites = sites if sites is not None else {"abcd-1234-efgh-5678": 5.0}  # id -> kWp
        self.daily_limit = daily_limit
        self.calls_today = 0
        self.override: object = None

    def respond(self, request: Request) -> Reply:
        parts = request.path.strip("/").split("/")
        if len(parts) != 3 or parts[0] != "rooftop_sites" or parts[2] != "forecasts":
            return self._status(404, "NotFound", "Not found")
        if request.headers.get("Authorization") != f"Bearer {API_KEY}":
            return self._status(401, "InvalidApiKey", "Invalid API key")
        if parts[1] not in self.sites:
            return self._status(404, "NotFound", "Rooftop site not found")
        self.calls_today += 1
        if self.calls_today > self.daily_limit:
            return self._status(429, "TooManyRequests", "You have exceeded your free daily limit.")
        if self.override is not None:
            return Reply(self.override)
        kwp = self.sites[parts[1]]
        first_end = (self.clock() // STEP + 1) * STEP
        forecasts = []
        for i in range(7 * 48):
            end = first_end + i * STEP
            kw = round(kwp * irradiance(end - STEP / 2) / 1000 * 0.9, 4)
            forecasts.append(
                {
                    "pv_estimate": kw,
                    "pv_estimate10": round(kw * 0.6, 4),
                    "pv_estimate90": round(kw * 1.1, 4),
                    "period_end": datetime.fromtimestamp(end, UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000Z"),
                    "period": "PT30M",
                }
            )
        return Reply({"forecasts": forecasts})

    @staticmethod
    def _status(status: int, code: str, message: str) -> Reply:
        return Reply({"response_status": {"error_code": code, "message": message, "errors": []}}, status)


if __name__ == "__main__":
    run_cli("Fake Solcast", 8093, lambda _: FakeSolcast())
