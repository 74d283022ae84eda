"""The interface of every tariff source: prices per kWh for periods, in one currency."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass


@dataclass(frozen=True)
class Price:
    start: float  # epoch s
    end: float
    price: float  # per kWh, in the answer's currency


@dataclass(frozen=True)
class Prices:
    periods: list[Price]
    currency: str
    market: bool  # market prices: `markup` and `vat` make them the price paid; else already as paid


class TariffSource(ABC):
    day_ahead = False  # True: tomorrow's prices appear once a day (then polled more often until they do)

    @abstractmethod
    async def fetch(self, now: float) -> Prices:
        """The source's prices around `now` as far as it knows them, sorted; raises `DeviceError` on any
        failure, an answer of the wrong shape included."""

    async def close(self) -> None:
        """Release connections."""
