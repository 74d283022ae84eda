"""Open-Meteo's forecast API (`/v1/forecast`) with `minutely_15=global_tilted_irradiance` and
`timeformat=unixtime`, answered from `tests.fakes.sky` (recorded response shape: the metadata fields,
`minutely_15_units`, `minutely_15` with `time` and `global_tilted_irradiance`; the value at a time is the
mean of the 15 minutes before it; `null` beyond the model's horizon; HTTP 400 `{"error": true, "reason"}`
for a bad parameter)."""

from __future__ import annotations

import time
from collections.abc import Callable

from tests.fakes.http import FakeHttpDevice, Reply, Request, run_cli
from tests.fakes.sky import DAY, irradiance, utc_midnight

STEP = 900


class FakeOpenMeteo(FakeHttpDevice):
    def __init__(self, clock: Callable[[], float] = time.time, port: int = 0) -> None:
        super().__init__(port)
        self.clock = clock
        self.scale = 1.0  # the sky's share of `sky.irradiance`
        self.override: object = None  # an answer to send instead (bad shapes)
        self.horizon_days = 3.0  # values after this many days from today's UTC midnight are null

    def respond(self, request: Request) -> Reply:
        if request.path != "/v1/forecast":
            return Reply({"error": True, "reason": "Not Found"}, 404)
        if self.override is not None:
            return Reply(self.override)
        q = request.query
        required = ("latitude", "longitude", "minutely_15", "tilt", "azimuth")
        if any(name not in q for name in required) or q["minutely_15"] != "global_tilted_irradiance":
            return Reply({"error": True, "reason": "Parameter missing or unsupported"}, 400)
        if not -180 <= float(q["azimuth"]) <= 180 or not 0 <= float(q["tilt"]) <= 90:
            return Reply({"error": True, "reason": "Tilt or azimuth out of range"}, 400)
        first = utc_midnight(self.clock()) - int(q.get("past_days", "0")) * DAY
        days = int(q.get("past_days", "0")) + int(q.get("forecast_days", "7"))
        horizon = utc_midnight(self.clock()) + self.horizon_days * DAY
        times = [int(first + i * STEP) for i in range(int(days * DAY / STEP))]
        values = [round(self.scale * irradiance(t - STEP / 2), 1) if t <= horizon else None for t in times]
        return Reply(
            {
                "latitude": round(float(q["latitude"]), 2),
                "longitude": round(float(q["longitude"]), 2),
                "generationtime_ms": 0.48,
                "utc_offset_seconds": 0,
                "timezone": "GMT",
                "timezone_abbreviation": "GMT",
                "elevation": 519.0,
                "minutely_15_units": {"time": "unixtime", "global_tilted_irradiance": "W/m²"},
                "minutely_15": {"time": times, "global_tilted_irradiance": values},
            }
        )


if __name__ == "__main__":
    run_cli("Fake Open-Meteo", 8091, lambda _: FakeOpenMeteo())
