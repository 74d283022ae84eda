"""`Awattar`: aWATTar's day-ahead market prices (DE: api.awattar.de, AT: api.awattar.at), free, no key.

`GET /v1/marketdata?start=<ms>&end=<ms>` answers `{"object": "list", "data": [{"start_timestamp",
"end_timestamp", "marketprice", "unit": "Eur/MWh"}]}`: EPEX spot prices without markup or VAT.
"""

from __future__ import annotations

from typing import Any, Literal

from pvcontrol.device import DeviceError, finite_json_number
from pvcontrol.http_client import JsonHttpClient
from services.tariff.device import Price, Prices, TariffBase, TariffSource

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
MWH_UNITS = {"eur/mwh"}


class AwattarConfig(TariffBase):
    type: Literal["Awattar"] = "Awattar"
    url: str = "https://api.awattar.de"


class Awattar(TariffSource):
    day_ahead = True

    def __init__(self, config: AwattarConfig) -> None:
        self.config = config
        self.client = JsonHttpClient(config.url, config.timeout)

    async def fetch(self, now: float) -> Prices:
        start = int(now * 1000) // HOUR_MS * HOUR_MS
        answer = await self.client.get(
            "/v1/marketdata", {"start": str(start), "end": str(start + 2 * DAY_MS)}
        )
        return parse(answer)

    async def close(self) -> None:
        self.client.close()


def parse(answer: Any) -> Prices:
    data = answer.get("data") if isinstance(answer, dict) else None
    if not isinstance(data, list):
        raise DeviceError("aWATTar: no data list in the answer")
    periods = []
    for item in data:
        if not isinstance(item, dict):
            raise DeviceError("aWATTar: a data item is not an object")
        unit = item.get("unit")
        if not isinstance(unit, str) or unit.lower() not in MWH_UNITS:
            raise DeviceError(f"aWATTar: unit {unit!r} is not Eur/MWh")
        start = finite_json_number(item.get("start_timestamp"), "aWATTar start_timestamp")
        end = finite_json_number(item.get("end_timestamp"), "aWATTar end_timestamp")
        price = finite_json_number(item.get("marketprice"), "aWATTar marketprice")
        periods.append(Price(start / 1000, end / 1000, price / 1000))
    periods.sort(key=lambda p: p.start)
    return Prices(periods, "EUR", market=True)
