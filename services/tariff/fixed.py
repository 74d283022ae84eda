"""`Fixed`: one grid price and one feed-in price at all times (the default, every source's fallback)."""

from __future__ import annotations

from typing import Literal

from services.tariff import prices
from services.tariff.device import Prices, TariffBase, TariffSource


class FixedConfig(TariffBase):
    type: Literal["Fixed"] = "Fixed"


class Fixed(TariffSource):
    """`grid_price` for every hour of the next two days, as paid (no markup, no VAT added)."""

    def __init__(self, config: TariffBase) -> None:
        self.config = config

    async def fetch(self, now: float) -> Prices:
        return Prices(prices.fixed(now, self.config.fixed_grid_price), self.config.currency, market=False)
