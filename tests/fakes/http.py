"""An HTTP(S) device fake on a real socket, with failure injection and a request log.

A subclass answers requests in `respond`; the base class runs the server in a background thread and can
fail on demand: HTTP 500, garbage instead of JSON, a slow reply (client timeout), a connection closed
without reply, or no server at all (`stop`, then `start` again on the same port).
"""

from __future__ import annotations

import argparse
import contextlib
import enum
import json
import signal
import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit


class Fault(enum.Enum):
    HTTP_500 = "http500"
    GARBAGE = "garbage"
    SLOW = "slow"
    CLOSE = "close"


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Reply:
    payload: Any
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


class FakeHttpDevice:
    """Subclasses implement `respond`; `start()` serves on 127.0.0.1 (port 0: a free one)."""

    slow_delay = 3.0

    def __init__(self, port: int = 0, host: str = "127.0.0.1", ssl_context: ssl.SSLContext | None = None):
        self.host = host
        self.port = port
        self._ssl_context = ssl_context
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._released = threading.Event()
        self.lock = threading.RLock()
        self.requests: list[Request] = []
        self._fault: Fault | None = None
        self._fault_count: int | None = None

    # --- to implement ------------------------------------------------------------------------

    def respond(self, request: Request) -> Reply:
        raise NotImplementedError

    # --- lifecycle ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        scheme = "https" if self._ssl_context else "http"
        return f"{scheme}://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> Self:
        server = ThreadingHTTPServer((self.host, self.port), _handler_for(self))
        server.daemon_threads = True
        if self._ssl_context:
            server.socket = self._ssl_context.wrap_socket(server.socket, server_side=True)
        self.port = server.server_address[1]
        self._released.clear()
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=f"fake-{self.port}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Close the listening socket: clients get 'connection refused' until `start()`."""
        server, self._server = self._server, None
        if server is None:
            return
        self._released.set()  # slow replies give up
        server.shutdown()
        server.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    # --- failure injection -------------------------------------------------------------------

    def fail(self, fault: Fault, count: int | None = None) -> None:
        """Fail the next `count` requests (None: until `heal()`)."""
        with self.lock:
            self._fault, self._fault_count = fault, count

    def heal(self) -> None:
        with self.lock:
            self._fault, self._fault_count = None, None
        self._released.set()
        self._released.clear()

    def _take_fault(self) -> Fault | None:
        with self.lock:
            fault = self._fault
            if fault is not None and self._fault_count is not None:
                self._fault_count -= 1
                if self._fault_count <= 0:
                    self._fault, self._fault_count = None, None
            return fault

    def requests_to(self, path: str) -> list[Request]:
        with self.lock:
            return [r for r in self.requests if r.path == path]

    # --- serving -----------------------------------------------------------------------------

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        request = Request(
            handler.command, parts.path, dict(parse_qsl(parts.query)), body, dict(handler.headers.items())
        )
        with self.lock:
            self.requests.append(request)
        fault = self._take_fault()
        if fault is Fault.CLOSE:
            handler.connection.shutdown(socket.SHUT_RDWR)
            handler.close_connection = True
            return
        if fault is Fault.SLOW:
            self._released.wait(self.slow_delay)
        if fault is Fault.HTTP_500:
            self._send(handler, 500, b"<html><body>500 Internal Server Error</body></html>", "text/html")
            return
        if fault is Fault.GARBAGE:
            self._send(handler, 200, b'{"car":"2","amp":"1', "application/json")
            return
        with self.lock:
            reply = self.respond(request)
        data = reply.payload if isinstance(reply.payload, bytes) else json.dumps(reply.payload).encode()
        self._send(handler, reply.status, data, reply.content_type, reply.headers)

    @staticmethod
    def _send(
        handler: BaseHTTPRequestHandler,
        status: int,
        data: bytes,
        content_type: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", content_type)
            handler.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(data)
        except OSError:
            pass  # the client gave up (timeout test)


def _handler_for(device: FakeHttpDevice) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            device._serve(self)

        def do_POST(self) -> None:
            device._serve(self)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def run_cli(
    description: str,
    default_port: int,
    make: Callable[[argparse.Namespace], FakeHttpDevice],
    add_arguments: Callable[[argparse.ArgumentParser], object] | None = None,
) -> None:
    """`python -m tests.fakes.<device> --port N`: serve until Ctrl-C or SIGTERM."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=default_port)
    if add_arguments:
        add_arguments(parser)
    args = parser.parse_args()
    device = make(args).start()
    print(f"{description} at {device.url} (Ctrl-C to stop)", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
    device.stop()
