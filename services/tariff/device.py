"""The interface of every tariff source (prices per kWh for periods, in one currency) and the settings every
tariff type shares (the prices around the source's, the polling, the metrics)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Self

from pydantic import Field, model_validator

from pvcontrol.section import Section


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


class TariffBase(Section):
    """What every tariff type's settings share; `type` names it in services/tariff/registry.py.

    `grid_price` and `feed_in` are the fixed prices (per kWh, as paid): the `Fixed` type's, the fallback of
    every other, and `feed_in` is the feed-in price of every type. Unset, they are `history.grid_price` and
    `history.feed_in_tariff`. `markup` (per kWh) and `vat` (a fraction) turn a market price into the price
    paid, (market + markup) x (1 + vat): they apply to the market-price types (Awattar, Entsoe) only.
    """

    type: str
    grid_price: float | None = Field(default=None, ge=0, le=100, allow_inf_nan=False)
    feed_in: float | None = Field(default=None, ge=0, le=100, allow_inf_nan=False)
    markup: float = Field(default=0.0, ge=-10, le=10, allow_inf_nan=False, description="per kWh")
    vat: float = Field(default=0.0, ge=0, lt=1, allow_inf_nan=False, description="e.g. 0.19")
    currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$")
    timezone: str | None = Field(default=None, description="IANA name; default: the system's")
    poll_interval: float = Field(default=3600.0, gt=0, description="s between calls to the source")
    retry_interval: float = Field(default=600.0, gt=0, description="s before a failed call is retried")
    publish_interval: float = Field(
        default=300.0, gt=0, description="s between P/tariff/state documents (and at every period's start)"
    )
    day_ahead_from: int = Field(default=13, ge=0, le=23, description="local hour tomorrow's prices are due")
    day_ahead_until: int = Field(default=15, ge=1, le=24, description="local hour to stop looking for them")
    day_ahead_interval: float = Field(default=600.0, gt=0, description="s between calls while they are due")
    timeout: float = Field(default=15.0, gt=0)
    metrics_port: int = Field(default=9107, ge=0, le=65535)

    @model_validator(mode="after")
    def _checked(self) -> Self:
        if self.timezone is not None:
            from pvcontrol.local_time import zone

            zone(self.timezone)  # raises ValueError naming it
        if self.day_ahead_until <= self.day_ahead_from:
            raise ValueError("day_ahead_until must be after day_ahead_from")
        return self

    def with_defaults(self, grid_price: float, feed_in: float) -> Self:
        """These settings with the unset fixed prices filled in (from the history's)."""
        return self.model_copy(
            update={
                "grid_price": self.grid_price if self.grid_price is not None else grid_price,
                "feed_in": self.feed_in if self.feed_in is not None else feed_in,
            }
        )

    @property
    def fixed_grid_price(self) -> float:
        return self.grid_price if self.grid_price is not None else DEFAULT_GRID_PRICE

    @property
    def fixed_feed_in(self) -> float:
        return self.feed_in if self.feed_in is not None else DEFAULT_FEED_IN


DEFAULT_GRID_PRICE = 0.30  # history.grid_price's default
DEFAULT_FEED_IN = 0.08  # history.feed_in_tariff's default
