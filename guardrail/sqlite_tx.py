"""The SQLite transaction shared by the state store and the audit log.

Both open their connection with ``isolation_level=None`` and issue ``BEGIN`` themselves,
so a write can say ``IMMEDIATE`` and take the file's write lock before it reads.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Literal


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
