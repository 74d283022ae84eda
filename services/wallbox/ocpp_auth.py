"""Who may connect to the OCPP central system: the password check with failed logins throttled per
source address, and the rule for a second connection with the charger's id.

One connection per charge point id. Without a password the first one stays while it answers a ping: a
second one for the same id is refused (anyone on the LAN could otherwise take the charger's place and get
its commands); with a password the newcomer has authenticated, so it replaces the old connection (a
charger that reconnects before its old connection timed out).

Guessing the password must be slow, and a guesser must not flood the log: after `max_failures` wrong
passwords in a row a source is refused with 429 for `ban` s without its credentials being checked; the log
gets at most one line a minute about failed logins and one about bans, each saying how many it held back.
A login without credentials (a charger not yet configured) is refused and logged the same way, but is
no guess and bans nobody.
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from http import HTTPStatus

import websockets
from pydantic import SecretStr
from websockets.asyncio.server import ServerConnection, basic_auth
from websockets.http11 import Request, Response

from pvcontrol.throttle import LogThrottle

MAX_FAILURES = 5
BAN_SECONDS = 60.0
MAX_SOURCES = 1024  # addresses remembered; the oldest are forgotten first
LIVENESS_TIMEOUT = 5.0  # s for the connected charge point to answer a ping when a second one comes
ProcessRequest = Callable[[ServerConnection, Request], Awaitable[Response | None]]


@dataclass
class _Source:
    failures: int = 0
    banned_until: float = 0.0


class LoginGuard:
    def __init__(
        self,
        log: logging.Logger,
        clock: Callable[[], float] = time.monotonic,
        max_failures: int = MAX_FAILURES,
        ban: float = BAN_SECONDS,
    ) -> None:
        self.clock = clock
        self.max_failures = max_failures
        self.ban = ban
        self._lines = LogThrottle(log, clock=clock)
        self._sources: OrderedDict[str, _Source] = OrderedDict()
        self.refused = 0  # logins refused for a ban, without checking
        self.failed_logins = 0

    def banned(self, source: str) -> bool:
        entry = self._sources.get(source)
        if entry is None or entry.banned_until <= self.clock():
            return False
        self.refused += 1
        return True

    def failed(self, source: str, username: str, *, guess: bool = True) -> None:
        self.failed_logins += 1
        if not guess:
            self._lines.warning("missing", "OCPP: refused a login from %s without credentials", source)
            return
        entry = self._sources.pop(source, None) or _Source()
        self._sources[source] = entry  # most recent last
        while len(self._sources) > MAX_SOURCES:
            self._sources.popitem(last=False)
        entry.failures += 1
        self._lines.warning(
            "failed",
            "OCPP: refused a login from %s as %r: wrong charge point id or password",
            source,
            username[:40],
        )
        if entry.failures >= self.max_failures:
            entry.failures = 0
            entry.banned_until = self.clock() + self.ban
            self._lines.warning(
                "ban",
                "OCPP: %s refused for %.0f s after %d failed logins in a row",
                source,
                self.ban,
                self.max_failures,
            )

    def succeeded(self, source: str) -> None:
        self._sources.pop(source, None)


class Admission:
    def __init__(
        self,
        charge_point_id: str,
        password: SecretStr | None,
        log: logging.Logger,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.charge_point_id = charge_point_id
        self.password = password
        self.log = log
        self.logins = LoginGuard(log, clock)
        self._duplicates = LogThrottle(log, clock=clock)

    def process_request(self) -> ProcessRequest | None:
        """With a password: Basic auth (security profile 1), checked before the websocket opens, the user
        being the charge point id; failed logins throttled per source address."""
        if self.password is None:
            return None
        expected = (self.charge_point_id.encode(), self.password.get_secret_value().encode())

        def check(username: str, given: str) -> bool:
            user_ok = hmac.compare_digest(username.encode(), expected[0])
            return hmac.compare_digest(given.encode(), expected[1]) and user_ok

        basic = basic_auth(realm="pvcontrol", check_credentials=check)

        async def authenticate(connection: ServerConnection, request: Request) -> Response | None:
            source = source_of(connection)
            if self.logins.banned(source):
                return connection.respond(HTTPStatus.TOO_MANY_REQUESTS, "Too many failed logins\n")
            response: Response | None = await basic(connection, request)
            if response is None:
                self.logins.succeeded(source)
            else:
                has_credentials = "Authorization" in request.headers
                self.logins.failed(source, _basic_user(request), guess=has_credentials)
            return response

        return authenticate

    async def replaces(self, old: ServerConnection, new: ServerConnection) -> bool:
        """Whether a second connection for the charge point id takes the place of the connected one (which
        is closed then)."""
        cp_id, source = self.charge_point_id, source_of(new)
        if self.password is not None:
            self.log.info(
                "OCPP: %s connected again from %s (authenticated); dropping its old connection", cp_id, source
            )
            await old.close()
            return True
        try:
            pong = await old.ping()
            await asyncio.wait_for(pong, LIVENESS_TIMEOUT)
        except (TimeoutError, websockets.ConnectionClosed):
            self.log.info("OCPP: %s connected again from %s; its old connection is dead", cp_id, source)
            await old.close()
            return True
        self._duplicates.warning(
            "duplicate",
            "OCPP: refused a second connection as %s from %s: the charge point is connected from %s and"
            " answers (without a password the first connection stays)",
            cp_id,
            source,
            source_of(old),
        )
        return False


def source_of(connection: ServerConnection) -> str:
    return str(connection.remote_address[0]) if connection.remote_address else "?"


def _basic_user(request: Request) -> str:
    """The user name of a refused Basic login, for the log (never the password)."""
    header = request.headers.get("Authorization", "")
    try:
        return base64.b64decode(header.removeprefix("Basic ").strip()).decode().partition(":")[0]
    except ValueError:  # not base64, not UTF-8
        return ""
