"""Server-Sent Events fan-out: every client gets the newest document, at most `rate` times a second.

Each client has a one-slot mailbox that is overwritten, so a slow client only ever misses
intermediate states: it never slows the others and never grows memory.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

KEEPALIVE_SECONDS = 15.0
MIN_INTERVAL = 0.25  # at most 4 events a second


class Mailbox:
    def __init__(self) -> None:
        self._latest: str | None = None
        self._ready = asyncio.Event()
        self.closed = False

    def put(self, event: str) -> None:
        self._latest = event
        self._ready.set()

    def close(self) -> None:
        self.closed = True
        self._ready.set()

    async def take(self, timeout: float) -> str | None:
        """The newest event, or None when nothing arrived within `timeout`."""
        try:
            await asyncio.wait_for(self._ready.wait(), timeout)
        except TimeoutError:
            return None
        self._ready.clear()
        event, self._latest = self._latest, None
        return event


def format_event(document: dict[str, Any]) -> str:
    return f"event: state\ndata: {json.dumps(document, separators=(',', ':'))}\n\n"


class Broadcaster:
    def __init__(self, snapshot: Callable[[], dict[str, Any]]) -> None:
        self._snapshot = snapshot
        self._clients: set[Mailbox] = set()
        self._changed = asyncio.Event()
        self._closed = False

    @property
    def client_count(self) -> int:
        return len(self._clients)

    def changed(self) -> None:
        self._changed.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Coalesce changes: one event per MIN_INTERVAL at most, always with the newest state."""
        while not stop.is_set():
            await self._changed.wait()
            self._changed.clear()
            event = format_event(self._snapshot())
            for mailbox in self._clients:
                mailbox.put(event)
            await asyncio.sleep(MIN_INTERVAL)

    def close(self) -> None:
        """End every stream, so a shutdown need not cut open connections (uvicorn would then log a
        traceback for each); the clients reconnect by themselves."""
        self._closed = True
        for mailbox in self._clients:
            mailbox.close()

    async def stream(self) -> AsyncIterator[str]:
        mailbox = Mailbox()
        if self._closed:
            return
        self._clients.add(mailbox)
        try:
            yield format_event(self._snapshot())
            while not mailbox.closed:
                event = await mailbox.take(KEEPALIVE_SECONDS)
                if mailbox.closed:
                    return
                yield event if event is not None else ": keep-alive\n\n"
        finally:
            self._clients.discard(mailbox)
