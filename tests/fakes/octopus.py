"""Octopus Energy's unit rates API (`GET /v1/products/<product>/electricity-tariffs/<tariff>/
standard-unit-rates/?period_from=&period_to=&page_size=`), answered from `tests.fakes.day_ahead`
(recorded response shape: `{"count", "next", "previous", "results": [{"value_exc_vat", "value_inc_vat",
"valid_from", "valid_to", "payment_method"}]}`, pence per kWh, half-hourly, newest first, `next` the
absolute URL of the following page; 404 `{"detail"}` for an unknown product or tariff). Rates are known
to 23:00 UK time today until `publish_tomorrow()` (about 16:00 in the real market)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from tests.fakes.day_ahead import LONDON, DayAheadFake, eur_per_mwh, midnight
from tests.fakes.http import Reply, Request, run_cli

PRODUCT = "AGILE-24-10-01"
TARIFF = "E-1R-AGILE-24-10-01-C"
STEP = 1800


def pence_inc_vat(ts: float) -> float:
    return round(pence_exc_vat(ts) * 1.05, 4)


def pence_exc_vat(ts: float) -> float:
    return round(eur_per_mwh(ts) / 10 * 0.85 + 12.0, 4)  # the Agile formula's shape: spot x 0.85-ish + fees


class FakeOctopus(DayAheadFake):
    def __init__(self, clock: Callable[[], float] = time.time, port: int = 0, page_size: int = 1500) -> None:
        super().__init__(clock, port)
        self.max_page_size = page_size

    def respond(self, request: Request) -> Reply:
        path = f"/v1/products/{PRODUCT}/electricity-tariffs/{TARIFF}/standard-unit-rates/"
        if request.path != path:
            return Reply({"detail": "No EnergyProduct matches the given query."}, 404)
        if self.override is not None:
            return Reply(self.override)
        q = request.query
        try:
            start = _time(q["period_from"]) if "period_from" in q else self.clock() - 86400
            end = _time(q["period_to"]) if "period_to" in q else start + 86400
            size = min(int(q.get("page_size", "100")), self.max_page_size)
            page = int(q.get("page", "1"))
        except ValueError:
            return Reply({"period_from": ["Enter a valid date/time."]}, 400)
        until = min(end, midnight(self.clock(), LONDON, 2 if self.tomorrow else 1) - 3600)
        first = int(start // STEP * STEP)
        rates = [self._rate(at) for at in range(first, int(until), STEP)][::-1]  # newest first
        chunk = rates[(page - 1) * size : page * size]
        more = page * size < len(rates)
        following = f"{self.url}{request.path}?{urlencode(q | {'page': str(page + 1)})}" if more else None
        return Reply({"count": len(rates), "next": following, "previous": None, "results": chunk})

    @staticmethod
    def _rate(at: int) -> dict[str, Any]:
        return {
            "value_exc_vat": pence_exc_vat(at),
            "value_inc_vat": pence_inc_vat(at),
            "valid_from": _iso(at),
            "valid_to": _iso(at + STEP),
            "payment_method": None,
        }


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _time(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


if __name__ == "__main__":
    run_cli("Fake Octopus Energy", 8096, lambda _: FakeOctopus())
