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
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal, cast

from guardrail.models import Kind
from guardrail.sqlite_tx import connect_wal, transaction
from guardrail.state.base import (
    CommitRequest,
    CommitResult,
    DependencyEvent,
    EventApplied,
    EventWrite,
    IdempotencyClaim,
    OutboxItem,
    PendingRecord,
    ProfileSource,
    RecentMessage,
    RiskEvent,
    Snapshot,
    StoreUnavailable,
    UserProfile,
)
from guardrail.state.common import (
    ALL_BOTS,
    EVENT_DEDUPE_TTL,
    ConsentChange,
    ConsentOutcome,
    ConsentRecord,
    EvidenceSource,
    bounded,
    decide_consent,
    effective_consent,
    event_key,
    from_epoch,
    judge_claim,
    latest_consent,
    since,
    to_epoch,
)
from guardrail.state.sqlite_memory import SQLiteMemory

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

CREATE TABLE IF NOT EXISTS recent_facts (
    tenant TEXT NOT NULL,
    user TEXT NOT NULL,
    bot TEXT NOT NULL,
    ts REAL NOT NULL,
    facts TEXT NOT NULL,
    level INTEGER NOT NULL,
    imminent INTEGER NOT NULL,
    expires_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_recent_facts_user ON recent_facts (tenant, user, bot, ts);

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
    arrival REAL,
    source TEXT,
    PRIMARY KEY (tenant, user, bot)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS idempotency (
    tenant TEXT NOT NULL,
    user TEXT NOT NULL,
    bot TEXT NOT NULL,
    key TEXT NOT NULL,
    decision_json TEXT NOT NULL,
    expires_at REAL NOT NULL,
    request_hash TEXT,
    claim TEXT,
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

CREATE TABLE IF NOT EXISTS outbox (
    id TEXT PRIMARY KEY,
    payload TEXT NOT NULL,
    due REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    token TEXT,
    created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_outbox_due ON outbox (due);
"""

_ADDED_COLUMNS = (
    # The request an idempotency key is bound to (NULL: not bound, e.g. older rows).
    ("idempotency", "request_hash", "TEXT"),
    # Non-NULL: an in-flight marker owned by this token, not a decision (decision_json '').
    ("idempotency", "claim", "TEXT"),
    # Consent evidence: when the change arrived and who vouched for it (NULL: older rows,
    # which arrived at their claimed time from an unknown source).
    ("consent", "arrival", "REAL"),
    ("consent", "source", "TEXT"),
    # 1: the event seen under this id carried an opt-out (NULL: older rows, or it did not).
    ("seen_events", "opt_out", "INTEGER"),
    # An imminent crisis signal (older rows: not imminent).
    ("risk_events", "imminent", "INTEGER NOT NULL DEFAULT 0"),
    # A recent message's sentence embedding, float16 (older rows: none, facts only).
    ("recent_facts", "vector", "BLOB"),
)


class SQLiteStore(SQLiteMemory):
    """The :class:`~guardrail.state.base.Store` on one SQLite file (or ``":memory:"``).

    One connection, WAL journal (readers never block the writer), ``synchronous=NORMAL``
    (durable across process crashes; an OS crash may lose the last few commits). Use one
    instance per event loop: the connection is shared by every coroutine of that loop.
    """

    name = "sqlite"
    inline = True
    """Queries run on the caller's thread, without awaiting (see the module docstring)."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        try:
            # isolation_level=None: we issue BEGIN ourselves, so the commit can say IMMEDIATE.
            self._db = connect_wal(self.path, "NORMAL")
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
            self._add_missing_columns()
            self._db.execute(_AUDIT_OUTBOX_TABLE)
            self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    def _add_missing_columns(self) -> None:
        """Columns added after a table first shipped: a file written by an older release
        has the table (``CREATE TABLE IF NOT EXISTS`` left it alone) but not the column."""
        for table, column, decl in _ADDED_COLUMNS:
            have = {row[1] for row in self._db.execute(f"PRAGMA table_info({table})")}
            if column not in have:
                self._db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {decl}")

    def _transaction(
        self, mode: Literal["DEFERRED", "IMMEDIATE"]
    ) -> AbstractContextManager[sqlite3.Connection]:
        """One transaction; SQLite failing to serve (locked too long, disk, a constraint a
        trigger raised) is StoreUnavailable: the caller fails closed, the platform retries."""
        where = f"SQLite store {self.path!r}"
        return transaction(self._db, mode, StoreUnavailable, where, catch=sqlite3.DatabaseError)

    async def ping(self) -> None:
        try:
            self._db.execute("SELECT 1").fetchone()
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"SQLite store {self.path!r} unavailable: {exc}") from exc

    async def close(self) -> None:
        self._db.close()

    async def durability(self) -> str | None:
        """A file on disk: nothing is dropped but by the prune."""
        return None

    async def snapshot(
        self, tenant: str, bot: str, user: str, now: datetime, horizon: timedelta
    ) -> Snapshot:
        return self._read(tenant, bot, user, now, horizon, None)

    async def event_snapshot(
        self, tenant: str, bot: str, user: str, now: datetime, conversation: timedelta
    ) -> Snapshot:
        return self._read(tenant, bot, user, now, timedelta(0), conversation)

    def _read(
        self,
        tenant: str,
        bot: str,
        user: str,
        now: datetime,
        horizon: timedelta,
        conversation: timedelta | None,
    ) -> Snapshot:
        lo, hi = to_epoch(since(now, horizon)), to_epoch(now)
        recent: list[tuple[float, str, int, int, bytes | None]] = []
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
                "SELECT ts, level, bot, imminent FROM risk_events WHERE tenant = ? AND user = ?"
                " AND ts BETWEEN ? AND ? ORDER BY ts",
                (tenant, user, lo, hi),
            ).fetchall()
            dependency = db.execute(
                "SELECT ts, score, bot FROM dependency_events WHERE tenant = ? AND user = ?"
                " AND ts BETWEEN ? AND ? ORDER BY ts",
                (tenant, user, lo, hi),
            ).fetchall()
            consent = db.execute(
                "SELECT bot, opted_out, ts, arrival, source FROM consent"
                " WHERE tenant = ? AND user = ? AND bot IN (?, ?)",
                (tenant, user, bot, ALL_BOTS),
            ).fetchall()
            if conversation is not None:
                recent = db.execute(
                    "SELECT ts, facts, level, imminent, vector FROM recent_facts"
                    " WHERE tenant = ? AND user = ? AND bot = ? AND ts BETWEEN ? AND ?"
                    " ORDER BY ts",
                    (tenant, user, bot, to_epoch(since(now, conversation)), hi),
                ).fetchall()
        records = {str(row[0]): _record(row) for row in consent}
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
            risk_events=tuple(
                RiskEvent(from_epoch(r[0]), int(r[1]), str(r[2]), bool(r[3])) for r in risks
            ),
            recent=tuple(
                RecentMessage(
                    from_epoch(r[0]),
                    tuple(str(r[1]).split(",")) if r[1] else (),
                    int(r[2]),
                    bool(r[3]),
                    bytes(r[4] or b""),
                )
                for r in recent
            ),
            dependency_events=tuple(
                DependencyEvent(from_epoch(r[0]), float(r[1]), str(r[2])) for r in dependency
            ),
            opted_out=opted_out,
            opt_out_scope=scope,
            opted_out_at=opted_out_at,
        )

    def _first_sighting(
        self, db: sqlite3.Connection, tenant: str, user: str, key: str, ts: float, out: bool = False
    ) -> bool:
        """Remember an event id (and whether its event carried an opt-out, ``out``); False
        when it was already remembered (a redelivery)."""
        cur = db.execute(
            "INSERT OR IGNORE INTO seen_events (tenant, user, event_id, expires_at, opt_out)"
            " VALUES (?, ?, ?, ?, ?)",
            (tenant, user, key, ts + EVENT_DEDUPE_TTL.total_seconds(), int(out)),
        )
        return cur.rowcount == 1

    @staticmethod
    def _claim_for_opt_out(db: sqlite3.Connection, tenant: str, user: str, key: str) -> bool:
        """An opt-out under an id already seen: True (and the id now marked as an opt-out's)
        when the event seen before carried none, so this STOP is applied anyway."""
        cur = db.execute(
            "UPDATE seen_events SET opt_out = 1"
            " WHERE tenant = ? AND user = ? AND event_id = ? AND COALESCE(opt_out, 0) = 0",
            (tenant, user, key),
        )
        return cur.rowcount == 1

    async def record_user_message(
        self, tenant: str, bot: str, user: str, ts: datetime, event_id: str | None = None
    ) -> bool:
        seen = (
            None
            if event_id is None
            else event_key("user_message", event_id, origin="ingest", bot=bot)
        )
        write = EventWrite(ts=ts, seen_key=seen, user_message=True)
        return not (await self.apply_event(tenant, bot, user, write)).duplicate

    @staticmethod
    def _insert_user_message(
        db: sqlite3.Connection, tenant: str, bot: str, user: str, epoch: float
    ) -> None:
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

    async def record_risk(self, tenant: str, bot: str, user: str, ts: datetime, level: int) -> None:
        await self.apply_event(tenant, bot, user, EventWrite(ts=ts, risk_level=level))

    async def record_dependency(
        self, tenant: str, bot: str, user: str, ts: datetime, score: float
    ) -> None:
        await self.apply_event(tenant, bot, user, EventWrite(ts=ts, dependency_score=score))

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
            key = event_key(status, event_id, origin="ingest", bot=bot)
            return self._first_sighting(db, tenant, user, key, epoch)

    async def set_consent(
        self,
        tenant: str,
        bot: str | None,
        user: str,
        opted_out: bool,
        ts: datetime,
        *,
        source: str = "admin",
        arrival: datetime | None = None,
    ) -> ConsentOutcome:
        change = ConsentChange(bot, opted_out, ts, cast(EvidenceSource, source), arrival)
        applied = await self.apply_event(
            tenant, bot or ALL_BOTS, user, EventWrite(ts=ts, consent=change)
        )
        assert applied.consent is not None
        return applied.consent

    @staticmethod
    def _apply_consent(
        db: sqlite3.Connection, tenant: str, user: str, change: ConsentChange
    ) -> ConsentOutcome:
        rows = db.execute(
            "SELECT bot, opted_out, ts, arrival, source FROM consent WHERE tenant = ? AND user = ?",
            (tenant, user),
        ).fetchall()
        outcome = decide_consent(change, {str(row[0]): _record(row) for row in rows})
        if outcome.record is not None:
            r = outcome.record
            db.execute(
                "INSERT OR REPLACE INTO consent (tenant, user, bot, opted_out, ts, arrival, source)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (tenant, user, change.bot or ALL_BOTS, int(r.opted_out), r.ts, r.arrival, r.source),
            )
        return outcome

    async def apply_event(
        self, tenant: str, bot: str, user: str, write: EventWrite
    ) -> EventApplied:
        epoch = to_epoch(write.ts)
        if write.consent is not None:
            to_epoch(write.consent.ts)
        out = write.consent is not None and write.consent.opted_out
        with self._transaction("IMMEDIATE") as db:
            # Marked seen inside the transaction: rolled back with everything else on failure.
            if write.seen_key is not None and not self._first_sighting(
                db, tenant, user, write.seen_key, epoch, out
            ):
                if not out or not self._claim_for_opt_out(db, tenant, user, write.seen_key):
                    return EventApplied(duplicate=True)
                assert write.consent is not None
                reapplied = self._apply_consent(db, tenant, user, write.consent)
                if write.audit is not None:  # the opt-out's record, with it
                    self._keep_audit_records(db, write.audit(reapplied), epoch)
                return EventApplied(consent=reapplied, id_reused=True)
            if write.user_message:
                self._insert_user_message(db, tenant, bot, user, epoch)
            outcome = None
            if write.consent is not None:
                outcome = self._apply_consent(db, tenant, user, write.consent)
            if write.risk_level is not None:
                db.execute(
                    "INSERT INTO risk_events (tenant, user, bot, ts, level, imminent)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (tenant, user, bot, epoch, int(write.risk_level), int(write.risk_imminent)),
                )
            if write.recent is not None:
                self._remember_recent(db, tenant, user, bot, epoch, write)
            if write.dependency_score is not None:
                db.execute(
                    "INSERT INTO dependency_events (tenant, user, bot, ts, score)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (tenant, user, bot, epoch, float(write.dependency_score)),
                )
            self._apply_memory(db, tenant, bot, user, epoch, write)
            if write.audit is not None:
                self._keep_audit_records(db, write.audit(outcome), epoch)
        return EventApplied(consent=outcome)

    @staticmethod
    def _remember_recent(
        db: sqlite3.Connection, tenant: str, user: str, bot: str, epoch: float, write: EventWrite
    ) -> None:
        """Keep a message's crisis facts for ``recent_ttl``; drop this user's expired ones."""
        assert write.recent is not None
        ttl = write.recent_ttl.total_seconds()
        db.execute(
            "DELETE FROM recent_facts WHERE tenant = ? AND user = ? AND bot = ? AND ts < ?",
            (tenant, user, bot, epoch - ttl),
        )
        db.execute(
            "INSERT INTO recent_facts"
            " (tenant, user, bot, ts, facts, level, imminent, expires_at, vector)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                tenant, user, bot, epoch, ",".join(write.recent.facts), int(write.recent.level),
                int(write.recent.imminent), epoch + ttl, write.recent.vector or None,
            ),
        )  # fmt: skip

    @staticmethod
    def _live_idempotent(
        db: sqlite3.Connection, tenant: str, bot: str, user: str, key: str, now: float
    ) -> tuple[str, str | None, str | None] | None:
        """(decision json, request hash, claim token) of the live record under ``key``."""
        row = db.execute(
            "SELECT decision_json, request_hash, claim FROM idempotency"
            " WHERE tenant = ? AND user = ? AND bot = ? AND key = ? AND expires_at > ?",
            (tenant, user, bot, key, now),
        ).fetchone()
        return None if row is None else (str(row[0]), row[1], row[2])

    @staticmethod
    def _store_idempotent(
        db: sqlite3.Connection,
        tenant: str,
        bot: str,
        user: str,
        key: str,
        decision_json: str,
        expires_at: float,
        request_hash: str | None,
        claim: str | None = None,
    ) -> None:
        # REPLACE: a row still present here has expired or is an in-flight marker
        # (callers check for a live decision first).
        db.execute(
            "INSERT OR REPLACE INTO idempotency"
            " (tenant, user, bot, key, decision_json, expires_at, request_hash, claim)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (tenant, user, bot, key, decision_json, expires_at, request_hash, claim),
        )

    async def get_idempotent(
        self, tenant: str, bot: str, user: str, key: str, now: datetime
    ) -> str | None:
        epoch = to_epoch(now)
        with self._transaction("DEFERRED") as db:
            live = self._live_idempotent(db, tenant, bot, user, key, epoch)
        return None if live is None or live[2] is not None else live[0]

    async def claim_idempotent(
        self,
        tenant: str,
        bot: str,
        user: str,
        key: str,
        request_hash: str,
        token: str,
        now: datetime,
        ttl: timedelta,
    ) -> IdempotencyClaim:
        epoch = to_epoch(now)
        with self._transaction("IMMEDIATE") as db:
            live = self._live_idempotent(db, tenant, bot, user, key, epoch)
            if live is not None:
                return judge_claim(live[0], live[1], live[2] is not None, request_hash)
            self._store_idempotent(
                db, tenant, bot, user, key, "", epoch + ttl.total_seconds(), request_hash, token
            )
        return IdempotencyClaim("claimed")

    async def abandon_idempotent(
        self, tenant: str, bot: str, user: str, key: str, token: str, now: datetime
    ) -> None:
        with self._transaction("IMMEDIATE") as db:
            db.execute(
                "DELETE FROM idempotency"
                " WHERE tenant = ? AND user = ? AND bot = ? AND key = ? AND claim = ?",
                (tenant, user, bot, key, token),
            )

    async def put_idempotent(
        self,
        tenant: str,
        bot: str,
        user: str,
        key: str,
        decision_json: str,
        now: datetime,
        ttl: timedelta,
        request_hash: str | None = None,
    ) -> str | None:
        epoch = to_epoch(now)
        with self._transaction("IMMEDIATE") as db:
            live = self._live_idempotent(db, tenant, bot, user, key, epoch)
            if live is not None and live[2] is None:
                return live[0]
            self._store_idempotent(
                db, tenant, bot, user, key, decision_json, epoch + ttl.total_seconds(),
                request_hash,
            )  # fmt: skip
        return None

    async def commit(self, tenant: str, bot: str, user: str, req: CommitRequest) -> CommitResult:
        now = to_epoch(req.ts)
        # IMMEDIATE: hold the write lock from the first read, so the re-check is final.
        with self._transaction("IMMEDIATE") as db:
            if req.idempotency_key is not None:
                live = self._live_idempotent(db, tenant, bot, user, req.idempotency_key, now)
                if live is not None:
                    body, bound, claim = live
                    if bound and req.request_hash and bound != req.request_hash:
                        return CommitResult(committed=False, key_mismatch=True)
                    if claim is None:
                        return CommitResult(committed=False, replay_json=body)
            refused = self._recheck(db, tenant, bot, user, req, now)
            if refused is not None:
                return refused
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
                    req.request_hash,
                )
        return CommitResult(committed=True)

    @staticmethod
    def _recheck(
        db: sqlite3.Connection, tenant: str, bot: str, user: str, req: CommitRequest, now: float
    ) -> CommitResult | None:
        """The commit's checks against the state as it is now; a refusal, or None."""
        proactive = req.kind == Kind.PROACTIVE
        (last_row,) = db.execute(
            "SELECT MAX(ts) FROM user_messages WHERE tenant = ? AND user = ? AND bot = ?",
            (tenant, user, bot),
        ).fetchone()
        last = float("-inf") if last_row is None else float(last_row)

        def sent_by_bot(after: float, inclusive: bool = False) -> int:
            (count,) = db.execute(
                "SELECT COUNT(*) FROM outbound WHERE tenant = ? AND user = ? AND bot = ?"
                f" AND ts {'>=' if inclusive else '>'} ?",
                (tenant, user, bot, after),
            ).fetchone()
            return int(count)

        if req.opted_out_replies is not None:
            rows = db.execute(
                "SELECT bot, opted_out, ts, arrival, source FROM consent"
                " WHERE tenant = ? AND user = ? AND bot IN (?, ?)",
                (tenant, user, bot, ALL_BOTS),
            ).fetchall()
            records = {str(row[0]): _record(row) for row in rows}
            opted_out_at = latest_consent(
                records.get(bot) if bot != ALL_BOTS else None, records.get(ALL_BOTS)
            )
            if opted_out_at is not None:
                # Messages after both the opt-out (inclusive) and the last user message.
                start, inclusive = (last, False) if last >= opted_out_at else (opted_out_at, True)
                sent = sent_by_bot(start, inclusive)
                if proactive or sent >= req.opted_out_replies:
                    return CommitResult(
                        committed=False,
                        opted_out=True,
                        details={"sent": sent, "limit": req.opted_out_replies},
                    )
        if not proactive:
            if req.reply_budget is not None:
                sent = sent_by_bot(last)
                if sent >= req.reply_budget:
                    return CommitResult(
                        committed=False,
                        reply_budget_spent=True,
                        details={"sent": sent, "limit": req.reply_budget},
                    )
            return None
        for index, cap in enumerate(req.caps):
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
                    violated_index=index,
                    details={"count": int(count), "limit": cap.limit},
                )
        if req.max_unanswered is not None:
            (unanswered,) = db.execute(
                "SELECT COUNT(*) FROM outbound WHERE tenant = ? AND user = ? AND bot = ?"
                " AND kind = ? AND ts > ?",
                (tenant, user, bot, Kind.PROACTIVE.value, last),
            ).fetchone()
            if unanswered >= req.max_unanswered:
                return CommitResult(
                    committed=False,
                    unanswered_exceeded=True,
                    details={"unanswered": int(unanswered), "limit": req.max_unanswered},
                )
        return None

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

    async def prune(
        self,
        before: datetime,
        *,
        risk_before: datetime | None = None,
        records_before: datetime | None = None,
    ) -> int:
        cutoff = to_epoch(bounded(before))
        risk_cutoff = cutoff if risk_before is None else to_epoch(bounded(risk_before))
        with self._transaction("IMMEDIATE") as db:
            removed = db.execute("DELETE FROM user_messages WHERE ts < ?", (cutoff,)).rowcount
            removed += db.execute("DELETE FROM outbound WHERE ts < ?", (cutoff,)).rowcount
            db.execute("DELETE FROM risk_events WHERE ts < ?", (risk_cutoff,))
            db.execute("DELETE FROM dependency_events WHERE ts < ?", (risk_cutoff,))
            records = None if records_before is None else to_epoch(bounded(records_before))
            self._prune_memory(db, risk_cutoff, records)
            db.execute("DELETE FROM recent_facts WHERE ts < ?", (cutoff,))
            # Expired keys and event ids are garbage, not history: not counted.
            db.execute("DELETE FROM idempotency WHERE expires_at < ?", (cutoff,))
            db.execute("DELETE FROM seen_events WHERE expires_at < ?", (cutoff,))
            if records_before is not None:
                old = to_epoch(bounded(records_before))
                db.execute("DELETE FROM consent WHERE COALESCE(arrival, ts) < ?", (old,))
                # First contact stays while the user still writes to the bot.
                db.execute(
                    "DELETE FROM first_contact WHERE first_ts < ? AND NOT EXISTS"
                    " (SELECT 1 FROM user_messages m WHERE m.tenant = first_contact.tenant"
                    " AND m.user = first_contact.user AND m.bot = first_contact.bot"
                    " AND m.ts >= ?)",
                    (old, old),
                )
        return removed

    # -- the notification outbox ---------------------------------------------------------

    async def outbox_put(self, item_id: str, payload_json: str, now: datetime) -> None:
        epoch = to_epoch(now)
        with self._transaction("IMMEDIATE") as db:
            db.execute(
                "INSERT OR IGNORE INTO outbox (id, payload, due, created) VALUES (?, ?, ?, ?)",
                (item_id, payload_json, epoch, epoch),
            )

    async def outbox_claim(
        self, now: datetime, lease: timedelta, token: str, limit: int = 10
    ) -> list[OutboxItem]:
        epoch = to_epoch(now)
        with self._transaction("IMMEDIATE") as db:  # the write lock: one claimer at a time
            rows = db.execute(
                "SELECT id, payload, attempts FROM outbox WHERE due <= ? ORDER BY due LIMIT ?",
                (epoch, limit),
            ).fetchall()
            for item_id, _, _ in rows:
                db.execute(
                    "UPDATE outbox SET due = ?, token = ?, attempts = attempts + 1 WHERE id = ?",
                    (epoch + lease.total_seconds(), token, item_id),
                )
        return [OutboxItem(str(i), str(p), int(a) + 1, token) for i, p, a in rows]

    async def outbox_settle(self, item_id: str, token: str, retry_at: datetime | None) -> bool:
        with self._transaction("IMMEDIATE") as db:
            if retry_at is None:
                cur = db.execute("DELETE FROM outbox WHERE id = ? AND token = ?", (item_id, token))
            else:
                cur = db.execute(
                    "UPDATE outbox SET due = ?, token = NULL WHERE id = ? AND token = ?",
                    (to_epoch(retry_at), item_id, token),
                )
        return cur.rowcount == 1

    async def outbox_next_due(self) -> datetime | None:
        with self._transaction("DEFERRED") as db:
            (due,) = db.execute("SELECT MIN(due) FROM outbox").fetchone()
        return None if due is None else from_epoch(float(due))

    # -- the audit outbox: records kept with their state change until the log has them -----

    @staticmethod
    def _keep_audit_records(
        db: sqlite3.Connection, records: Sequence[tuple[str, str]], epoch: float
    ) -> None:
        db.executemany(
            "INSERT OR IGNORE INTO audit_outbox (record_id, body, created) VALUES (?, ?, ?)",
            [(record_id, body, epoch) for record_id, body in records],
        )

    async def audit_pending(self, limit: int = 100) -> list[PendingRecord]:
        # Commits are serialised (BEGIN IMMEDIATE): pos order is commit order, nothing in flight.
        with self._transaction("DEFERRED") as db:
            rows = db.execute(
                "SELECT pos, record_id, body FROM audit_outbox ORDER BY pos LIMIT ?", (limit,)
            ).fetchall()
        return [PendingRecord(str(rid), str(body), str(pos)) for pos, rid, body in rows]

    async def audit_done(self, records: Sequence[PendingRecord]) -> None:
        with self._transaction("IMMEDIATE") as db:
            db.executemany(
                "DELETE FROM audit_outbox WHERE pos = ?", [(int(r.handle),) for r in records]
            )

    def _profiles(self, db: sqlite3.Connection) -> None:
        """The profile tables, created on first use (kept out of _SCHEMA, version 1); the
        zone columns are added to a table an older release created."""
        if not self._profiles_ready:
            db.execute(_PROFILE_TABLE)
            db.execute(_AGE_EVIDENCE_TABLE)
            have = {row[1] for row in db.execute("PRAGMA table_info(user_profile)")}
            for column in ("timezone", "timezone_source"):
                if column not in have:
                    db.execute(f"ALTER TABLE user_profile ADD COLUMN {column} TEXT")
            self._profiles_ready = True

    _profiles_ready = False

    async def user_profile(self, tenant: str, user: str) -> UserProfile:
        with self._transaction("DEFERRED") as db:  # a read: no write lock on the hot path
            self._profiles(db)
            row = db.execute(
                "SELECT jurisdiction, jurisdiction_source, is_minor, minor_source, timezone,"
                " timezone_source FROM user_profile WHERE tenant = ? AND user = ?",
                (tenant, user),
            ).fetchone()
            age = db.execute(
                f"SELECT {_AGE_COLUMNS} FROM user_age_evidence WHERE tenant = ? AND user = ?",
                (tenant, user),
            ).fetchone()
        profile = UserProfile()
        if row is not None:
            profile = UserProfile(
                jurisdiction=row[0],
                jurisdiction_source=row[1],
                is_minor=None if row[2] is None else bool(row[2]),
                minor_source=row[3],
                timezone=row[4],
                timezone_source=row[5],
            )
        return profile if age is None else _with_age(profile, age)

    async def remember_user(
        self,
        tenant: str,
        user: str,
        jurisdiction: str | None,
        is_minor: bool | None,
        source: ProfileSource,
        timezone: str | None = None,
    ) -> None:
        with self._transaction("IMMEDIATE") as db:
            self._profiles(db)
            row = db.execute(
                "SELECT jurisdiction, jurisdiction_source, is_minor, minor_source, timezone,"
                " timezone_source FROM user_profile WHERE tenant = ? AND user = ?",
                (tenant, user),
            ).fetchone()
            j, j_src, minor, m_src, tz, tz_src = row or (None,) * 6
            if jurisdiction is not None and (source == "ingest" or j is None):
                j, j_src = jurisdiction.upper(), source
            if is_minor is not None and (source == "ingest" or minor is None or is_minor):
                minor, m_src = int(is_minor), source
            if timezone is not None and source == "ingest":
                tz, tz_src = timezone, source
            db.execute(
                "INSERT OR REPLACE INTO user_profile (tenant, user, jurisdiction,"
                " jurisdiction_source, is_minor, minor_source, timezone, timezone_source)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (tenant, user, j, j_src, minor, m_src, tz, tz_src),
            )

    async def mark_likely_minor(
        self, tenant: str, user: str, ts: datetime, source: str, cues: tuple[str, ...]
    ) -> bool:
        epoch = to_epoch(ts)
        with self._transaction("IMMEDIATE") as db:
            self._profiles(db)
            row = db.execute(
                f"SELECT {_AGE_COLUMNS} FROM user_age_evidence WHERE tenant = ? AND user = ?",
                (tenant, user),
            ).fetchone()
            likely, assured, adult = (row[0], row[3], row[6]) if row else (None, None, None)
            if adult and assured is not None and epoch <= assured:
                return False  # evidence the operator's assurance already answered
            if likely is not None and likely <= epoch:
                return False
            db.execute(
                "INSERT INTO user_age_evidence (tenant, user, likely_at, likely_source,"
                " likely_cues) VALUES (?, ?, ?, ?, ?) ON CONFLICT (tenant, user) DO UPDATE SET"
                " likely_at = excluded.likely_at, likely_source = excluded.likely_source,"
                " likely_cues = excluded.likely_cues",
                (tenant, user, epoch, source, ",".join(cues)),
            )
            return True

    async def assure_age(
        self, tenant: str, user: str, ts: datetime, adult: bool, source: str, method: str | None
    ) -> None:
        epoch = to_epoch(ts)
        with self._transaction("IMMEDIATE") as db:
            self._profiles(db)
            row = db.execute(
                "SELECT likely_at, likely_source, likely_cues, assured_at"
                " FROM user_age_evidence WHERE tenant = ? AND user = ?",
                (tenant, user),
            ).fetchone()
            likely, l_src, cues, assured = row if row else (None, None, None, None)
            if assured is not None and assured > epoch:
                return  # a later assurance stands
            if adult and likely is not None and likely <= epoch:
                likely, l_src, cues = None, None, None
            db.execute(
                f"INSERT OR REPLACE INTO user_age_evidence (tenant, user, {_AGE_COLUMNS})"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (tenant, user, likely, l_src, cues, epoch, source, method, int(adult)),
            )


_AGE_EVIDENCE_TABLE = """
CREATE TABLE IF NOT EXISTS user_age_evidence (
    tenant TEXT NOT NULL,
    user TEXT NOT NULL,
    likely_at REAL,
    likely_source TEXT,
    likely_cues TEXT,
    assured_at REAL,
    assured_source TEXT,
    assured_method TEXT,
    assured_adult INTEGER,
    PRIMARY KEY (tenant, user)
) WITHOUT ROWID
"""
_AGE_COLUMNS = (
    "likely_at, likely_source, likely_cues, assured_at, assured_source, assured_method, "
    "assured_adult"
)


def _with_age(profile: UserProfile, row: tuple[object, ...]) -> UserProfile:
    """The profile with its age evidence (a ``user_age_evidence`` row of ``_AGE_COLUMNS``)."""
    likely, l_src, cues, assured, a_src, method, adult = row
    return replace(
        profile,
        likely_minor_at=None if likely is None else from_epoch(float(cast(float, likely))),
        likely_minor_source=None if likely is None else cast(str | None, l_src),
        likely_minor_cues=tuple(str(cues).split(",")) if likely is not None and cues else (),
        age_assured_at=None if assured is None else from_epoch(float(cast(float, assured))),
        age_assured_adult=None if adult is None else bool(adult),
        age_assurance_source=cast(str | None, a_src),
        age_assurance_method=cast(str | None, method),
    )


_PROFILE_TABLE = """
CREATE TABLE IF NOT EXISTS user_profile (
    tenant TEXT NOT NULL,
    user TEXT NOT NULL,
    jurisdiction TEXT,
    jurisdiction_source TEXT,
    is_minor INTEGER,
    minor_source TEXT,
    timezone TEXT,
    timezone_source TEXT,
    PRIMARY KEY (tenant, user)
) WITHOUT ROWID
"""


_AUDIT_OUTBOX_TABLE = """
CREATE TABLE IF NOT EXISTS audit_outbox (
    pos INTEGER PRIMARY KEY AUTOINCREMENT,
    record_id TEXT NOT NULL UNIQUE,
    body TEXT NOT NULL,
    created REAL NOT NULL
)
"""


def _record(row: tuple[object, ...]) -> ConsentRecord:
    """A consent row (bot, opted_out, ts, arrival, source); rows older than the evidence
    columns arrived at their claimed time, from an unknown source."""
    ts = float(cast(float, row[2]))
    arrival = ts if row[3] is None else float(cast(float, row[3]))
    return ConsentRecord(bool(row[1]), ts, arrival, "legacy" if row[4] is None else str(row[4]))
