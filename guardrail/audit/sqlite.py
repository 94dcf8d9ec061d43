"""The audit log in a SQLite file of its own (beside the state database by default).

Why a separate file: the state database is pruned and rewritten all the time, the audit
log only grows, and the two have different retention and access rules.

Durability: WAL journal with ``synchronous=NORMAL``. A commit is in the WAL file (the
operating system's page cache) before ``append`` returns, and the decision's HTTP answer
is only sent after that, so killing the process, even with ``kill -9``, loses no
acknowledged record: the OS still writes the page cache out. Only a power cut or kernel
crash can lose the last commits before the next WAL sync; ``audit_synchronous: FULL``
syncs the WAL on every commit and closes that gap too, at the cost of one fsync per
decision.

Appends take the write lock (``BEGIN IMMEDIATE``) before reading the head, so gateway
processes sharing the file serialise and never fork the chain. Triggers refuse UPDATE and
DELETE outside a purge: they stop accidents, not someone with the file (verification
does that). Schema version 2 adds the signed head row (``audit_head``); a version 1 file
gets the table when a gateway opens it, and its row when the trail adopts the head.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import orjson

from guardrail.audit.backend import (
    GENESIS_LINK,
    AuditBackend,
    AuditUnavailable,
    Checkpoint,
    HeadRow,
    PurgeDraft,
)
from guardrail.audit.records import AuditRecord, ChainSeal, Columns, canonical_json
from guardrail.sqlite_tx import connect_wal, transaction

SCHEMA_VERSION = 2

_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit_records (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    ts REAL NOT NULL,
    tenant TEXT NOT NULL,
    bot TEXT,
    user TEXT,
    verdict TEXT,
    rules TEXT NOT NULL,
    policy_version TEXT,
    body TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_audit_tenant_type ON audit_records (tenant, type, seq);
CREATE INDEX IF NOT EXISTS ix_audit_tenant_ts ON audit_records (tenant, type, ts);
CREATE INDEX IF NOT EXISTS ix_audit_user ON audit_records (tenant, user, seq);
CREATE INDEX IF NOT EXISTS ix_audit_ts ON audit_records (ts);

CREATE TABLE IF NOT EXISTS audit_checkpoints (
    through_seq INTEGER PRIMARY KEY,
    body TEXT NOT NULL,
    signature TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL,
    key_id TEXT NOT NULL,
    signature TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS audit_meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TRIGGER IF NOT EXISTS audit_records_no_update
BEFORE UPDATE ON audit_records
BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;

CREATE TRIGGER IF NOT EXISTS audit_records_no_delete
BEFORE DELETE ON audit_records
WHEN NOT EXISTS (SELECT 1 FROM audit_meta WHERE key = 'purging')
BEGIN SELECT RAISE(ABORT, 'audit records are removed only by a purge'); END;
"""

_COLUMNS = (
    "seq, id, type, ts, tenant, bot, user, verdict, rules, policy_version, body, prev_hash, hash"
)


def _statements(script: str) -> Iterator[str]:
    """Split a script into statements (trigger bodies hold semicolons of their own)."""
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            yield pending.strip()
            pending = ""


class SQLiteAudit(AuditBackend):
    name = "sqlite"
    inline = True
    _columns = _COLUMNS
    _mark = "?"
    _find = "instr"

    def __init__(
        self,
        path: str | Path,
        *,
        synchronous: Literal["NORMAL", "FULL"] = "NORMAL",
        read_only: bool = False,
    ):
        self.path = str(path)
        self.read_only = read_only
        if read_only:
            self._db = self._open_read_only()
            return
        try:
            self._db = connect_wal(self.path, synchronous)
            self._migrate()
        except sqlite3.Error as exc:
            raise AuditUnavailable(f"cannot open audit log {self.path!r}: {exc}") from exc

    def _open_read_only(self) -> sqlite3.Connection:
        """The file as it is: missing, not a database or without a log is an error."""
        if self.path == ":memory:" or not Path(self.path).is_file():
            raise AuditUnavailable(f"no audit log at {self.path!r}: no such file")
        # No -wal file: no process has the log open (SQLite removes it at the last close),
        # so read it as an immutable file, which leaves no -wal/-shm side files behind.
        # Otherwise share the writers' WAL, read-only.
        live = Path(f"{self.path}-wal").exists()
        mode = "mode=ro" if live else "mode=ro&immutable=1"
        try:
            db = sqlite3.connect(
                f"{Path(self.path).resolve().as_uri()}?{mode}",
                uri=True,
                isolation_level=None,
                check_same_thread=False,
            )
            db.execute("PRAGMA busy_timeout = 5000")
            tables = {
                name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")
            }
        except sqlite3.Error as exc:
            raise AuditUnavailable(f"cannot read audit log {self.path!r}: {exc}") from exc
        if "audit_records" not in tables:
            db.close()
            raise AuditUnavailable(
                f"{self.path!r} holds no audit log (no audit_records table); "
                "is it the state database? The audit log is <state db>-audit.db by default"
            )
        return db

    def stored_meta(self, key: str) -> str | None:
        rows = self._read("SELECT value FROM audit_meta WHERE key = ?", (key,))
        return str(rows[0][0]) if rows else None

    def _migrate(self) -> None:
        (version,) = self._db.execute("PRAGMA user_version").fetchone()
        if version > SCHEMA_VERSION:
            raise AuditUnavailable(
                f"audit log {self.path!r} has schema version {version}; this gateway "
                f"understands up to {SCHEMA_VERSION}"
            )
        with self._transaction() as db:
            for statement in _statements(_SCHEMA):
                db.execute(statement)
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        """A write transaction holding the file's write lock from its first statement."""
        if self.read_only:
            raise AuditUnavailable(f"audit log {self.path!r} is open read-only")
        return transaction(self._db, "IMMEDIATE", AuditUnavailable, f"audit log {self.path!r}")

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            return self._db.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise AuditUnavailable(f"audit log {self.path!r}: {exc}") from exc

    def meta(self, key: str, default: str) -> str:
        with self._transaction() as db:
            db.execute(
                "INSERT OR IGNORE INTO audit_meta (key, value) VALUES (?, ?)", (key, default)
            )
            (value,) = db.execute("SELECT value FROM audit_meta WHERE key = ?", (key,)).fetchone()
        return str(value)

    def delete_meta(self, key: str) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM audit_meta WHERE key = ?", (key,))

    @staticmethod
    def _head(db: sqlite3.Connection) -> tuple[int, str]:
        row = db.execute("SELECT seq, hash FROM audit_records ORDER BY seq DESC LIMIT 1").fetchone()
        if row is not None:
            return int(row[0]), str(row[1])
        mark = db.execute(
            "SELECT through_seq, body FROM audit_checkpoints ORDER BY through_seq DESC LIMIT 1"
        ).fetchone()
        if mark is not None:
            return int(mark[0]), str(orjson.loads(mark[1])["last_hash"])
        return GENESIS_LINK

    @staticmethod
    def _row(db: sqlite3.Connection) -> HeadRow | None:
        found = db.execute("SELECT seq, hash, key_id, signature FROM audit_head").fetchone()
        return None if found is None else HeadRow(int(found[0]), *map(str, found[1:]))

    def head_row(self) -> HeadRow | None:
        if not self._read("SELECT 1 FROM sqlite_master WHERE name = 'audit_head'"):
            return None  # a version 1 file, read as it is
        rows = self._read("SELECT seq, hash, key_id, signature FROM audit_head")
        return HeadRow(int(rows[0][0]), *map(str, rows[0][1:])) if rows else None

    def last_link(self) -> tuple[int, str]:
        try:
            return self._head(self._db)
        except sqlite3.Error as exc:
            raise AuditUnavailable(f"audit log {self.path!r}: {exc}") from exc

    @staticmethod
    def _put_row(db: sqlite3.Connection, seq: int, digest: str, key: ChainSeal) -> None:
        db.execute(
            "INSERT OR REPLACE INTO audit_head (id, seq, hash, key_id, signature)"
            " VALUES (1, ?, ?, ?, ?)",
            (seq, digest, key.key_id, key.sign_head_row(seq, digest)),
        )

    def adopt_head(self, key: ChainSeal, link: tuple[int, str]) -> None:
        with self._transaction() as db:
            if self._row(db) is None and self._head(db) == link:
                self._put_row(db, link[0], link[1], key)

    def append(
        self,
        body: dict[str, Any],
        *,
        if_absent: bool = False,
        rotate_from: ChainSeal | None = None,
    ) -> AuditRecord | None:
        cols = Columns.of(body)
        text = canonical_json(body)
        with self._transaction() as db:
            if (
                if_absent
                and db.execute("SELECT 1 FROM audit_records WHERE id = ?", (cols.id,)).fetchone()
            ):
                return None
            link, row = self._head(db), self._row(db)
            if row is None and link != GENESIS_LINK:
                raise AuditUnavailable(
                    f"audit log {self.path!r} has no head row: open it through the audit trail"
                )
            sealer = self._sealer(link, row, rotate_from)
            if sealer is None:
                return None
            seq, prev = link[0] + 1, link[1]
            digest = sealer.chain_hash(seq, prev, text)
            db.execute(
                f"INSERT INTO audit_records ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (seq, cols.id, cols.type, cols.ts, cols.tenant, cols.bot, cols.user, cols.verdict,
                 cols.rules, cols.policy_version, text, prev, digest),
            )  # fmt: skip
            self._put_row(db, seq, digest, self.seal)
        return AuditRecord(seq=seq, body=body, prev_hash=prev, hash=digest, columns=cols)

    def purge(
        self, before: datetime, seal: Callable[[PurgeDraft], Checkpoint]
    ) -> Checkpoint | None:
        with self._transaction() as db:
            head, _ = self._head(db)
            (cut,) = db.execute(
                "SELECT MIN(seq) FROM audit_records WHERE ts >= ?", (before.timestamp(),)
            ).fetchone()
            cut = head + 1 if cut is None else int(cut)
            last = db.execute(
                "SELECT seq, hash FROM audit_records WHERE seq < ? ORDER BY seq DESC LIMIT 1",
                (cut,),
            ).fetchone()
            if last is None:
                return None
            (count,) = db.execute(
                "SELECT COUNT(*) FROM audit_records WHERE seq < ?", (cut,)
            ).fetchone()
            rows = db.execute(
                "SELECT body, signature FROM audit_checkpoints ORDER BY through_seq DESC LIMIT 1"
            ).fetchall()
            previous = Checkpoint(orjson.loads(rows[0][0]), str(rows[0][1])) if rows else None
            checkpoint = seal(PurgeDraft(int(last[0]), str(last[1]), int(count), previous))
            db.execute("INSERT INTO audit_meta (key, value) VALUES ('purging', '1')")
            db.execute("DELETE FROM audit_records WHERE seq < ?", (cut,))
            db.execute("DELETE FROM audit_meta WHERE key = 'purging'")
            db.execute(
                "INSERT INTO audit_checkpoints (through_seq, body, signature) VALUES (?, ?, ?)",
                (checkpoint.through_seq, canonical_json(checkpoint.body), checkpoint.signature),
            )
        return checkpoint

    def close(self) -> None:
        self._db.close()
