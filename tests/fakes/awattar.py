"""aWATTar's market data API (`GET /v1/marketdata?start=<ms>&end=<ms>`), answered from
`tests.fakes.day_ahead` (recorded response shape: `{"object": "list", "data": [{"start_timestamp",
"end_timestamp", "marketprice", "unit": "Eur/MWh"}], "url": "/de/v1/marketdata"}`, hourly, ms; without
`start` the current hour, without `end` 24 h after start; HTTP 400 for a bad parameter). Prices are known
to the end of today (Berlin) until `publish_tomorrow()` (at about 13:00 in the real market)."""

from __future__ import annotations

from tests.fakes.day_ahead import DayAheadFake, eur_per_mwh, midnight
from tests.fakes.http import Reply, Request, run_cli

HOUR_MS = 3_600_000


class FakeAwattar(DayAheadFake):
    def known_until(self) -> float:
        return midnight(self.clock(), days=2 if self.tomorrow else 1)

    def respond(self, request: Request) -> Reply:
        if request.path != "/v1/marketdata":
            return Reply({"error": "Not Found"}, 404)
        if self.override is not None:
            return Reply(self.override)
        try:
            start = int(request.query.get("start", int(self.clock() * 1000)))
            end = int(request.query.get("end", start + 24 * HOUR_MS))
        except ValueError:
            return Reply({"error": "start and end must be unix timestamps in ms"}, 400)
        first = start // HOUR_MS * HOUR_MS
        until = min(end, int(self.known_until() * 1000))
        data = [
            {
                "start_timestamp": at,
                "end_timestamp": at + HOUR_MS,
                "marketprice": eur_per_mwh(at / 1000),
                "unit": "Eur/MWh",
            }
            for at in range(first, until, HOUR_MS)
        ]
        return Reply({"object": "list", "data": data, "url": "/de/v1/marketdata"})


if __name__ == "__main__":
    run_cli("Fake aWATTar", 8094, lambda _: FakeAwattar())
