"""`Entsoe`: day-ahead prices of a bidding zone from the ENTSO-E Transparency Platform (free, a token).

`GET /api?securityToken=&documentType=A44&in_Domain=<zone>&out_Domain=<zone>&periodStart=&periodEnd=`
(UTC, yyyyMMddHHmm) answers a Publication_MarketDocument: TimeSeries, each with Periods (timeInterval,
resolution PT60M or PT15M, Points of position and price.amount in EUR/MWh; curve type A03 leaves out a
point equal to the one before). No data, or a bad request, is an Acknowledgement_MarketDocument with a
Reason. Market prices: `markup` and `vat` apply.
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from typing import Literal

import requests
from pydantic import Field, SecretStr

from pvcontrol.device import DeviceError
from services.tariff.device import Price, Prices, TariffBase, TariffSource
from services.tariff.entsoe_xml import parse

DAY = 86_400.0


class EntsoeConfig(TariffBase):
    type: Literal["Entsoe"] = "Entsoe"
    url: str = "https://web-api.tp.entsoe.eu"
    token: SecretStr
    zone: str = Field(
        pattern=r"^10Y[0-9A-Z-]{12}[0-9A-Z]$", description="EIC of the bidding zone, DE-LU 10Y1001A1001A82H"
    )


def utc_stamp(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y%m%d%H%M")


class Entsoe(TariffSource):
    day_ahead = True

    def __init__(self, config: EntsoeConfig) -> None:
        self.config = config
        self.session = requests.Session()

    async def fetch(self, now: float) -> Prices:
        day = now // DAY * DAY  # UTC midnight: the platform's days start there or an hour or two later
        params = {
            "securityToken": self.config.token.get_secret_value(),
            "documentType": "A44",
            "in_Domain": self.config.zone,
            "out_Domain": self.config.zone,
            "periodStart": utc_stamp(day - DAY),
            "periodEnd": utc_stamp(day + 2 * DAY),
        }
        status, body = await asyncio.to_thread(self._get, params)
        periods: list[Price] = parse(body, status)
        return Prices(periods, "EUR", market=True)

    def _get(self, params: dict[str, str]) -> tuple[int, bytes]:
        where = (
            f"GET {re.sub(r'^https?://', '', self.config.url.rstrip('/'))}/api"  # never the query: the token
        )
        try:
            response = self.session.get(
                self.config.url.rstrip("/") + "/api", params=params, timeout=self.config.timeout
            )
            return response.status_code, response.content
        except requests.Timeout:
            raise DeviceError(f"{where}: timeout after {self.config.timeout} s") from None
        except requests.RequestException as e:
            raise DeviceError(f"{where}: {type(e).__name__}") from None

    async def close(self) -> None:
        self.session.close()
