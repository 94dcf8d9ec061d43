"""A scriptable HTTP server on loopback, standing in for upstream platforms and webhooks.

Real sockets and real HTTP, so the code under test runs exactly as against the platform.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    status: int = 200
    body: Any = field(default_factory=lambda: {"ok": True})
    """JSON-serialisable, or bytes sent as is."""
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class Upstream:
    """A scriptable upstream: replies are taken in order, then ``default`` forever."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.default = Reply()
        self._script: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self.release = threading.Event()
        """Set at teardown so handlers sleeping for a 'hang' return at once."""
        self.port = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self._script.clear()
            self.default = Reply()

    def script(self, *replies: Reply) -> None:
        with self._lock:
            self._script.extend(replies)

    def take(self, recorded: Recorded) -> Reply:
        with self._lock:
            self.requests.append(recorded)
            self._arrived.notify_all()
            return self._script.popleft() if self._script else self.default

    def wait_for(
        self, match: Callable[[Recorded], bool] = lambda r: True, *, hang_s: float = 60.0
    ) -> Recorded:
        """The first recorded request ``match`` accepts, waiting for it to arrive.

        Woken by each arrival (no polling, no timing assumption); ``hang_s`` only turns a
        request that never comes into a failure instead of a hung test run."""
        with self._lock:
            found = self._arrived.wait_for(
                lambda: next((r for r in self.requests if match(r)), None), timeout=hang_s
            )
        if found is None:
            raise AssertionError(f"no matching request arrived ({len(self.requests)} others)")
        return found


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_GET(self) -> None:
        self.do_POST()

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        headers = {k.lower(): v for k, v in self.headers.items()}
        reply = self.server.upstream.take(Recorded(self.command, self.path, headers, body))
        if reply.delay:
            self.server.upstream.release.wait(reply.delay)
        data = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout test)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    upstream: Upstream

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # connections dropped by timed-out clients are expected


@contextmanager
def serve_upstream() -> Iterator[Upstream]:
    """Run an :class:`Upstream` on a free loopback port for the duration of the block."""
    upstream = Upstream()
    server = _Server(("127.0.0.1", 0), _Handler)
    server.upstream = upstream
    upstream.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield upstream
    finally:
        upstream.release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
