"""SQLite: what users confided (categories and times, never words), their wishes about it,
and the erasure of a user. Mixed into :class:`guardrail.state.sqlite.SQLiteStore`.

Two tables, created on first use (the file's schema version does not change):

- ``sensitive_disclosures``: (tenant, user, bot, category) -> the latest time the user
  disclosed the category to the bot; pruned with the risk signals.
- ``sensitive_topics``: (tenant, user, bot or ``*``, category or ``*``) -> ``forget``,
  ``allow`` or ``deny``, its time and its source; a later preference replaces an earlier
  one; pruned with the consent records.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Literal

from guardrail.state.base import (
    ALL_TOPICS,
    EventWrite,
    SensitiveMemory,
)
from guardrail.state.common import ALL_BOTS, to_epoch

_TABLES = (
    """CREATE TABLE IF NOT EXISTS sensitive_disclosures (
        tenant TEXT NOT NULL, user TEXT NOT NULL, bot TEXT NOT NULL, category TEXT NOT NULL,
        ts REAL NOT NULL, PRIMARY KEY (tenant, user, bot, category)
    ) WITHOUT ROWID""",
    "CREATE INDEX IF NOT EXISTS ix_sensitive_disclosures_ts ON sensitive_disclosures (ts)",
    """CREATE TABLE IF NOT EXISTS sensitive_topics (
        tenant TEXT NOT NULL, user TEXT NOT NULL, bot TEXT NOT NULL, category TEXT NOT NULL,
        state TEXT NOT NULL, ts REAL NOT NULL, source TEXT NOT NULL,
        PRIMARY KEY (tenant, user, bot, category)
    ) WITHOUT ROWID""",
)
_USER_TABLES = (
    "user_messages", "first_contact", "outbound", "risk_events", "dependency_events",
    "idempotency", "seen_events", "user_profile", "sensitive_disclosures", "sensitive_topics",
    "recent_facts", "user_age_evidence",
)  # fmt: skip
"""Every per-user table an erasure empties (``consent`` keeps its opt-outs)."""


class SQLiteMemory:
    """The :class:`~guardrail.state.base.SensitiveMemoryStore` and
    :class:`~guardrail.state.base.ErasureStore` halves of the SQLite store."""

    _memory_ready = False

    def _transaction(
        self, mode: Literal["DEFERRED", "IMMEDIATE"]
    ) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError  # the store's own

    def _profiles(self, db: sqlite3.Connection) -> None:
        raise NotImplementedError  # the store's own

    def _memory_tables(self, db: sqlite3.Connection) -> None:
        if not self._memory_ready:
            for statement in _TABLES:
                db.execute(statement)
            self._memory_ready = True

    def _apply_memory(
        self, db: sqlite3.Connection, tenant: str, bot: str, user: str, epoch: float,
        write: EventWrite, source: str = "user",
    ) -> None:  # fmt: skip
        """An event's disclosures and forget requests, inside its transaction."""
        if not write.disclosed and not write.forget:
            return
        self._memory_tables(db)
        for category in write.disclosed:
            db.execute(
                "INSERT INTO sensitive_disclosures (tenant, user, bot, category, ts)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (tenant, user, bot, category)"
                " DO UPDATE SET ts = MAX(ts, excluded.ts)",
                (tenant, user, bot, category, epoch),
            )
        for category in write.forget:
            _prefer(db, tenant, user, bot, category, "forget", epoch, source)

    async def sensitive_memory(self, tenant: str, bot: str, user: str) -> SensitiveMemory:
        with self._transaction("DEFERRED") as db:
            self._memory_tables(db)
            disclosed = db.execute(
                "SELECT category, ts FROM sensitive_disclosures"
                " WHERE tenant = ? AND user = ? AND bot = ?",
                (tenant, user, bot),
            ).fetchall()
            prefs = db.execute(
                "SELECT category, state, ts, source FROM sensitive_topics"
                " WHERE tenant = ? AND user = ? AND bot IN (?, ?) ORDER BY ts",
                (tenant, user, bot, ALL_BOTS),
            ).fetchall()
        return SensitiveMemory.from_rows(disclosed, prefs)

    async def set_follow_ups(
        self,
        tenant: str,
        bot: str | None,
        user: str,
        categories: Sequence[str],
        allowed: bool,
        ts: datetime,
        source: str,
    ) -> None:
        epoch = to_epoch(ts)
        with self._transaction("IMMEDIATE") as db:
            self._memory_tables(db)
            for category in categories or (ALL_TOPICS,):
                _prefer(db, tenant, user, bot or ALL_BOTS, category,
                        "allow" if allowed else "deny", epoch, source)  # fmt: skip

    def _prune_memory(self, db: sqlite3.Connection, risk_cutoff: float, old: float | None) -> None:
        """Disclosures go with the risk signals, preferences with the consent records."""
        self._memory_tables(db)
        db.execute("DELETE FROM sensitive_disclosures WHERE ts < ?", (risk_cutoff,))
        if old is not None:
            db.execute("DELETE FROM sensitive_topics WHERE ts < ?", (old,))

    async def erase_user(self, tenant: str, user: str) -> int:
        removed = 0
        with self._transaction("IMMEDIATE") as db:
            self._memory_tables(db)
            self._profiles(db)
            for table in _USER_TABLES:
                removed += db.execute(
                    f"DELETE FROM {table} WHERE tenant = ? AND user = ?",
                    (tenant, user),
                ).rowcount
            removed += db.execute(
                "DELETE FROM consent WHERE tenant = ? AND user = ? AND opted_out = 0",
                (tenant, user),
            ).rowcount
        return removed


def _prefer(
    db: sqlite3.Connection, tenant: str, user: str, bot: str, category: str, state: str,
    epoch: float, source: str,
) -> None:  # fmt: skip
    """Record a preference unless a later one of the same category is already kept."""
    db.execute(
        "INSERT INTO sensitive_topics (tenant, user, bot, category, state, ts, source)"
        " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tenant, user, bot, category)"
        " DO UPDATE SET state = excluded.state, ts = excluded.ts, source = excluded.source"
        " WHERE excluded.ts >= sensitive_topics.ts",
        (tenant, user, bot, category, state, epoch, source),
    )
