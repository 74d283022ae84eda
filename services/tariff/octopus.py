"""`OctopusAgile`: Octopus Energy's Agile tariff (UK), half-hourly unit rates in pence per kWh, with VAT.

`GET /v1/products/<product>/electricity-tariffs/<tariff>/standard-unit-rates/?period_from=&period_to=`
answers `{"count", "next", "previous", "results": [{"value_exc_vat", "value_inc_vat", "valid_from",
"valid_to", "payment_method"}]}`, newest first. `value_inc_vat` is the price paid, so `markup` and `vat`
are not added. Tomorrow's rates appear around 16:00 UK time.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import parse_qsl, urlsplit

from pydantic import Field

from pvcontrol.device import DeviceError, finite_json_number
from pvcontrol.http_client import JsonHttpClient
from pvcontrol.web_source import zoned_time
from services.tariff.device import Price, Prices, TariffBase, TariffSource

DAY = 86_400.0
PENCE = 100.0
MAX_PAGES = 10


class OctopusAgileConfig(TariffBase):
    type: Literal["OctopusAgile"] = "OctopusAgile"
    url: str = "https://api.octopus.energy"
    product: str = Field(default="AGILE-24-10-01", pattern=r"^[A-Z0-9-]+$")
    tariff: str = Field(
        description="the tariff code of your region, e.g. E-1R-AGILE-24-10-01-C", pattern=r"^[A-Z0-9-]+$"
    )
    currency: str = Field(default="GBP", pattern=r"^[A-Z]{3}$")
    day_ahead_from: int = Field(default=16, ge=0, le=23)
    day_ahead_until: int = Field(default=20, ge=1, le=24)


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%MZ")


class OctopusAgile(TariffSource):
    day_ahead = True

    def __init__(self, config: OctopusAgileConfig) -> None:
        self.config = config
        self.client = JsonHttpClient(config.url, config.timeout)

    async def fetch(self, now: float) -> Prices:
        c = self.config
        path = f"/v1/products/{c.product}/electricity-tariffs/{c.tariff}/standard-unit-rates/"
        params = {
            "period_from": iso(now // 1800 * 1800),
            "period_to": iso(now + 2 * DAY),
            "page_size": "1500",
        }
        results: list[Any] = []
        for _ in range(MAX_PAGES):
            answer = await self.client.get(path, params)
            results.extend(_results(answer))
            following = answer.get("next")
            if not following:
                break
            # Only the path and query of `next`, always on the configured host.
            parts = urlsplit(str(following))
            path, params = parts.path, dict(parse_qsl(parts.query))
        return parse({"results": results, "next": None}, c.currency)

    async def close(self) -> None:
        self.client.close()


def _results(answer: Any) -> list[Any]:
    results = answer.get("results") if isinstance(answer, dict) else None
    if not isinstance(results, list):
        detail = answer.get("detail") if isinstance(answer, dict) else None
        raise DeviceError(f"Octopus: {detail or 'no results list in the answer'}")
    return results


def parse(answer: Any, currency: str = "GBP") -> Prices:
    periods = []
    for item in _results(answer):
        if not isinstance(item, dict):
            raise DeviceError("Octopus: a rate is not an object")
        pence = finite_json_number(item.get("value_inc_vat"), "Octopus value_inc_vat")
        start, end = _time(item.get("valid_from")), _time(item.get("valid_to"))
        periods.append(Price(start, end, pence / PENCE))
    periods.sort(key=lambda p: p.start)
    return Prices(periods, currency, market=False)


def _time(value: Any) -> float:
    if value is None:
        raise DeviceError("Octopus: a rate without valid_from/valid_to is not an Agile rate")
    return zoned_time(value, "Octopus:")
