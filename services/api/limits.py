"""Every request is checked before its body is read, whatever route it is for (an ASGI middleware).

FastAPI reads and parses a route's body before it runs the route's dependencies, the token check among
them: without this, anyone could make the gateway read a 200 MB body only to answer 401. So here, first:
a write (any method but GET/HEAD/OPTIONS) without the token is 401 before a byte of its body is read;
then a body over `max_body` is 413, by its Content-Length or, for a chunked body, as soon as it grows
past it. A body within the limit is read here and handed to the route as it came.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.api.auth import REFUSAL, Auth

MAX_BODY_BYTES = 64 * 1024  # the largest body any route takes is a departure plan of ~60 bytes
READS = frozenset({"GET", "HEAD", "OPTIONS"})


class RequestLimits:
    def __init__(self, app: ASGIApp, auth: Auth, max_body: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.auth = auth
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if scope["method"] not in READS and not self.auth.accepts_header(headers.get("authorization")):
            await _refuse(401, REFUSAL, {"WWW-Authenticate": "Bearer"})(scope, receive, send)
            return
        declared = headers.get("content-length")
        if declared is None and "transfer-encoding" not in headers:
            await self.app(scope, receive, send)  # no body: nothing to hold back
            return
        if declared is not None and not (declared.isascii() and declared.isdigit()):
            await _refuse(400, "invalid Content-Length")(scope, receive, send)
            return
        too_large = _refuse(413, f"request body too large (at most {self.max_body} bytes)")
        if declared is not None and int(declared) > self.max_body:
            await too_large(scope, receive, send)
            return
        body = await self._read(receive)
        if body is None:
            await too_large(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)

    async def _read(self, receive: Receive) -> bytes | None:
        """The whole body, or None as soon as it is over the limit (or the client has gone)."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


def _refuse(status: int, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    # The body is left unread: the connection closes after the answer, not waiting for the rest.
    return JSONResponse(
        {"detail": detail}, status_code=status, headers={**(headers or {}), "Connection": "close"}
    )


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body once, as one message; then the client's own messages (a disconnect)."""
    pending = True

    async def replay() -> Message:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
