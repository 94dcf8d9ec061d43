"""SQLite state store: a single file, no server, safe for several gateway processes.

Queries touch a handful of indexed rows and take well under a millisecond, so they run
inline in the async methods: a hop to a thread pool would cost more than the query and
would let coroutines interleave inside a transaction. The price is that a write blocked
by another process (``busy_timeout``, at most 5 s) blocks the event loop meanwhile.

Atomicity across processes comes from ``BEGIN IMMEDIATE``: the commit takes the database
write lock *before* it re-checks the caps, so two processes sharing the file serialise
and cannot both see "2 of 3 sent" and send a fourth.
"""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

from guardrail.models import Kind
from guardrail.sqlite_tx import transaction
from guardrail.state.base import (
    CommitRequest,
    CommitResult,
    DependencyEvent,
    ProfileSource,
    RiskEvent,
    Snapshot,
    StoreUnavailable,
    UserProfile,
)
from guardrail.state.common import (
    ALL_BOTS,
    EVENT_DEDUPE_TTL,
    effective_consent,
    event_key,
    from_epoch,
    to_epoch,
)

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS user_messages (
    tenant TEXT NOT NULL,
    bot TEXT NOT NULL,
    user TEXT NOT NULL,
    ts REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_user_messages_lookup ON user_messages (tenant, user, bot, ts);
CREATE INDEX IF NOT EXISTS ix_user_messages_ts ON user_messages (ts);

CREATE TABLE IF NOT EXISTS first_contact (
    tenant TEXT NOT NULL,
    bot TEXT NOT NULL,
    user TEXT NOT NULL,
    first_ts REAL NOT NULL,
    PRIMARY KEY (tenant, user, bot)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS outbound (
    tenant TEXT NOT NULL,
    bot TEXT NOT NULL,
    user TEXT NOT NULL,
    decision_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    ts REAL NOT NULL,
    disclosed INTEGER NOT NULL DEFAULT 0,
    resources INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant, user, bot, decision_id)
);
CREATE INDEX IF NOT EXISTS ix_outbound_bot ON outbound (tenant, user, bot, kind, ts);
CREATE INDEX IF NOT EXISTS ix_outbound_user ON outbound (tenant, user, kind, ts);
CREATE INDEX IF NOT EXISTS ix_outbound_ts ON outbound (ts);

CREATE TABLE IF NOT EXISTS risk_events (
    tenant TEXT NOT NULL,
    user TEXT NOT NULL,
    bot TEXT NOT NULL,
    ts REAL NOT NULL,
    level INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_risk_user ON risk_events (tenant, user, ts);

CREATE TABLE IF NOT EXISTS dependency_events (
    tenant TEXT NOT NULL,
    user TEXT NOT NULL,
    bot TEXT NOT NULL,
    ts REAL NOT NULL,
    score REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_dependency_user ON dependency_events (tenant, user, ts);

CREATE TABLE IF NOT EXISTS consent (
    tenant TEXT NOT NULL,
    user TEXT NOT NULL,
    bot TEXT NOT NULL,
    opted_out INTEGER NOT NULL,
    ts REAL NOT NULL,
    PRIMARY KEY (tenant, user, bot)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS idempotency (
    tenant TEXT NOT NULL,
    user TEXT NOT NULL,
    bot TEXT NOT NULL,
    key TEXT NOT NULL,
    decision_json TEXT NOT NULL,
    expires_at REAL NOT NULL,
    PRIMARY KEY (tenant, user, bot, key)
);
CREATE INDEX IF NOT EXISTS ix_idempotency_expires ON idempotency (expires_at);

CREATE TABLE IF NOT EXISTS seen_events (
    tenant TEXT NOT NULL,
    user TEXT NOT NULL,
    event_id TEXT NOT NULL,
    expires_at REAL NOT NULL,
    PRIMARY KEY (tenant, user, event_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS ix_seen_events_expires ON seen_events (expires_at);
"""


class SQLiteStore:
    """The :class:`~guardrail.state.base.Store` on one SQLite file (or ``":memory:"``).

    One connection, WAL journal (readers never block the writer), ``synchronous=NORMAL``
    (durable across process crashes; an OS crash may lose the last few commits). Use one
    instance per event loop: the connection is shared by every coroutine of that loop.
    """

    name = "sqlite"

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        try:
            # isolation_level=None: we issue BEGIN ourselves, so the commit can say IMMEDIATE.
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA busy_timeout = 5000")
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = NORMAL")
            self._migrate()
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"cannot open SQLite store {self.path!r}: {exc}") from exc

    def _migrate(self) -> None:
        (version,) = self._db.execute("PRAGMA user_version").fetchone()
        if version > SCHEMA_VERSION:
            raise StoreUnavailable(
                f"SQLite store {self.path!r} has schema version {version}; this gateway "
                f"understands up to {SCHEMA_VERSION} (was it written by a newer release?)"
            )
        self._db.execute("BEGIN IMMEDIATE")
        try:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    self._db.execute(statement)
            self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    def _transaction(
        self, mode: Literal["DEFERRED", "IMMEDIATE"]
    ) -> AbstractContextManager[sqlite3.Connection]:
        """One transaction; SQLite failing to serve (locked too long, disk) is StoreUnavailable."""
        where = f"SQLite store {self.path!r}"
        return transaction(self._db, mode, StoreUnavailable, where, catch=sqlite3.OperationalError)

    async def ping(self) -> None:
        try:
            self._db.execute("SELECT 1").fetchone()
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"SQLite store {self.path!r} unavailable: {exc}") from exc

    async def close(self) -> None:
        self._db.close()

    async def snapshot(
        self, tenant: str, bot: str, user: str, now: datetime, horizon: timedelta
    ) -> Snapshot:
        lo, hi = to_epoch(now - horizon), to_epoch(now)
        # A read transaction, so all lists come from one consistent state of the file.
        with self._transaction("DEFERRED") as db:
            first = db.execute(
                "SELECT first_ts FROM first_contact WHERE tenant = ? AND user = ? AND bot = ?",
                (tenant, user, bot),
            ).fetchone()
            user_messages = db.execute(
                "SELECT ts FROM user_messages WHERE tenant = ? AND user = ? AND bot = ?"
                " AND ts BETWEEN ? AND ? ORDER BY ts",
                (tenant, user, bot, lo, hi),
            ).fetchall()
            proactive = db.execute(
                "SELECT ts FROM outbound WHERE tenant = ? AND user = ? AND bot = ?"
                " AND kind = ? AND ts BETWEEN ? AND ? ORDER BY ts",
                (tenant, user, bot, Kind.PROACTIVE.value, lo, hi),
            ).fetchall()
            proactive_all = db.execute(
                "SELECT ts FROM outbound WHERE tenant = ? AND user = ?"
                " AND kind = ? AND ts BETWEEN ? AND ? ORDER BY ts",
                (tenant, user, Kind.PROACTIVE.value, lo, hi),
            ).fetchall()
            outbound = db.execute(
                "SELECT ts, disclosed, resources FROM outbound"
                " WHERE tenant = ? AND user = ? AND bot = ?"
                " AND ts BETWEEN ? AND ? ORDER BY ts",
                (tenant, user, bot, lo, hi),
            ).fetchall()
            risks = db.execute(
                "SELECT ts, level, bot FROM risk_events WHERE tenant = ? AND user = ?"
                " AND ts BETWEEN ? AND ? ORDER BY ts",
                (tenant, user, lo, hi),
            ).fetchall()
            dependency = db.execute(
                "SELECT ts, score, bot FROM dependency_events WHERE tenant = ? AND user = ?"
                " AND ts BETWEEN ? AND ? ORDER BY ts",
                (tenant, user, lo, hi),
            ).fetchall()
            consent = db.execute(
                "SELECT bot, opted_out, ts FROM consent WHERE tenant = ? AND user = ?"
                " AND bot IN (?, ?)",
                (tenant, user, bot, ALL_BOTS),
            ).fetchall()
        records = {row[0]: (bool(row[1]), float(row[2])) for row in consent}
        opted_out, scope, opted_out_at = effective_consent(
            records.get(bot) if bot != ALL_BOTS else None, records.get(ALL_BOTS)
        )
        return Snapshot(
            first_user_message=from_epoch(first[0]) if first else None,
            user_messages=tuple(from_epoch(r[0]) for r in user_messages),
            proactive_sent=tuple(from_epoch(r[0]) for r in proactive),
            proactive_sent_all_bots=tuple(from_epoch(r[0]) for r in proactive_all),
            outbound_sent=tuple(from_epoch(r[0]) for r in outbound),
            disclosed_at=tuple(from_epoch(r[0]) for r in outbound if r[1]),
            resources_at=tuple(from_epoch(r[0]) for r in outbound if r[2]),
            risk_events=tuple(RiskEvent(from_epoch(r[0]), int(r[1]), str(r[2])) for r in risks),
            dependency_events=tuple(
                DependencyEvent(from_epoch(r[0]), float(r[1]), str(r[2])) for r in dependency
            ),
            opted_out=opted_out,
            opt_out_scope=scope,
            opted_out_at=opted_out_at,
        )

    def _first_sighting(
        self, db: sqlite3.Connection, tenant: str, user: str, key: str, ts: float
    ) -> bool:
        """Remember an event id; False when it was already remembered (a redelivery)."""
        cur = db.execute(
            "INSERT OR IGNORE INTO seen_events (tenant, user, event_id, expires_at)"
            " VALUES (?, ?, ?, ?)",
            (tenant, user, key, ts + EVENT_DEDUPE_TTL.total_seconds()),
        )
        return cur.rowcount == 1

    async def record_user_message(
        self, tenant: str, bot: str, user: str, ts: datetime, event_id: str | None = None
    ) -> bool:
        epoch = to_epoch(ts)
        with self._transaction("IMMEDIATE") as db:
            if event_id is not None and not self._first_sighting(
                db, tenant, user, event_key("user_message", event_id), epoch
            ):
                return False
            db.execute(
                "INSERT INTO user_messages (tenant, bot, user, ts) VALUES (?, ?, ?, ?)",
                (tenant, bot, user, epoch),
            )
            # Events may arrive out of order: first contact is the earliest, not the first seen.
            db.execute(
                "INSERT INTO first_contact (tenant, bot, user, first_ts) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (tenant, user, bot)"
                " DO UPDATE SET first_ts = MIN(first_ts, excluded.first_ts)",
                (tenant, bot, user, epoch),
            )
        return True

    async def record_risk(self, tenant: str, bot: str, user: str, ts: datetime, level: int) -> None:
        with self._transaction("IMMEDIATE") as db:
            db.execute(
                "INSERT INTO risk_events (tenant, user, bot, ts, level) VALUES (?, ?, ?, ?, ?)",
                (tenant, user, bot, to_epoch(ts), int(level)),
            )

    async def record_dependency(
        self, tenant: str, bot: str, user: str, ts: datetime, score: float
    ) -> None:
        with self._transaction("IMMEDIATE") as db:
            db.execute(
                "INSERT INTO dependency_events (tenant, user, bot, ts, score)"
                " VALUES (?, ?, ?, ?, ?)",
                (tenant, user, bot, to_epoch(ts), float(score)),
            )

    async def record_receipt(
        self,
        tenant: str,
        bot: str,
        user: str,
        ts: datetime,
        status: Literal["delivered", "read"],
        event_id: str | None = None,
    ) -> bool:
        # Receipts feed no rule yet (the snapshot has no receipt fields): only dedupe them.
        epoch = to_epoch(ts)
        if event_id is None:
            return True
        with self._transaction("IMMEDIATE") as db:
            return self._first_sighting(db, tenant, user, event_key(status, event_id), epoch)

    async def set_consent(
        self, tenant: str, bot: str | None, user: str, opted_out: bool, ts: datetime
    ) -> None:
        epoch = to_epoch(ts)
        with self._transaction("IMMEDIATE") as db:
            # Replace only with a later change (ties: the opt-out wins), whatever the order.
            db.execute(
                "INSERT INTO consent (tenant, user, bot, opted_out, ts) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (tenant, user, bot) DO UPDATE"
                " SET opted_out = excluded.opted_out, ts = excluded.ts"
                " WHERE excluded.ts > consent.ts"
                " OR (excluded.ts = consent.ts AND excluded.opted_out > consent.opted_out)",
                (tenant, user, ALL_BOTS if bot is None else bot, int(opted_out), epoch),
            )

    @staticmethod
    def _live_idempotent(
        db: sqlite3.Connection, tenant: str, bot: str, user: str, key: str, now: float
    ) -> str | None:
        row = db.execute(
            "SELECT decision_json FROM idempotency WHERE tenant = ? AND user = ? AND bot = ?"
            " AND key = ? AND expires_at > ?",
            (tenant, user, bot, key, now),
        ).fetchone()
        return None if row is None else str(row[0])

    @staticmethod
    def _store_idempotent(
        db: sqlite3.Connection,
        tenant: str,
        bot: str,
        user: str,
        key: str,
        decision_json: str,
        expires_at: float,
    ) -> None:
        # REPLACE: a row still present here has expired (callers check for a live one first).
        db.execute(
            "INSERT OR REPLACE INTO idempotency"
            " (tenant, user, bot, key, decision_json, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
            (tenant, user, bot, key, decision_json, expires_at),
        )

    async def get_idempotent(
        self, tenant: str, bot: str, user: str, key: str, now: datetime
    ) -> str | None:
        epoch = to_epoch(now)
        with self._transaction("DEFERRED") as db:
            return self._live_idempotent(db, tenant, bot, user, key, epoch)

    async def put_idempotent(
        self,
        tenant: str,
        bot: str,
        user: str,
        key: str,
        decision_json: str,
        now: datetime,
        ttl: timedelta,
    ) -> str | None:
        epoch = to_epoch(now)
        with self._transaction("IMMEDIATE") as db:
            earlier = self._live_idempotent(db, tenant, bot, user, key, epoch)
            if earlier is not None:
                return earlier
            self._store_idempotent(
                db, tenant, bot, user, key, decision_json, epoch + ttl.total_seconds()
            )
        return None

    async def commit(self, tenant: str, bot: str, user: str, req: CommitRequest) -> CommitResult:
        now = to_epoch(req.ts)
        proactive = req.kind == Kind.PROACTIVE
        # IMMEDIATE: hold the write lock from the first read, so the re-check is final.
        with self._transaction("IMMEDIATE") as db:
            if req.idempotency_key is not None:
                earlier = self._live_idempotent(db, tenant, bot, user, req.idempotency_key, now)
                if earlier is not None:
                    return CommitResult(committed=False, replay_json=earlier)
            if proactive:
                for cap in req.caps:
                    since = to_epoch(req.ts - cap.window)
                    if cap.scope == "bot":
                        (count,) = db.execute(
                            "SELECT COUNT(*) FROM outbound WHERE tenant = ? AND user = ?"
                            " AND bot = ? AND kind = ? AND ts >= ?",
                            (tenant, user, bot, Kind.PROACTIVE.value, since),
                        ).fetchone()
                    else:
                        (count,) = db.execute(
                            "SELECT COUNT(*) FROM outbound WHERE tenant = ? AND user = ?"
                            " AND kind = ? AND ts >= ?",
                            (tenant, user, Kind.PROACTIVE.value, since),
                        ).fetchone()
                    if count >= cap.limit:
                        return CommitResult(
                            committed=False,
                            violated_cap=cap,
                            details={"count": int(count), "limit": cap.limit},
                        )
                if req.max_unanswered is not None:
                    (last,) = db.execute(
                        "SELECT MAX(ts) FROM user_messages"
                        " WHERE tenant = ? AND user = ? AND bot = ?",
                        (tenant, user, bot),
                    ).fetchone()
                    (unanswered,) = db.execute(
                        "SELECT COUNT(*) FROM outbound WHERE tenant = ? AND user = ? AND bot = ?"
                        " AND kind = ? AND ts > ?",
                        (
                            tenant,
                            user,
                            bot,
                            Kind.PROACTIVE.value,
                            float("-inf") if last is None else last,
                        ),
                    ).fetchone()
                    if unanswered >= req.max_unanswered:
                        return CommitResult(
                            committed=False,
                            unanswered_exceeded=True,
                            details={"unanswered": int(unanswered), "limit": req.max_unanswered},
                        )
            db.execute(
                "INSERT OR REPLACE INTO outbound"
                " (tenant, bot, user, decision_id, kind, ts, disclosed, resources)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    tenant,
                    bot,
                    user,
                    req.decision_id,
                    Kind(req.kind).value,
                    now,
                    int(req.disclosed),
                    int(req.resources),
                ),
            )
            if req.idempotency_key is not None:
                self._store_idempotent(
                    db,
                    tenant,
                    bot,
                    user,
                    req.idempotency_key,
                    req.decision_json,
                    now + req.idempotency_ttl.total_seconds(),
                )
        return CommitResult(committed=True)

    async def release(
        self, tenant: str, bot: str, user: str, decision_id: str, idempotency_key: str | None
    ) -> None:
        with self._transaction("IMMEDIATE") as db:
            db.execute(
                "DELETE FROM outbound"
                " WHERE tenant = ? AND user = ? AND bot = ? AND decision_id = ?",
                (tenant, user, bot, decision_id),
            )
            if idempotency_key is not None:
                db.execute(
                    "DELETE FROM idempotency WHERE tenant = ? AND user = ? AND bot = ? AND key = ?",
                    (tenant, user, bot, idempotency_key),
                )

    async def prune(self, before: datetime) -> int:
        cutoff = to_epoch(before)
        with self._transaction("IMMEDIATE") as db:
            removed = db.execute("DELETE FROM user_messages WHERE ts < ?", (cutoff,)).rowcount
            removed += db.execute("DELETE FROM outbound WHERE ts < ?", (cutoff,)).rowcount
            db.execute("DELETE FROM risk_events WHERE ts < ?", (cutoff,))
            db.execute("DELETE FROM dependency_events WHERE ts < ?", (cutoff,))
            # Expired keys and event ids are garbage, not history: not counted.
            db.execute("DELETE FROM idempotency WHERE expires_at < ?", (cutoff,))
            db.execute("DELETE FROM seen_events WHERE expires_at < ?", (cutoff,))
        return removed

    def _profiles(self, db: sqlite3.Connection) -> None:
        """The profile table, created on first use (kept out of _SCHEMA, version 1)."""
        if not self._profiles_ready:
            db.execute(_PROFILE_TABLE)
            self._profiles_ready = True

    _profiles_ready = False

    async def user_profile(self, tenant: str, user: str) -> UserProfile:
        with self._transaction("DEFERRED") as db:  # a read: no write lock on the hot path
            self._profiles(db)
            row = db.execute(
                "SELECT jurisdiction, jurisdiction_source, is_minor, minor_source"
                " FROM user_profile WHERE tenant = ? AND user = ?",
                (tenant, user),
            ).fetchone()
        if row is None:
            return UserProfile()
        return UserProfile(
            jurisdiction=row[0],
            jurisdiction_source=row[1],
            is_minor=None if row[2] is None else bool(row[2]),
            minor_source=row[3],
        )

    async def remember_user(
        self,
        tenant: str,
        user: str,
        jurisdiction: str | None,
        is_minor: bool | None,
        source: ProfileSource,
    ) -> None:
        with self._transaction("IMMEDIATE") as db:
            self._profiles(db)
            row = db.execute(
                "SELECT jurisdiction, jurisdiction_source, is_minor, minor_source"
                " FROM user_profile WHERE tenant = ? AND user = ?",
                (tenant, user),
            ).fetchone()
            j, j_src, minor, m_src = row if row is not None else (None, None, None, None)
            if jurisdiction is not None and (source == "ingest" or j is None):
                j, j_src = jurisdiction.upper(), source
            if is_minor is not None and (source == "ingest" or minor is None or is_minor):
                minor, m_src = int(is_minor), source
            db.execute(
                "INSERT OR REPLACE INTO user_profile"
                " (tenant, user, jurisdiction, jurisdiction_source, is_minor, minor_source)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (tenant, user, j, j_src, minor, m_src),
            )


_PROFILE_TABLE = """
CREATE TABLE IF NOT EXISTS user_profile (
    tenant TEXT NOT NULL,
    user TEXT NOT NULL,
    jurisdiction TEXT,
    jurisdiction_source TEXT,
    is_minor INTEGER,
    minor_source TEXT,
    PRIMARY KEY (tenant, user)
) WITHOUT ROWID
"""
