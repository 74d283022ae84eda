"""Forecast.Solar's `estimate` API (`/estimate/:lat/:lon/:dec/:az/:kwp`, with a key `/:key/estimate/...`),
answered from `tests.fakes.sky` (recorded response shape: `result.watts`, `watt_hours_period`,
`watt_hours`, `watt_hours_day` keyed by local time "YYYY-MM-DD HH:MM:SS" of the place, from sunrise to
sunset of today and tomorrow, hourly in between; `message` with `code`, `type`, `text`, `info.timezone` and
`ratelimit`; HTTP 429 with `result: null` once the hour's calls are used up)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from tests.fakes.http import FakeHttpDevice, Reply, Request, run_cli
from tests.fakes.sky import DAY, irradiance, utc_midnight

TIMEZONE = "Europe/Berlin"
LIMIT = 12


class FakeForecastSolar(FakeHttpDevice):
    def __init__(
        self, clock: Callable[[], float] = time.time, port: int = 0, api_key: str = "", limit: int = LIMIT
    ) -> None:
        super().__init__(port)
        self.clock = clock
        self.api_key = api_key
        self.limit = limit
        self.calls_this_hour = 0
        self.override: object = None

    def respond(self, request: Request) -> Reply:
        parts = request.path.strip("/").split("/")
        if self.api_key and parts[:1] == [self.api_key]:
            parts = parts[1:]
        if len(parts) != 6 or parts[0] != "estimate":
            return self._message(None, 404, "Not found")
        self.calls_this_hour += 1
        if not self.api_key and self.calls_this_hour > self.limit:
            return self._message(None, 429, "Rate limit for API calls reached.")
        if self.override is not None:
            return Reply(self.override)
        try:
            _, _, dec, az, kwp = (float(p) for p in parts[1:])
        except ValueError:
            return self._message(None, 400, "Invalid parameters")
        if not (0 <= dec <= 90 and -180 <= az <= 180 and kwp > 0):
            return self._message(None, 422, "Invalid plane")
        return self._message(self._result(kwp), 200, "")

    def _result(self, kwp: float) -> dict[str, dict[str, float]]:
        tz = ZoneInfo(TIMEZONE)
        watts: dict[str, float] = {}
        today = utc_midnight(self.clock())
        for day in (today, today + DAY):
            points = [day + 6 * 3600] + [day + h * 3600 + 1800 for h in range(6, 18)] + [day + 18 * 3600]
            for ts in points:
                key = datetime.fromtimestamp(ts, tz).strftime("%Y-%m-%d %H:%M:%S")
                watts[key] = round(kwp * irradiance(ts) * 0.9)
        days: dict[str, float] = {}
        for key, value in watts.items():
            days[key[:10]] = days.get(key[:10], 0) + value
        return {"watts": watts, "watt_hours_period": watts, "watt_hours": watts, "watt_hours_day": days}

    def _message(self, result: object, status: int, text: str) -> Reply:
        return Reply(
            {
                "result": result,
                "message": {
                    "code": 0 if status == 200 else status,
                    "type": "success" if status == 200 else "error",
                    "text": text,
                    "pid": "a1B2c3D4",
                    "info": {
                        "latitude": 48.14,
                        "longitude": 11.58,
                        "distance": 0,
                        "place": "Marienplatz, München, Bayern, DE",
                        "timezone": TIMEZONE,
                        "time": datetime.fromtimestamp(self.clock(), ZoneInfo(TIMEZONE)).isoformat(),
                        "time_utc": datetime.fromtimestamp(self.clock(), ZoneInfo("UTC")).isoformat(),
                    },
                    "ratelimit": {
                        "zone": "IP",
                        "period": 3600,
                        "limit": self.limit,
                        "remaining": max(self.limit - self.calls_this_hour, 0),
                    },
                },
            },
            status,
        )


if __name__ == "__main__":
    run_cli("Fake Forecast.Solar", 8092, lambda _: FakeForecastSolar())
