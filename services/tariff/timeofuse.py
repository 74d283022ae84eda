"""`TimeOfUse`: a weekly table of grid prices (as paid) in local time; `grid_price` outside its windows.

A window `{days: [mon, ...], start: "22:00", end: "06:00", grid_price: 0.22}` runs from `start` to `end`
on each of its days (past midnight when `end` is not after `start`: into the next day), in 15-minute
steps. Windows must not overlap.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal, Self

from pydantic import Field, field_validator, model_validator

from pvcontrol.local_time import zone
from pvcontrol.section import Section
from services.tariff import prices
from services.tariff.device import Price, Prices, TariffBase, TariffSource

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SLOT = 900.0  # s; every zone's offset is a multiple of 15 minutes
SLOTS_PER_DAY = 96
CLOCK = re.compile(r"^([01]\d|2[0-4]):(00|15|30|45)$")

Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
EVERY_DAY: list[Day] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class Window(Section):
    days: list[Day] = Field(default_factory=lambda: list(EVERY_DAY), min_length=1)
    start: str = Field(description="HH:MM local, a multiple of 15 minutes")
    end: str = Field(description="HH:MM local (24:00 = midnight); not after start: the next day")
    grid_price: float = Field(ge=prices.MIN_PRICE, le=prices.MAX_PRICE, allow_inf_nan=False)

    @field_validator("days", mode="before")
    @classmethod
    def _lower_case(cls, days: object) -> object:
        return [d.lower() if isinstance(d, str) else d for d in days] if isinstance(days, list) else days

    @field_validator("start", "end")
    @classmethod
    def _clock_time(cls, value: str) -> str:
        if not CLOCK.match(value) or value > "24:00":
            raise ValueError(f"{value!r} is not HH:MM in steps of 15 minutes (00:00 to 24:00)")
        return value

    def slots(self) -> list[int]:
        """The 15-minute slots of the week (0 = Monday 00:00) the window covers."""
        first, last = _slot_of_day(self.start), _slot_of_day(self.end)
        length = last - first if last > first else last + SLOTS_PER_DAY - first
        week = 7 * SLOTS_PER_DAY
        return [
            (DAYS.index(day) * SLOTS_PER_DAY + first + i) % week for day in self.days for i in range(length)
        ]


class TimeOfUseConfig(TariffBase):
    type: Literal["TimeOfUse"] = "TimeOfUse"
    table: list[Window] = Field(min_length=1)

    @model_validator(mode="after")
    def _no_overlaps(self) -> Self:
        seen: dict[int, int] = {}
        for index, window in enumerate(self.table):
            for slot in window.slots():
                if slot in seen:
                    day, minute = divmod(slot, SLOTS_PER_DAY)
                    raise ValueError(
                        f"table windows {seen[slot]} and {index} overlap on {DAYS[day]} at "
                        f"{minute // 4:02d}:{minute % 4 * 15:02d}"
                    )
                seen[slot] = index
        return self


def week_table() -> list[float | None]:
    return [None] * (7 * SLOTS_PER_DAY)


def _slot_of_day(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 4 + int(minutes) // 15


class TimeOfUse(TariffSource):
    def __init__(self, config: TimeOfUseConfig) -> None:
        self.config = config
        self.tz = zone(config.timezone)
        self.week = week_table()
        for window in config.table:
            for slot in window.slots():
                self.week[slot] = window.grid_price

    def price_at(self, ts: float) -> float:
        local = datetime.fromtimestamp(ts, self.tz)
        slot = local.weekday() * SLOTS_PER_DAY + local.hour * 4 + local.minute // 15
        price = self.week[slot]
        return price if price is not None else self.config.fixed_grid_price

    async def fetch(self, now: float) -> Prices:
        """Two days from the current 15 minutes, equal neighbours joined within each hour."""
        first = now // SLOT * SLOT
        periods: list[Price] = []
        for i in range(prices.FIXED_HOURS * 4):
            start = first + i * SLOT
            price = self.price_at(start)
            last = periods[-1] if periods else None
            if last is not None and last.price == price and start % prices.HOUR != 0:
                periods[-1] = Price(last.start, start + SLOT, price)
            else:
                periods.append(Price(start, start + SLOT, price))
        return Prices(periods, self.config.currency, market=False)
