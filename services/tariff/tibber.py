"""`Tibber`: the prices of your Tibber subscription (GraphQL `priceInfo`, today and tomorrow), with a token.

Tibber's `total` is the price paid (energy, taxes and Tibber's markup), in the home's currency, so
`markup` and `vat` are not added. `home_id` picks one of the account's homes; default: the first with a
subscription.
"""

from __future__ import annotations

import itertools
from typing import Any, Literal

from pydantic import SecretStr

from pvcontrol.device import DeviceError, finite_json_number
from pvcontrol.http_client import JsonHttpClient
from pvcontrol.web_source import zoned_time
from services.tariff.device import Price, Prices, TariffBase, TariffSource

FIELDS = "total energy startsAt currency"
STEP = {"HOURLY": 3600.0, "QUARTER_HOURLY": 900.0}


class TibberConfig(TariffBase):
    type: Literal["Tibber"] = "Tibber"
    url: str = "https://api.tibber.com"
    token: SecretStr
    home_id: str | None = None
    resolution: Literal["HOURLY", "QUARTER_HOURLY"] = "HOURLY"


def query(resolution: str) -> str:
    argument = "(resolution: QUARTER_HOURLY)" if resolution == "QUARTER_HOURLY" else ""
    return (
        f"{{viewer{{homes{{id currentSubscription{{priceInfo{argument}{{"
        f"today{{{FIELDS}}} tomorrow{{{FIELDS}}}}}}}}}}}}}"
    )


class Tibber(TariffSource):
    day_ahead = True

    def __init__(self, config: TibberConfig) -> None:
        self.config = config
        headers = {"Authorization": f"Bearer {config.token.get_secret_value()}"}
        self.client = JsonHttpClient(config.url, config.timeout, headers=headers)

    async def fetch(self, now: float) -> Prices:
        answer = await self.client.post("/v1-beta/gql", {"query": query(self.config.resolution)})
        return parse(answer, self.config.home_id, STEP[self.config.resolution])

    async def close(self) -> None:
        self.client.close()


def parse(answer: Any, home_id: str | None, step: float) -> Prices:
    if not isinstance(answer, dict):
        raise DeviceError("Tibber: not a GraphQL answer")
    errors = answer.get("errors")
    if isinstance(errors, list) and errors:
        first = errors[0] if isinstance(errors[0], dict) else {}
        raise DeviceError(f"Tibber: {first.get('message') or 'error'}")
    homes = _path(answer, "data", "viewer", "homes")
    if not isinstance(homes, list):
        raise DeviceError("Tibber: no homes in the answer")
    info = None
    for home in homes:
        if not isinstance(home, dict) or (home_id is not None and home.get("id") != home_id):
            continue
        info = _path(home, "currentSubscription", "priceInfo")
        if info is not None:
            break
    if not isinstance(info, dict):
        which = f"home {home_id}" if home_id else "any home"
        raise DeviceError(f"Tibber: no subscription with prices for {which}")
    items = [*_list(info.get("today")), *_list(info.get("tomorrow"))]
    points = sorted(_point(item) for item in items)
    currencies = {currency for _, _, currency in points}
    if len(currencies) > 1:
        raise DeviceError(f"Tibber: prices in several currencies {sorted(currencies)}")
    periods = [Price(a[0], b[0], a[1]) for a, b in itertools.pairwise(points)]
    if points:
        periods.append(Price(points[-1][0], points[-1][0] + step, points[-1][1]))
    return Prices(periods, currencies.pop() if currencies else "EUR", market=False)


def _point(item: Any) -> tuple[float, float, str]:
    if not isinstance(item, dict):
        raise DeviceError("Tibber: a price is not an object")
    start = zoned_time(item.get("startsAt"), "Tibber: startsAt")
    currency = item.get("currency")
    if not isinstance(currency, str) or len(currency) != 3:
        raise DeviceError(f"Tibber: currency {currency!r} is not a currency code")
    return start, finite_json_number(item.get("total"), "Tibber total"), currency.upper()


def _path(value: Any, *keys: str) -> Any:
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise DeviceError("Tibber: today/tomorrow is not a list")
    return value
