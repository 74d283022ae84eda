"""Bearer-token authentication of the gateway (`api.auth_token`, `api.auth_read`).

Writes (every PUT) need the token once it is set; reads only with `auth_read`. The events stream also
takes the token as `?token=`, because a browser's EventSource cannot send headers; a cookie would work
too, but it would be sent by the browser on its own, also with forged cross-site requests, and would
need a login endpoint. The query token is accepted nowhere else, so writes never take a token from a URL.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Query
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param
from pydantic import SecretStr

bearer = HTTPBearer(auto_error=False, description="`api.auth_token` of the gateway")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
Guard = Callable[..., Awaitable[None]]
REFUSAL = "missing or wrong token: send Authorization: Bearer <api.auth_token>"


class Auth:
    def __init__(self, token: SecretStr | None = None, protect_reads: bool = False) -> None:
        self._token = token.get_secret_value().encode() if token is not None else None
        self.protect_reads = protect_reads and self._token is not None

    @property
    def enabled(self) -> bool:
        return self._token is not None

    def _matches(self, offered: str | None) -> bool:
        if self._token is None:
            return True
        # compare_digest takes as long for a wrong token as for a right one of the same length.
        return offered is not None and secrets.compare_digest(offered.encode(), self._token)

    def accepts_header(self, authorization: str | None) -> bool:
        """Whether an `Authorization` header value (or none) carries the token, read as HTTPBearer does."""
        scheme, credentials = get_authorization_scheme_param(authorization)
        bearer_token = credentials if scheme.lower() == "bearer" and credentials else None
        return self._matches(bearer_token)

    def require(self, offered: str | None) -> None:
        if not self._matches(offered):
            raise HTTPException(status_code=401, detail=REFUSAL, headers={"WWW-Authenticate": "Bearer"})

    def write_guard(self) -> Guard:
        async def guard(credentials: Credentials) -> None:
            self.require(credentials.credentials if credentials else None)

        return guard

    def read_guard(self) -> Guard:
        async def guard(credentials: Credentials) -> None:
            if self.protect_reads:
                self.require(credentials.credentials if credentials else None)

        return guard

    def events_guard(self) -> Guard:
        async def guard(
            credentials: Credentials,
            token: Annotated[
                str | None, Query(description="the token, for EventSource (no headers); with auth_read")
            ] = None,
        ) -> None:
            if self.protect_reads:
                self.require(credentials.credentials if credentials else token)

        return guard
