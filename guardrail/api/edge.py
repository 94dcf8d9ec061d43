"""The HTTP edge: a request body arrives whole, in time, and not too many crawl in at once.

Every request body is read here, before any route sees it, and handed on in one piece:

* over ``limit`` bytes (declared or counted): ``413`` at once;
* not whole within ``timeout_s``: ``408``, and the connection is closed (a client that
  trickles a byte now and then holds nothing for long);
* still arriving after ``slow_after_s``: the request takes one of ``max_slow`` places for
  slow bodies, or gets ``503`` at once when they are all taken (thousands of slow uploads
  cannot pin thousands of connections and tasks);
* the client went away before its body was in: one line in the log, at info level, and
  nothing else (no route runs, so no handler logs a traceback for it).

Refusals answer ``{"error", "detail"}`` like every error, with ``Connection: close``.
"""

from __future__ import annotations

import asyncio
import logging

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("guardrail.edge")


class BodyGuard:
    """ASGI middleware: read each request body within the limits above, then call the app
    with it (later ``receive`` calls go to the server, so a disconnect is still seen)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        limit: int,
        timeout_s: float = 10.0,
        slow_after_s: float = 1.0,
        max_slow: int = 32,
    ) -> None:
        self.app, self.limit, self.timeout_s = app, limit, timeout_s
        self.slow_after_s, self.max_slow = slow_after_s, max_slow
        self.slow = 0
        """Bodies arriving slowly right now (one event loop: a plain counter)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        length = headers.get(b"content-length")
        chunked = b"transfer-encoding" in headers
        if length is not None and length.isdigit() and int(length) > self.limit:
            await _refuse(scope, receive, send, 413, "too_large", f"body over {self.limit} bytes")
            return
        if not chunked and (length is None or length.strip() in (b"", b"0")):
            await self.app(scope, receive, send)  # no body to wait for
            return
        body = await self._read(scope, receive, send, length)
        if body is None:
            return
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _read(
        self, scope: Scope, receive: Receive, send: Send, length: bytes | None
    ) -> bytes | None:
        """The whole body; None when it was refused or the client left (answered, logged)."""
        loop = asyncio.get_running_loop()
        start = loop.time()
        deadline, slow_at = start + self.timeout_s, start + self.slow_after_s
        chunks: list[bytes] = []
        size, slow = 0, False
        where = f"{scope.get('method', '?')} {scope.get('path', '?')}"
        try:
            while True:
                message = await _within(receive, deadline if slow else min(deadline, slow_at))
                if message is None and (slow or loop.time() >= deadline):
                    log.info("request body not in after %g s (%d bytes): %s", self.timeout_s,
                             size, where)  # fmt: skip
                    detail = f"the request body did not arrive within {self.timeout_s:g} s"
                    await _refuse(scope, receive, send, 408, "timeout", detail)
                    return None
                if message is None:  # slow now: a place, or a refusal at once
                    if self.slow >= self.max_slow:
                        log.info("refused a slow request body (%d in progress): %s", self.slow,
                                 where)  # fmt: skip
                        detail = "too many slow request bodies; retry"
                        await _refuse(scope, receive, send, 503, "unavailable", detail, "1")
                        return None
                    slow, self.slow = True, self.slow + 1
                    continue
                if message["type"] == "http.disconnect":
                    declared = length.decode() if length is not None else "?"
                    log.info("client went away after %d of %s body bytes: %s", size, declared,
                             where)  # fmt: skip
                    return None
                part = message.get("body", b"")
                size += len(part)
                if size > self.limit:
                    detail = f"body over {self.limit} bytes"
                    await _refuse(scope, receive, send, 413, "too_large", detail)
                    return None
                chunks.append(part)
                if not message.get("more_body", False):
                    return b"".join(chunks)
        finally:
            if slow:
                self.slow -= 1


async def _within(receive: Receive, until: float) -> Message | None:
    """The next message, or None when none came by ``until`` (loop time). Cancelling the
    server's ``receive`` loses nothing: what arrives meanwhile waits for the next call."""
    try:
        async with asyncio.timeout_at(until):
            return await receive()
    except TimeoutError:
        return None


async def _refuse(
    scope: Scope,
    receive: Receive,
    send: Send,
    status: int,
    error: str,
    detail: str,
    retry_after: str | None = None,
) -> None:
    """The error body every route answers, and the connection closed after it."""
    headers = {"Connection": "close"}
    if retry_after is not None:
        headers["Retry-After"] = retry_after
    response = JSONResponse({"error": error, "detail": detail}, status_code=status, headers=headers)
    await response(scope, receive, send)
