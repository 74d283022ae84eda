"""Tibber's GraphQL API (`POST /v1-beta/gql`, `Authorization: Bearer <token>`), answering the
`viewer { homes { id currentSubscription { priceInfo { today {...} tomorrow {...} } } } }` query from
`tests.fakes.day_ahead` (recorded response shape: `{"data": {"viewer": {"homes": [...]}}}`, `total` =
(spot + 0.12) x 1.19 and `energy` = spot in EUR/kWh, `startsAt` local ISO 8601 with milliseconds and
offset, `currency`; `tomorrow` empty until `publish_tomorrow()`; `priceInfo(resolution:
QUARTER_HOURLY)` gives 15-minute prices; a bad token is HTTP 401 with GraphQL `errors`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tests.fakes.day_ahead import BERLIN, DayAheadFake, eur_per_mwh, midnight
from tests.fakes.http import Reply, Request, run_cli

TOKEN = "tibber-test-token"
HOME_ID = "96a14971-525a-4420-aae9-e5aedaa129ff"
GRID_FEE = 0.12  # EUR/kWh the fake's `total` adds to the spot price, before 19 % VAT


def total(ts: float) -> float:
    return round((eur_per_mwh(ts) / 1000 + GRID_FEE) * 1.19, 4)


class FakeTibber(DayAheadFake):
    def respond(self, request: Request) -> Reply:
        if request.path != "/v1-beta/gql" or request.method != "POST":
            return Reply({"errors": [{"message": "Not found"}]}, 404)
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return Reply(
                {"errors": [{"message": "invalid token", "extensions": {"code": "UNAUTHENTICATED"}}]}, 401
            )
        query = request.body.get("query") if isinstance(request.body, dict) else None
        if not isinstance(query, str) or "priceInfo" not in query or "startsAt" not in query:
            return Reply({"errors": [{"message": "Syntax Error: Expected a query with priceInfo"}]}, 400)
        if self.override is not None:
            return Reply(self.override)
        step = 900 if "QUARTER_HOURLY" in query else 3600
        today = midnight(self.clock())
        info = {
            "today": self._prices(today, midnight(today, days=1), step),
            "tomorrow": self._prices(midnight(today, days=1), midnight(today, days=2), step)
            if self.tomorrow
            else [],
        }
        homes = [
            {"id": "0bd3d8c0-6bd5-4b37-bd3d-3a0e3b8a5c11", "currentSubscription": None},  # a home without one
            {"id": HOME_ID, "currentSubscription": {"priceInfo": info}},
        ]
        return Reply({"data": {"viewer": {"homes": homes}}})

    @staticmethod
    def _prices(start: float, end: float, step: int) -> list[dict[str, Any]]:
        return [
            {
                "total": total(at),
                "energy": round(eur_per_mwh(at) / 1000, 4),
                "startsAt": datetime.fromtimestamp(at, BERLIN).isoformat(timespec="milliseconds"),
                "currency": "EUR",
            }
            for at in range(int(start), int(end), step)
        ]


if __name__ == "__main__":
    run_cli("Fake Tibber", 8095, lambda _: FakeTibber())
