"""Publishing the log's signed head, so a copy cut short or rolled back cannot pass.

A log keeps a signed head row of itself, which catches a log cut short or emptied; what no
log can show alone is a rollback to an older copy of itself (records and head row
together). The witness closes that gap: every ``interval`` (and at shutdown) it verifies
the records appended since the head it published last, then writes the new head, signed
with the audit key (``{"seq", "hash", "time", "key_id", "signature"}``), to a file and/or
POSTs it to a webhook. ``guardrail audit verify`` and ``GET /v1/audit/verify`` check the
log against the file. A head that no longer verifies is never published over the last
good one: the error is logged and the file keeps the evidence.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path

import httpx

from guardrail.audit.backend import AuditUnavailable
from guardrail.audit.chain import PublishedHead
from guardrail.audit.trail import AuditTrail

log = logging.getLogger("guardrail.audit")


def read_head(path: Path) -> PublishedHead | None:
    """The head in ``path``; None when there is no file yet; ValueError when unreadable."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ValueError(f"cannot read the witness file {path}: {exc}") from exc
    try:
        return PublishedHead.parse(json.loads(text))
    except ValueError as exc:
        raise ValueError(f"the witness file {path} holds no published head: {exc}") from exc


def write_head(path: Path, head: PublishedHead) -> None:
    """Replace ``path`` with ``head`` atomically (a reader never sees half a head)."""
    temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with temp.open("w", encoding="utf-8") as out:
            out.write(json.dumps(head.to_json()) + "\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)


class Witness:
    """Publishes the trail's head to ``file`` and/or ``url`` every ``interval_s``."""

    def __init__(
        self,
        trail: AuditTrail,
        *,
        file: Path | None = None,
        url: str | None = None,
        interval_s: float = 300.0,
        timeout_s: float = 10.0,
    ) -> None:
        self.trail, self.file, self.url, self.interval_s = trail, file, url, interval_s
        self.timeout_s = timeout_s
        self.last: PublishedHead | None = None
        self.failures = 0

    def published(self) -> PublishedHead | None:
        """The head in the witness file (what verification checks the log against)."""
        return read_head(self.file) if self.file is not None else None

    async def publish(self) -> PublishedHead | None:
        """Verify what was appended since the last head, then publish the new one; None
        (and an error in the log) when it does not verify or cannot be written."""
        try:
            anchor = self.last or self.published()
            result, signed = await self.trail.head(anchor=anchor)
        except (ValueError, AuditUnavailable) as exc:
            self.failures += 1
            log.error("audit head not published: %s", exc)
            return None
        if signed is None:
            self.failures += 1
            where = f" at record seq {result.bad_seq}" if result.bad_seq else ""
            log.error(
                "audit head not published: the log does not verify%s: %s (the last published "
                "head is kept as evidence)",
                where,
                result.problem,
            )
            return None
        if self.last is not None and (signed.seq, signed.hash) == (self.last.seq, self.last.hash):
            return self.last
        try:
            if self.file is not None:
                await asyncio.to_thread(write_head, self.file, signed)
            if self.url is not None:
                async with httpx.AsyncClient(timeout=self.timeout_s) as client:
                    response = await client.post(self.url, json=signed.to_json())
                    response.raise_for_status()
        except (OSError, httpx.HTTPError) as exc:
            self.failures += 1
            log.error("audit head seq %s not published: %s", signed.seq, exc)
            return None
        self.last = signed
        return signed

    async def run(self, stop: asyncio.Event) -> None:
        """Publish now, then every ``interval_s``, until ``stop`` is set (a publication in
        progress ends first: the log's reads are not cut short)."""
        while not stop.is_set():
            await self.publish()
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.interval_s)


@asynccontextmanager
async def witnessing(witness: Witness | None) -> AsyncIterator[None]:
    """Run the witness for the lifetime of the app, and publish once more at shutdown."""
    if witness is None:
        yield
        return
    stop = asyncio.Event()
    task = asyncio.get_running_loop().create_task(witness.run(stop))
    try:
        yield
    finally:
        stop.set()
        await task
        await witness.publish()
