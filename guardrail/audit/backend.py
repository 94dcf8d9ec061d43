"""The storage interface behind the audit trail, and what its backends share.

Backends are synchronous on purpose: the SQLite one answers in well under a millisecond
and runs inline on the event loop (as the state store does), the PostgreSQL one runs in
a worker thread; the CLI uses both directly. Each ``append`` reads the chain head, seals
the new record and inserts it in one transaction that holds the chain's write lock, so
several processes or replicas appending at once still build one unbroken chain.

Record hashes are keyed: :class:`~guardrail.audit.trail.AuditTrail` hands its backend the
current audit key (:meth:`AuditBackend.use_key`) before the first append. Each append also
rewrites the log's *head row* (seq, hash, the key that seals the next record, and that
key's signature over them) in the same transaction: a log cut short, or emptied, no
longer matches its head row, and nobody without the key can sign a new one. An append
refuses to go on when the head row and the last record disagree (the log was cut or
edited: appending would bury the evidence), or when the head row names another key than
the one it was given (:class:`KeyChanged`: the trail then records a rotation, or
refuses). A backend opened ``read_only`` (the ``guardrail audit`` commands that only read)
never creates a table, stores a meta value or appends, and refuses a file or database
without a log.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from guardrail.audit.records import GENESIS_HASH, GLOBAL_TENANT, AuditRecord, ChainSeal, Columns


class AuditUnavailable(RuntimeError):
    """The audit log cannot be written or read; a decision must not be acknowledged."""


class KeyChanged(AuditUnavailable):
    """The chain's head names another key than the one this backend seals with."""

    def __init__(self, head_key: str) -> None:
        super().__init__(
            f"the audit chain is sealed with key id {head_key}, not this process's key"
        )
        self.head_key = head_key


@dataclass(frozen=True)
class HeadRow:
    """What the log says its head is: the last seq and hash, the key that seals the next
    record, and that key's signature (:meth:`AuditKey.sign_head_row`). ``key_id`` and
    ``signature`` are None in a PostgreSQL log from before signed heads."""

    seq: int
    hash: str
    key_id: str | None
    signature: str | None


GENESIS_LINK = (0, GENESIS_HASH)


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
    user: str | tuple[str, ...] | None = None
    """A pseudonym (see :meth:`AuditKey.pseudonym`), never a raw user id; several: the
    user's pseudonyms under each key of the ring (records from before a rotation too)."""
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
        if isinstance(self.user, tuple):
            clauses.append(f'"user" IN ({", ".join(mark for _ in self.user)})')
            params += list(self.user)
        for column in ("bot", "user", "verdict", "policy_version"):
            value = getattr(self, column)
            if value is not None and not isinstance(value, tuple):
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
    _seal: ChainSeal | None = None

    def use_key(self, seal: ChainSeal) -> None:
        """The current audit key: it seals new records and signs the head row."""
        self._seal = seal

    @property
    def seal(self) -> ChainSeal:
        if self.read_only:
            raise AuditUnavailable("the audit log is open read-only")
        if self._seal is None:
            raise AuditUnavailable("no audit key given to the backend: cannot seal a record")
        return self._seal

    def _sealer(
        self, link: tuple[int, str], row: HeadRow | None, rotate_from: ChainSeal | None
    ) -> ChainSeal | None:
        """Which key seals the next record, under the chain's lock; None: nothing to do (a
        rotation another process made first). ``link``: the last record's (seq, hash)."""
        seal = self.seal
        if row is not None and (row.seq, row.hash) != link:
            raise AuditUnavailable(
                f"the audit log's head row (seq {row.seq}) does not match its last record "
                f"(seq {link[0]}): records were cut off or edited; refusing to append over "
                "them (run `guardrail audit verify`)"
            )
        head_key = row.key_id if row is not None else None
        if rotate_from is not None:
            if head_key == seal.key_id:
                return None
            if head_key not in (None, rotate_from.key_id):
                raise KeyChanged(str(head_key))
            return rotate_from
        if head_key is not None and head_key != seal.key_id:
            raise KeyChanged(head_key)
        return seal

    @abstractmethod
    def head_row(self) -> HeadRow | None:
        """The stored head row; None when the log has none (from before signed heads)."""

    @abstractmethod
    def last_link(self) -> tuple[int, str]:
        """(seq, hash) of the last record, else of the last checkpoint, else the genesis."""

    @abstractmethod
    def adopt_head(self, key: ChainSeal, link: tuple[int, str]) -> None:
        """Write a signed head row for a log without one (or an unsigned one), when its
        last link is still ``link`` (checked under the chain's lock); ``key`` is the key
        of the head record, which must seal the next one."""

    @abstractmethod
    def delete_meta(self, key: str) -> None:
        """Remove a meta value (a key an older release kept in the log)."""

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
    def append(
        self,
        body: dict[str, Any],
        *,
        if_absent: bool = False,
        rotate_from: ChainSeal | None = None,
    ) -> AuditRecord | None:
        """Seal and store one record at the head of the chain.

        With ``if_absent``, a record whose id is already stored is not added again (None).
        ``rotate_from``: ``body`` is a key rotation, sealed with that (older) key while the
        head row names it; from then on the head row names this backend's key. None when
        the head already names this backend's key (another process rotated first).
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
