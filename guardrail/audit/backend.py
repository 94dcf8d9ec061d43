"""The storage interface behind the audit trail, and what its backends share.

Backends are synchronous on purpose: the SQLite one answers in well under a millisecond
and runs inline on the event loop (as the state store does), the PostgreSQL one runs in
a worker thread; the CLI uses both directly. Each ``append`` reads the chain head, seals
the new record and inserts it in one transaction that holds the chain's write lock, so
several processes or replicas appending at once still build one unbroken chain.

Record hashes are keyed: :class:`~guardrail.audit.trail.AuditTrail` hands its backend the
audit key's sealer (:meth:`AuditBackend.use_key`) before the first append. A backend
opened ``read_only`` (the ``guardrail audit`` commands that only read) never creates a
table, stores a meta value or appends, and refuses a file or database without a log.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from guardrail.audit.records import GLOBAL_TENANT, AuditRecord, Columns, Sealer


class AuditUnavailable(RuntimeError):
    """The audit log cannot be written or read; a decision must not be acknowledged."""


@dataclass(frozen=True)
class RecordFilter:
    """Which records a query, an export or a report looks at (every field narrows)."""

    tenant: str | None = None
    """None: every tenant (the CLI, run by whoever holds the database)."""
    include_global: bool = False
    """Also records of no single tenant (gateway-wide policy reloads)."""
    types: tuple[str, ...] | None = ("decision",)
    since: datetime | None = None
    """Inclusive lower bound on the record's time."""
    until: datetime | None = None
    """Exclusive upper bound."""
    bot: str | None = None
    user: str | None = None
    """A pseudonym (see :meth:`AuditKey.pseudonym`), never a raw user id."""
    verdict: str | None = None
    rule: str | None = None
    """A rule id, or a family such as ``manipulation.*``."""
    policy_version: str | None = None
    text_hash: str | None = None
    """A text hash any field of the record holds (``text_sha256``, ``delivered_sha256``):
    matched as a whole JSON string in the stored body, so it needs no column."""

    def sql(self, mark: str, find: str) -> tuple[str, list[Any]]:
        """A WHERE clause with ``mark`` placeholders; ``find(haystack, needle)`` is the
        dialect's substring-position function (``instr`` or ``strpos``)."""
        clauses: list[str] = []
        params: list[Any] = []
        if self.tenant is not None:
            if self.include_global:
                clauses.append(f"tenant IN ({mark}, {mark})")
                params += [self.tenant, GLOBAL_TENANT]
            else:
                clauses.append(f"tenant = {mark}")
                params.append(self.tenant)
        if self.types is not None:
            clauses.append(f"type IN ({', '.join(mark for _ in self.types)})")
            params += list(self.types)
        if self.since is not None:
            clauses.append(f"ts >= {mark}")
            params.append(self.since.timestamp())
        if self.until is not None:
            clauses.append(f"ts < {mark}")
            params.append(self.until.timestamp())
        for column in ("bot", "user", "verdict", "policy_version"):
            value = getattr(self, column)
            if value is not None:
                clauses.append(f'"{column}" = {mark}')
                params.append(value)
        if self.rule:
            needle = f"|{self.rule[:-1]}" if self.rule.endswith("*") else f"|{self.rule}|"
            clauses.append(f"{find}(rules, {mark}) > 0")
            params.append(needle)
        if self.text_hash:
            clauses.append(f"{find}(body, {mark}) > 0")
            params.append(f'"{self.text_hash}"')  # canonical JSON: the value, quoted
        return (" AND ".join(clauses) or "1 = 1"), params


EVERYTHING = RecordFilter(types=None)


@dataclass(frozen=True)
class Checkpoint:
    """What a purge leaves behind: where the remaining chain starts, signed with the key.

    ``body`` holds ``through_seq`` (last purged seq), ``last_hash`` (its hash),
    ``purged`` (records removed by this purge), ``purged_total``, ``before``,
    ``created_at``, ``key_id`` and ``prev_signature`` (the checkpoint before, if any).
    """

    body: dict[str, Any]
    signature: str

    @property
    def through_seq(self) -> int:
        return int(self.body["through_seq"])

    @property
    def last_hash(self) -> str:
        return str(self.body["last_hash"])


@dataclass(frozen=True)
class PurgeDraft:
    """What a backend found under its lock; :class:`AuditTrail` turns it into a checkpoint."""

    through_seq: int
    last_hash: str
    purged: int
    previous: Checkpoint | None = field(default=None)


def _record(row: tuple[Any, ...]) -> AuditRecord:
    seq, rid, rtype, ts, tenant, bot, user, verdict, rules, version, body, prev, digest = row
    return AuditRecord(
        seq=int(seq),
        body=orjson.loads(body),
        prev_hash=str(prev),
        hash=str(digest),
        columns=Columns(rid, rtype, float(ts), tenant, bot, user, verdict, rules, version),
    )


class AuditBackend(ABC):
    """What a backend stores and how; the reads are the same SQL on every backend.

    A backend names its dialect (``_columns``, the ``_mark`` placeholder, the ``_find``
    substring-position function) and runs a query with :meth:`_read`.
    """

    name: str
    inline: bool
    """True when calls are quick and local enough to run on the event loop."""
    _columns: str
    """``audit_records``' columns in :func:`_record` order, quoted as the dialect needs."""
    _mark: str
    _find: str
    read_only: bool = False
    _seal: Sealer | None = None

    def use_key(self, seal: Sealer) -> None:
        """The audit key's :meth:`~guardrail.audit.pseudonym.AuditKey.chain_hash`."""
        self._seal = seal

    def _hash(self, seq: int, prev_hash: str, body_json: str) -> str:
        if self.read_only:
            raise AuditUnavailable("the audit log is open read-only")
        if self._seal is None:
            raise AuditUnavailable("no audit key given to the backend: cannot seal a record")
        return self._seal(seq, prev_hash, body_json)

    @abstractmethod
    def stored_meta(self, key: str) -> str | None:
        """The stored value of ``key``, without storing anything."""

    @abstractmethod
    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """The rows of one query; a failure is :class:`AuditUnavailable`."""

    @abstractmethod
    def meta(self, key: str, default: str) -> str:
        """The stored value of ``key``; ``default`` is stored first when there is none."""

    @abstractmethod
    def append(self, body: dict[str, Any], *, if_absent: bool = False) -> AuditRecord | None:
        """Seal and store one record at the head of the chain.

        With ``if_absent``, a record whose id is already stored is not added again (None).
        """

    def get(self, record_id: str) -> AuditRecord | None:
        sql = f"SELECT {self._columns} FROM audit_records WHERE id = {self._mark}"
        rows = self._read(sql, (record_id,))
        return _record(rows[0]) if rows else None

    def page(
        self,
        flt: RecordFilter,
        *,
        limit: int,
        after_seq: int | None = None,
        before_seq: int | None = None,
        descending: bool = False,
    ) -> list[AuditRecord]:
        mark = self._mark
        where, params = flt.sql(mark, self._find)
        if after_seq is not None:
            where += f" AND seq > {mark}"
            params.append(after_seq)
        if before_seq is not None:
            where += f" AND seq < {mark}"
            params.append(before_seq)
        order = "DESC" if descending else "ASC"
        sql = (
            f"SELECT {self._columns} FROM audit_records WHERE {where}"
            f" ORDER BY seq {order} LIMIT {mark}"
        )
        return [_record(row) for row in self._read(sql, [*params, limit])]

    def checkpoints(self) -> list[Checkpoint]:
        """Every checkpoint, oldest first."""
        rows = self._read("SELECT body, signature FROM audit_checkpoints ORDER BY through_seq")
        return [Checkpoint(body=orjson.loads(body), signature=str(sig)) for body, sig in rows]

    @abstractmethod
    def purge(
        self, before: datetime, seal: Callable[[PurgeDraft], Checkpoint]
    ) -> Checkpoint | None:
        """Remove the longest prefix of the chain older than ``before``; store its checkpoint."""

    @abstractmethod
    def close(self) -> None: ...
