"""The tariff service: the source's prices as paid, from the current period on, published as
`P/tariff/state` at every period's start and every `publish_interval` s; `Fixed` when the source fails
and its last known prices have run out."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta

from pvcontrol.broker import BrokerAddress
from pvcontrol.local_time import midnight, zone
from pvcontrol.models import TariffData, TariffPeriod
from pvcontrol.topics import Topics
from pvcontrol.web_source import WebSourceService
from services.tariff import metrics, prices
from services.tariff.device import Prices, TariffBase, TariffSource

FIXED = "Fixed"
MIN_SLEEP = 0.01  # s; a period boundary is slept past by this much


class TariffService(WebSourceService[TariffBase, TariffSource]):
    name = "tariff"
    stand_in = "its last known prices, then Fixed, stand in"
    last_update = metrics.LAST_UPDATE

    def __init__(
        self,
        config: TariffBase,
        source: TariffSource,
        broker: BrokerAddress,
        topics: Topics,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(config, source, broker, topics, clock, config.type)
        self.tz = zone(config.timezone)
        self.known: list[TariffPeriod] = []  # the source's last good answer, as paid
        self.currency = config.currency

    async def _fetch(self, now: float) -> None:
        retry_in = min(self.config.retry_interval, self.config.poll_interval)
        answer = await self.call_source(now, self._checked(now), retry_in)
        if answer is not None:
            self.known = self._paid(answer)
            self.currency = answer.currency
            # and at the latest when the prices run out: a source that works never leaves them empty
            self.next_fetch = min(now + self._poll_delay(now), self.known[-1].end)

    async def _checked(self, now: float) -> Prices:
        return prices.checked(await self.source.fetch(now), now)

    def _paid(self, answer: Prices) -> list[TariffPeriod]:
        c = self.config
        return prices.paid(answer, c.markup, c.vat, c.fixed_feed_in)

    def _poll_delay(self, now: float) -> float:
        """`poll_interval`, but while tomorrow's day-ahead prices are due and not yet known every
        `day_ahead_interval` s, and never past the hour they become due."""
        c = self.config
        if not self.source.day_ahead or prices.knows_tomorrow(self.known, midnight(now, self.tz, 2)):
            return c.poll_interval
        local = datetime.fromtimestamp(now, self.tz)
        day = local.replace(hour=0, minute=0, second=0, microsecond=0)
        due = (day + timedelta(hours=c.day_ahead_from)).timestamp()
        until = (day + timedelta(hours=c.day_ahead_until)).timestamp()
        if due <= now < until:
            return min(c.day_ahead_interval, c.poll_interval)
        return min(c.poll_interval, due - now) if now < due else c.poll_interval

    def document(self, now: float) -> TariffData:
        current = prices.from_now(self.known, now)
        if current:
            return TariffData(
                ts=now, error=self.errors, source=self.config.type, currency=self.currency, periods=current
            )
        c = self.config
        fixed = Prices(prices.fixed(now, c.fixed_grid_price), c.currency, market=False)
        source = FIXED if c.type == FIXED else f"{FIXED} (fallback: {c.type} failed)"
        return TariffData(
            ts=now, error=self.errors, source=source, currency=c.currency, periods=self._paid(fixed)
        )

    async def update(self) -> TariffData:
        now = self.clock()
        if now >= self.next_fetch:
            await self._fetch(now)
        data = self.document(now)
        metrics.record(data, fallback=not data.source.startswith(self.config.type))
        await self.publish_state(data)
        return data

    async def step(self) -> float:
        """Publishes the document; the seconds until the next is due: the next period's start, the next
        call, `publish_interval`."""
        data = await self.update()
        now = self.clock()
        due = [self.config.publish_interval, self.next_fetch - now]
        if data.periods:
            due.append(data.periods[0].end - now + MIN_SLEEP)
        return max(min(due), MIN_SLEEP)
