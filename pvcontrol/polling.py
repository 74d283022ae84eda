"""Reading a device every `poll_interval` seconds, counting consecutive failures."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from pydantic import ValidationError

from pvcontrol.device import DeviceError
from pvcontrol.metrics import ERRORS
from pvcontrol.models import StateDocument
from pvcontrol.plausibility import ImplausibleReading
from pvcontrol.service import sleep_or_stop
from pvcontrol.throttle import Episode

D = TypeVar("D", bound=StateDocument)


class Poller(Generic[D]):
    """Calls `read` every `interval` s and `publish` with the reading, or on failure with the last
    reading and `error` = consecutive failures (`on_failure` may replace that document). An implausible
    reading (`ImplausibleReading`, or a value no document may hold) is such a failure too, logged once
    when the episode starts and once when it ends."""

    def __init__(
        self,
        service: str,
        read: Callable[[], Awaitable[D]],
        publish: Callable[[D], Awaitable[None]],
        empty: Callable[[], D],
        logger: logging.Logger,
    ) -> None:
        self.service = service
        self._read = read
        self._publish = publish
        self._empty = empty
        self.log = logger
        self.last: D | None = None
        self.errors = 0
        self.implausible = Episode(logger, f"implausible {service} reading, counted as a read error")

    async def poll_once(self) -> D:
        try:
            data = await self._read()
        except (ImplausibleReading, ValidationError) as e:
            self.errors += 1
            self.implausible.seen(str(e) if isinstance(e, ImplausibleReading) else _first_error(e))
            data = self.on_failure()
        except DeviceError as e:
            self.errors += 1
            self.log.warning("read failed (%d in a row): %s", self.errors, e)
            data = self.on_failure()
        except Exception:
            # An answer the adapter did not foresee is still only a failed read: keep the service up.
            self.errors += 1
            self.log.exception("read failed unexpectedly (%d in a row)", self.errors)
            data = self.on_failure()
        else:
            if self.implausible.active:
                self.implausible.over()  # the episode's one closing line
            elif self.errors:
                self.log.info("read ok again after %d failures", self.errors)
            self.errors = 0
            self.last = data
        ERRORS.labels(self.service).set(self.errors)
        await self._publish(data)
        return data

    def on_failure(self) -> D:
        base = self.last if self.last is not None else self._empty()
        return base.model_copy(update={"error": self.errors})

    async def run(self, interval: float, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            started = loop.time()
            await self.poll_once()
            await sleep_or_stop(stop, interval - (loop.time() - started))


def _first_error(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    return f"{where}: {first['msg']}"
