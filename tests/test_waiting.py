"""first_of: returns on the first event set, or at its timeout, and leaves no waiter behind."""

from __future__ import annotations

import asyncio

from pvcontrol.waiting import first_of


def _pending_others() -> set[asyncio.Task[object]]:
    return {t for t in asyncio.all_tasks() if t is not asyncio.current_task()}


def test_returns_when_any_event_is_set_and_cancels_the_other_waiters() -> None:
    async def scenario() -> None:
        first, second = asyncio.Event(), asyncio.Event()
        asyncio.get_running_loop().call_soon(second.set)
        await asyncio.wait_for(first_of(first, second), 5)
        await asyncio.sleep(0)  # let the cancelled waiter finish
        assert not first.is_set()
        assert _pending_others() == set()

    asyncio.run(scenario())


def test_returns_at_the_timeout_when_no_event_is_set() -> None:
    async def scenario() -> None:
        never = asyncio.Event()
        loop = asyncio.get_running_loop()
        started = loop.time()
        await asyncio.wait_for(first_of(never, timeout=0.05), 5)
        assert loop.time() - started >= 0.04
        await asyncio.sleep(0)
        assert _pending_others() == set()

    asyncio.run(scenario())
