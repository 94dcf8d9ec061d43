"""The SQLite connection and transaction shared by the state store and the audit log.

Both open their connection with :func:`connect_wal` (``isolation_level=None``) and issue
``BEGIN`` themselves, so a write can say ``IMMEDIATE`` and take the file's write lock
before it reads.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Literal

from tenacity import Retrying, retry_if_exception, stop_after_delay, wait_random

WAL_SWITCH_S = 5.0
"""How long opening keeps retrying the switch to WAL while another process holds it."""


def _locked(exc: BaseException) -> bool:
    return isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc)


def connect_wal(path: str, synchronous: Literal["NORMAL", "FULL"]) -> sqlite3.Connection:
    """A connection to ``path`` in WAL mode with a 5 s busy timeout.

    Switching a new file to WAL needs an exclusive lock; when another process opens the same
    file at that instant (replicas, ``serve --workers``, all starting together), SQLite
    answers "database is locked" at once, without waiting the busy timeout, so the switch
    is retried here for up to :data:`WAL_SWITCH_S`. Raises ``sqlite3.Error``.
    """
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA busy_timeout = 5000")
    for attempt in Retrying(
        retry=retry_if_exception(_locked),
        stop=stop_after_delay(WAL_SWITCH_S),
        wait=wait_random(0.01, 0.1),
        reraise=True,
    ):
        with attempt:
            db.execute("PRAGMA journal_mode = WAL")
    db.execute(f"PRAGMA synchronous = {synchronous}")
    return db


@contextmanager
def transaction(
    db: sqlite3.Connection,
    mode: Literal["DEFERRED", "IMMEDIATE"],
    unavailable: Callable[[str], Exception],
    where: str,
    *,
    catch: type[sqlite3.Error] = sqlite3.Error,
) -> Iterator[sqlite3.Connection]:
    """``BEGIN {mode}`` … ``COMMIT``, rolled back on any exception.

    A failed ``BEGIN`` (locked past ``busy_timeout``, unreadable file) raises
    ``unavailable("{where} unavailable: …")``; an error of class ``catch`` inside the block
    or at ``COMMIT`` raises ``unavailable("{where}: …")``; anything else goes through as is.
    """
    try:
        db.execute(f"BEGIN {mode}")
    except sqlite3.Error as exc:
        raise unavailable(f"{where} unavailable: {exc}") from exc
    try:
        yield db
        db.execute("COMMIT")
    except BaseException as exc:
        if db.in_transaction:
            with suppress(sqlite3.Error):
                db.execute("ROLLBACK")
        if isinstance(exc, catch):
            raise unavailable(f"{where}: {exc}") from exc
        raise
