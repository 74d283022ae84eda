"""Waiting on asyncio events: until the first of several is set."""

from __future__ import annotations

import asyncio


async def first_of(*events: asyncio.Event, timeout: float | None = None) -> None:
    """Returns once any of `events` is set, or after `timeout` s (None: no limit)."""
    waiters = {asyncio.create_task(e.wait()) for e in events}
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
