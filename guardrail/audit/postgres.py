"""The audit log in PostgreSQL, for several gateway replicas writing one chain.

Every append transaction locks the single row of ``audit_head`` (``SELECT … FOR UPDATE``),
reads the head's seq and hash, checks them against the last record (a log cut short or
edited behind the head row is refused, not appended to), inserts the sealed records and
moves the head, signed with the audit key: replicas queue on that row lock, so there is
one chain with no fork and no gap whatever the number of writers. A commit returns only
once PostgreSQL has made it durable (``synchronous_commit`` as the server is configured),
before any decision in it is answered. A trigger refuses UPDATE and DELETE except inside
a purge transaction.

Throughput: the row lock is held for a few round trips and one commit flush, so one
record per transaction caps the whole fleet at one flush per record. Appends that arrive
while this process's writer is busy therefore wait and go in the writer's next
transaction together (group commit): one lock, one flush for the batch. Reads use a
connection pool, so queries and exports never wait behind the writer.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
import psycopg
from psycopg_pool import ConnectionPool

from guardrail.audit.backend import (
    GENESIS_LINK,
    AuditBackend,
    AuditUnavailable,
    Checkpoint,
    HeadRow,
    PurgeDraft,
)
from guardrail.audit.records import GENESIS_HASH, AuditRecord, ChainSeal, Columns, canonical_json

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
    # Signed heads (NULL in a log from before them, until a gateway adopts its head).
    "ALTER TABLE audit_head ADD COLUMN IF NOT EXISTS key_id TEXT",
    "ALTER TABLE audit_head ADD COLUMN IF NOT EXISTS signature TEXT",
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


@dataclass
class _Pending:
    """One append waiting for a writer: its body, then its record or its error."""

    body: dict[str, Any]
    if_absent: bool
    rotate_from: ChainSeal | None = None
    done: bool = False
    record: AuditRecord | None = None
    error: Exception | None = None


class PostgresAudit(AuditBackend):
    name = "postgres"
    inline = False
    _columns = _COLUMNS
    _mark = "%s"
    _find = "strpos"

    def __init__(
        self,
        url: str,
        *,
        connect_timeout: float = 5,
        pool_size: int = 8,
        read_only: bool = False,
    ) -> None:
        self.url = url
        self.read_only = read_only
        self._timeout = connect_timeout
        self._writer = threading.Lock()
        self._queue_lock = threading.Lock()
        self._queue: list[_Pending] = []
        try:
            with psycopg.connect(url, autocommit=True, connect_timeout=int(connect_timeout)) as c:
                if read_only:
                    found = c.execute("SELECT to_regclass('audit_records')").fetchone()
                    if found is None or found[0] is None:
                        raise AuditUnavailable(
                            "this database holds no audit log (no audit_records table in its "
                            "search path); check the URL"
                        )
                else:
                    with c.transaction():
                        c.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
                        for statement in _SCHEMA:
                            c.execute(statement)
        except psycopg.Error as exc:
            raise AuditUnavailable(f"PostgreSQL audit log unavailable: {exc}") from exc
        self._pool: ConnectionPool[psycopg.Connection[tuple[Any, ...]]] = ConnectionPool(
            url,
            min_size=1,
            max_size=max(2, pool_size),
            kwargs={"autocommit": True, "connect_timeout": int(connect_timeout)},
            configure=self._configure,
            timeout=connect_timeout,
            open=True,
        )

    def _configure(self, conn: psycopg.Connection[tuple[Any, ...]]) -> None:
        if self.read_only:
            conn.execute("SET default_transaction_read_only = on")

    @contextmanager
    def _session(self) -> Iterator[psycopg.Connection[tuple[Any, ...]]]:
        """A pooled connection (a broken one is replaced by the pool)."""
        try:
            with self._pool.connection() as conn:
                yield conn
        except psycopg.Error as exc:
            raise AuditUnavailable(f"PostgreSQL audit log unavailable: {exc}") from exc

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._session() as conn:
            return conn.execute(sql, params).fetchall()

    def stored_meta(self, key: str) -> str | None:
        rows = self._read("SELECT value FROM audit_meta WHERE key = %s", (key,))
        return str(rows[0][0]) if rows else None

    def delete_meta(self, key: str) -> None:
        if self.read_only:
            raise AuditUnavailable("the audit log is open read-only")
        with self._session() as conn:
            conn.execute("DELETE FROM audit_meta WHERE key = %s", (key,))

    def head_row(self) -> HeadRow | None:
        rows = self._read("SELECT seq, hash, key_id, signature FROM audit_head WHERE id = 1")
        if not rows:
            return None
        seq, digest, key_id, signature = rows[0]
        return HeadRow(int(seq), str(digest), key_id, signature)

    def last_link(self) -> tuple[int, str]:
        with self._session() as conn:
            return _last_link(conn)

    def adopt_head(self, key: ChainSeal, link: tuple[int, str]) -> None:
        if self.read_only:
            raise AuditUnavailable("the audit log is open read-only")
        with self._session() as conn, conn.transaction():
            row = conn.execute(
                "SELECT seq, hash, signature FROM audit_head WHERE id = 1 FOR UPDATE"
            ).fetchone()
            if row is not None and row[2] is not None:
                return
            if _last_link(conn) != link:
                return
            if row is not None and (int(row[0]), str(row[1])) != link:
                raise AuditUnavailable(
                    f"the audit log's head row (seq {row[0]}) does not match its last record "
                    f"(seq {link[0]}): records were cut off or edited; refusing to sign it"
                )
            conn.execute(
                "INSERT INTO audit_head (id, seq, hash, key_id, signature)"
                " VALUES (1, %s, %s, %s, %s) ON CONFLICT (id) DO UPDATE SET seq = EXCLUDED.seq,"
                " hash = EXCLUDED.hash, key_id = EXCLUDED.key_id, signature = EXCLUDED.signature",
                (link[0], link[1], key.key_id, key.sign_head_row(*link)),
            )

    def meta(self, key: str, default: str) -> str:
        if self.read_only:
            raise AuditUnavailable("the audit log is open read-only")
        with self._session() as conn, conn.transaction():
            conn.execute(
                "INSERT INTO audit_meta (key, value) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                (key, default),
            )
            row = conn.execute("SELECT value FROM audit_meta WHERE key = %s", (key,)).fetchone()
        assert row is not None
        return str(row[0])

    def append(
        self,
        body: dict[str, Any],
        *,
        if_absent: bool = False,
        rotate_from: ChainSeal | None = None,
    ) -> AuditRecord | None:
        if self.read_only:
            raise AuditUnavailable("the audit log is open read-only")
        mine = _Pending(body, if_absent, rotate_from)
        with self._queue_lock:
            self._queue.append(mine)
        with self._writer:  # whoever gets it writes everything queued so far
            if not mine.done:
                self._write()
        if not mine.done:  # never silently dropped
            raise AuditUnavailable("the audit record was not written")
        if mine.error is not None:
            raise mine.error
        return mine.record

    def _take(self) -> list[_Pending]:
        with self._queue_lock:
            batch, self._queue = self._queue, []
        return batch

    def _write(self) -> None:
        """Everything queued in one transaction; if that fails, each alone (one bad
        record must not fail the others)."""
        taken: list[_Pending] = []
        try:
            self._transaction(None, taken)
        except Exception as exc:
            if len(taken) <= 1:
                for item in taken or self._take():
                    item.error, item.done = exc, True
                return
            for item in taken:
                try:
                    self._transaction([item], [])
                except Exception as single:
                    item.error, item.done = single, True

    def _transaction(self, batch: list[_Pending] | None, taken: list[_Pending]) -> None:
        """Append ``batch``, or (None) whatever is queued once the chain's row lock is
        held: appends that arrive while another replica holds it join this commit."""
        records: list[tuple[_Pending, AuditRecord | None]] = []
        with self._session() as conn, conn.transaction():
            found = conn.execute(
                "SELECT seq, hash, key_id, signature FROM audit_head WHERE id = 1 FOR UPDATE"
            ).fetchone()
            if found is None:
                raise AuditUnavailable(
                    "the audit log has no head row (it was removed): refusing to append; run "
                    "`guardrail audit verify`"
                )
            row = HeadRow(int(found[0]), str(found[1]), *found[2:])
            link = _last_link(conn)
            seq, prev = link
            batch = batch if batch is not None else self._take()
            taken.extend(batch)
            wanted = [str(item.body["id"]) for item in batch if item.if_absent]
            present = (
                {str(r[0]) for r in conn.execute(
                    "SELECT id FROM audit_records WHERE id = ANY(%s)", (wanted,)
                )}
                if wanted
                else set()
            )  # fmt: skip
            rows = []
            for item in batch:
                cols = Columns.of(item.body)
                if item.if_absent and cols.id in present:
                    records.append((item, None))
                    continue
                sealer = self._sealer((seq, prev), row, item.rotate_from)
                if sealer is None:
                    records.append((item, None))
                    continue
                present.add(cols.id)
                text = canonical_json(item.body)
                seq += 1
                digest = sealer.chain_hash(seq, prev, text)
                row = HeadRow(seq, digest, self.seal.key_id, None)
                rows.append(
                    (seq, cols.id, cols.type, cols.ts, cols.tenant, cols.bot, cols.user,
                     cols.verdict, cols.rules, cols.policy_version, text, prev, digest)
                )  # fmt: skip
                records.append((item, AuditRecord(seq, item.body, prev, digest, cols)))
                prev = digest
            if rows:
                with conn.cursor() as cur:
                    cur.executemany(
                        f"INSERT INTO audit_records ({_COLUMNS}) VALUES "
                        "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                        rows,
                    )
                seal = self.seal
                conn.execute(
                    "UPDATE audit_head SET seq = %s, hash = %s, key_id = %s, signature = %s"
                    " WHERE id = 1",
                    (seq, prev, seal.key_id, seal.sign_head_row(seq, prev)),
                )
        for item, record in records:  # only once committed
            item.record, item.done = record, True

    def purge(
        self, before: datetime, seal: Callable[[PurgeDraft], Checkpoint]
    ) -> Checkpoint | None:
        if self.read_only:
            raise AuditUnavailable("the audit log is open read-only")
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
        self._pool.close()


def _last_link(conn: psycopg.Connection[tuple[Any, ...]]) -> tuple[int, str]:
    """(seq, hash) of the last record, else of the last checkpoint, else the genesis."""
    row = conn.execute("SELECT seq, hash FROM audit_records ORDER BY seq DESC LIMIT 1").fetchone()
    if row is not None:
        return int(row[0]), str(row[1])
    mark = conn.execute(
        "SELECT through_seq, body FROM audit_checkpoints ORDER BY through_seq DESC LIMIT 1"
    ).fetchone()
    if mark is not None:
        return int(mark[0]), str(orjson.loads(mark[1])["last_hash"])
    return GENESIS_LINK
