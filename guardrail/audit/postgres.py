"""The audit log in PostgreSQL, for several gateway replicas writing one chain.

Every append locks the single row of ``audit_head`` (``SELECT … FOR UPDATE``), reads the
head's seq and hash, inserts the sealed record and moves the head, all in one
transaction: replicas queue on that row lock, so there is one chain with no fork and no
gap whatever the number of writers. A commit returns only once PostgreSQL has made it
durable (``synchronous_commit`` as the server is configured), before the decision is
answered. A trigger refuses UPDATE and DELETE except inside a purge transaction.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import orjson
import psycopg

from guardrail.audit.backend import AuditBackend, AuditUnavailable, Checkpoint, PurgeDraft
from guardrail.audit.records import (
    GENESIS_HASH,
    AuditRecord,
    Columns,
    canonical_json,
    chain_hash_text,
)

_COLUMNS = (
    'seq, id, type, ts, tenant, bot, "user", verdict, rules, policy_version, body, prev_hash, hash'
)

_MIGRATION_LOCK = 0x6A7564  # any constant: serialises schema set-up across replicas

_SCHEMA = [
    """CREATE TABLE IF NOT EXISTS audit_records (
        seq BIGINT PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        type TEXT NOT NULL,
        ts DOUBLE PRECISION NOT NULL,
        tenant TEXT NOT NULL,
        bot TEXT,
        "user" TEXT,
        verdict TEXT,
        rules TEXT NOT NULL,
        policy_version TEXT,
        body TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS ix_audit_tenant_type ON audit_records (tenant, type, seq)",
    "CREATE INDEX IF NOT EXISTS ix_audit_tenant_ts ON audit_records (tenant, type, ts)",
    'CREATE INDEX IF NOT EXISTS ix_audit_user ON audit_records (tenant, "user", seq)',
    "CREATE INDEX IF NOT EXISTS ix_audit_ts ON audit_records (ts)",
    """CREATE TABLE IF NOT EXISTS audit_head (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        seq BIGINT NOT NULL,
        hash TEXT NOT NULL
    )""",
    f"INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '{GENESIS_HASH}')"
    " ON CONFLICT DO NOTHING",
    """CREATE TABLE IF NOT EXISTS audit_checkpoints (
        through_seq BIGINT PRIMARY KEY,
        body TEXT NOT NULL,
        signature TEXT NOT NULL
    )""",
    "CREATE TABLE IF NOT EXISTS audit_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE OR REPLACE FUNCTION guardrail_audit_append_only() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'DELETE' AND current_setting('guardrail.purging', true) = 'on' THEN
            RETURN OLD;
        END IF;
        RAISE EXCEPTION 'audit records are append-only';
    END $$""",
    "DROP TRIGGER IF EXISTS audit_records_append_only ON audit_records",
    """CREATE TRIGGER audit_records_append_only BEFORE UPDATE OR DELETE ON audit_records
    FOR EACH ROW EXECUTE FUNCTION guardrail_audit_append_only()""",
]


class PostgresAudit(AuditBackend):
    name = "postgres"
    inline = False
    _columns = _COLUMNS
    _mark = "%s"
    _find = "strpos"

    def __init__(self, url: str, *, connect_timeout: float = 5) -> None:
        self.url = url
        self._timeout = connect_timeout
        self._lock = threading.Lock()
        self._conn: psycopg.Connection[tuple[Any, ...]] | None = None
        with self._session() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            for statement in _SCHEMA:
                conn.execute(statement)

    @contextmanager
    def _session(self) -> Iterator[psycopg.Connection[tuple[Any, ...]]]:
        """The shared connection (reopened after a failure), one thread at a time."""
        with self._lock:
            try:
                if self._conn is None or self._conn.closed or self._conn.broken:
                    self._conn = psycopg.connect(
                        self.url, autocommit=True, connect_timeout=int(self._timeout)
                    )
                yield self._conn
            except psycopg.Error as exc:
                raise AuditUnavailable(f"PostgreSQL audit log unavailable: {exc}") from exc

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._session() as conn:
            return conn.execute(sql, params).fetchall()

    def meta(self, key: str, default: str) -> str:
        with self._session() as conn, conn.transaction():
            conn.execute(
                "INSERT INTO audit_meta (key, value) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                (key, default),
            )
            row = conn.execute("SELECT value FROM audit_meta WHERE key = %s", (key,)).fetchone()
        assert row is not None
        return str(row[0])

    def append(self, body: dict[str, Any], *, if_absent: bool = False) -> AuditRecord | None:
        cols = Columns.of(body)
        text = canonical_json(body)
        with self._session() as conn, conn.transaction():
            head = conn.execute("SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE")
            seq, prev = head.fetchone() or (0, GENESIS_HASH)
            if (
                if_absent
                and conn.execute("SELECT 1 FROM audit_records WHERE id = %s", (cols.id,)).fetchone()
            ):
                return None
            seq = int(seq) + 1
            digest = chain_hash_text(seq, str(prev), text)
            conn.execute(
                f"INSERT INTO audit_records ({_COLUMNS}) VALUES "
                "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (seq, cols.id, cols.type, cols.ts, cols.tenant, cols.bot, cols.user, cols.verdict,
                 cols.rules, cols.policy_version, text, prev, digest),
            )  # fmt: skip
            conn.execute("UPDATE audit_head SET seq = %s, hash = %s WHERE id = 1", (seq, digest))
        return AuditRecord(seq=seq, body=body, prev_hash=str(prev), hash=digest, columns=cols)

    def purge(
        self, before: datetime, seal: Callable[[PurgeDraft], Checkpoint]
    ) -> Checkpoint | None:
        with self._session() as conn, conn.transaction():
            head = conn.execute("SELECT seq FROM audit_head WHERE id = 1 FOR UPDATE").fetchone()
            top = int(head[0]) if head else 0
            first_kept = conn.execute(
                "SELECT MIN(seq) FROM audit_records WHERE ts >= %s", (before.timestamp(),)
            ).fetchone()
            cut = top + 1 if first_kept is None or first_kept[0] is None else int(first_kept[0])
            last = conn.execute(
                "SELECT seq, hash FROM audit_records WHERE seq < %s ORDER BY seq DESC LIMIT 1",
                (cut,),
            ).fetchone()
            if last is None:
                return None
            counted = conn.execute(
                "SELECT COUNT(*) FROM audit_records WHERE seq < %s", (cut,)
            ).fetchone()
            count = int(counted[0]) if counted else 0
            prev_row = conn.execute(
                "SELECT body, signature FROM audit_checkpoints ORDER BY through_seq DESC LIMIT 1"
            ).fetchone()
            previous = Checkpoint(orjson.loads(prev_row[0]), str(prev_row[1])) if prev_row else None
            checkpoint = seal(PurgeDraft(int(last[0]), str(last[1]), count, previous))
            conn.execute("SET LOCAL guardrail.purging = 'on'")
            conn.execute("DELETE FROM audit_records WHERE seq < %s", (cut,))
            conn.execute(
                "INSERT INTO audit_checkpoints (through_seq, body, signature) VALUES (%s, %s, %s)",
                (checkpoint.through_seq, canonical_json(checkpoint.body), checkpoint.signature),
            )
        return checkpoint

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
