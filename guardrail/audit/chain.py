"""Verifying the hash chain, record by record, from the genesis or the last checkpoint.

The verifier is fed records in ``seq`` order and stops at the first one that does not
match: a changed body or column (its hash or columns disagree), a removed record (a gap
in ``seq``), an inserted or reordered one (its ``prev_hash`` is not the previous hash).
Purge checkpoints are checked first: each must carry a valid HMAC from a configured key
and agree with the one before, and the remaining chain must start exactly where the last
one ends.

The end of the chain: the log keeps a head row (seq, hash, key) signed with the audit key,
rewritten with every append. The verifier checks its signature and that the records reach
it, so a log cut short or emptied fails even with no outside reference; only a rollback
to an older copy (records and head row together) needs one: a head published before
(``guardrail audit head``, the witness file or webhook), which the log must still hold.

Keys: every record names the key that sealed it (``hmac:<key id>:…``; the first keyed
logs do not, and their key is found by trying the ring). The first keyed record's key
must be configured; after it, the key may change only through a ``key_rotation`` record,
sealed with the old key and naming the new one. A record sealed with a key nobody
configured (a key planted in the log, say) or with another key than the chain's is named.

Keyed and plain records: a keyed hash needs the audit key; a plain SHA-256 (version 1,
logs from before the keyed chain) can be recomputed by anyone who can write the database.
So plain records are accepted only before the first keyed record, which binds them all
through its ``prev_hash``; a plain record after a keyed one is a rewrite, and a chain
whose head is plain, or a log with no signed head row, is refused unless the caller
accepts an old log as it is (``legacy``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from guardrail.audit.backend import Checkpoint, HeadRow
from guardrail.audit.keys import KeyRing
from guardrail.audit.pseudonym import AuditKey
from guardrail.audit.records import GENESIS_HASH, GLOBAL_TENANT, AuditRecord

OTHERS_PROBLEM = "a record of another tenant, or of the gateway, does not verify"
"""What a tenant's auditor is told of a break it does not own (the operator has the rest)."""


@dataclass(frozen=True)
class Verification:
    ok: bool
    checked: int
    head_seq: int
    head_hash: str
    checkpoint: dict[str, Any] | None = None
    bad_seq: int | None = None
    bad_id: str | None = None
    bad_tenant: str | None = None
    problem: str | None = None
    per_tenant: dict[str, int] = field(default_factory=dict)
    """Records verified, by tenant (a tenant's auditor sees only its own count)."""
    unkeyed: int = 0
    """Plain SHA-256 records verified (from before the keyed chain)."""
    keys: tuple[str, ...] = ()
    """Ids of the keys that sealed the records verified, in chain order."""
    published: dict[str, Any] | None = None
    """The published head the log was checked against (seq, time), if any."""

    def visible_to(self, tenant: str) -> int:
        """Records verified that this tenant's auditors can read: its own, and the
        gateway-wide ones (policy loads, purges, key rotations)."""
        return self.per_tenant.get(tenant, 0) + self.per_tenant.get(GLOBAL_TENANT, 0)

    def to_json(self, *, tenant: str | None = None) -> dict[str, Any]:
        """The result for a caller. With ``tenant``: only whether the chain holds, how
        many of that tenant's records were verified, and what is wrong with its own record
        if one is bad; nothing that tells how much other tenants write (no seq, no head,
        no checkpoint)."""
        if tenant is not None:
            bad: dict[str, Any] | None = None
            if not self.ok:
                own = self.bad_id is not None and self.bad_tenant == tenant
                bad = {"id": self.bad_id, "problem": self.problem} if own else {
                    "id": None, "problem": OTHERS_PROBLEM
                }  # fmt: skip
            return {
                "ok": self.ok,
                "checked": self.visible_to(tenant),
                "tenant": tenant,
                "first_bad": bad,
            }
        first_bad: dict[str, Any] | None = None
        if not self.ok:
            first_bad = {"seq": self.bad_seq, "problem": self.problem}
            if self.bad_id is not None:
                first_bad["id"] = self.bad_id
        return {
            "ok": self.ok,
            "checked": self.checked,
            "unkeyed": self.unkeyed,
            "head": {"seq": self.head_seq, "hash": self.head_hash},
            "checkpoint": self.checkpoint,
            "keys": list(self.keys),
            "published": self.published,
            "first_bad": first_bad,
        }


@dataclass(frozen=True)
class PublishedHead:
    """A head printed by ``guardrail audit head`` or written by the witness: where the
    chain stood, and when.

    Its signature is an HMAC under the audit key, so a key holder can tell a head the
    gateway's operator published from one made up later."""

    seq: int
    hash: str
    time: str
    key_id: str
    signature: str

    def document(self) -> dict[str, Any]:
        return {"seq": self.seq, "hash": self.hash, "time": self.time, "key_id": self.key_id}

    def to_json(self) -> dict[str, Any]:
        return {**self.document(), "signature": self.signature}

    @classmethod
    def sign(cls, key: AuditKey, seq: int, hash: str, time: str) -> PublishedHead:
        doc = {"seq": seq, "hash": hash, "time": time, "key_id": key.key_id}
        return cls(seq, hash, time, key.key_id, key.sign_head(doc))

    @classmethod
    def parse(cls, value: Any) -> PublishedHead:
        """From the printed JSON; ValueError when a field is missing or mistyped."""
        if not isinstance(value, dict):
            raise ValueError("a published head is a JSON object")
        try:
            return cls(
                int(value["seq"]),
                str(value["hash"]),
                str(value["time"]),
                str(value["key_id"]),
                str(value["signature"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a published head: {exc}") from exc

    def problem(self, keys: KeyRing) -> str | None:
        key = keys.get(self.key_id)
        if key is None:
            return (
                f"the published head was signed with another audit key (key id {self.key_id},"
                f" configured: {', '.join(keys.ids)})"
            )
        if not key.check_head(self.document(), self.signature):
            return "the published head's signature does not match its content"
        return None


Failure = tuple[int | None, str | None, str | None, str]
"""(seq, record id, tenant, problem) of the first thing that does not verify."""


class ChainVerifier:
    """Feed records in ``seq`` order; :meth:`result` says whether the chain holds.

    ``head_row``: the log's own head row, read before the records (None: the log has
    none); ``anchor``: start after this (seq, hash) instead of the genesis or the last
    checkpoint (a head verified before, so only the records since are checked)."""

    def __init__(
        self,
        checkpoints: list[Checkpoint],
        keys: KeyRing | AuditKey,
        *,
        legacy: bool = False,
        published: PublishedHead | None = None,
        head_row: HeadRow | None = None,
        anchor: tuple[int, str] | None = None,
    ) -> None:
        self.keys = keys if isinstance(keys, KeyRing) else KeyRing(keys)
        self.legacy, self.published, self.head_row = legacy, published, head_row
        self.per_tenant: Counter[str] = Counter()
        self.keyed_seen = False
        self.unkeyed = 0
        self.first_unkeyed: AuditRecord | None = None
        self.published_seen = False
        self.head_row_seen = False
        self.chain_key: str | None = None
        """The key that must seal the next keyed record (None: not known yet)."""
        self.key_ids: list[str] = []
        self.checked = 0
        self.expected_seq, self.expected_prev = 1, GENESIS_HASH
        self.checkpoint: dict[str, Any] | None = None
        self.failure: Failure | None = None
        if published is not None and (bad := published.problem(self.keys)) is not None:
            self.failure = (None, None, None, bad)
            return
        if (bad := self._head_row_problem()) is not None:
            self.failure = (None, None, None, bad)
            return
        previous: Checkpoint | None = None
        for mark in checkpoints:
            problem = _checkpoint_problem(mark, previous, self.keys)
            if problem is not None:
                problem = f"checkpoint through seq {mark.through_seq}: {problem}"
                self.failure = (None, None, None, problem)
                return
            previous = mark
        self.checkpoint_seq, self.checkpoint_hash = 0, GENESIS_HASH
        if previous is not None:
            self.checkpoint_seq, self.checkpoint_hash = previous.through_seq, previous.last_hash
            self.expected_seq = previous.through_seq + 1
            self.expected_prev = previous.last_hash
            self.checkpoint = {
                "through_seq": previous.through_seq,
                "purged_total": previous.body["purged_total"],
                "before": previous.body["before"],
                "created_at": previous.body["created_at"],
            }
        if anchor is not None:
            self.checkpoint_seq, self.checkpoint_hash = anchor
            self.expected_seq, self.expected_prev = anchor[0] + 1, anchor[1]
        self._at_start()

    @property
    def failed(self) -> bool:
        return self.failure is not None

    def _head_row_problem(self) -> str | None:
        row = self.head_row
        if row is None or row.signature is None or row.key_id is None:
            if self.legacy:
                return None
            return (
                "the log has no signed head row, so a cut or emptied log could not be told "
                "apart: a log from before signed heads gets one when a gateway opens it "
                "(or verify it as it is with legacy); otherwise the row was removed"
            )
        key = self.keys.get(row.key_id)
        if key is None:
            return (
                f"the head row is signed with key id {row.key_id}, which is not configured "
                f"(configured: {', '.join(self.keys.ids)})"
            )
        if not key.check_head_row(row.seq, row.hash, row.signature):
            return "the head row's signature does not match its content (the row was edited)"
        return None

    def _at_start(self) -> None:
        """The head row or published head may stand where the chain starts (a log that is
        empty, or whose records were all purged)."""
        seq, digest = self.expected_seq - 1, self.expected_prev
        row = self.head_row
        if row is not None and row.seq == seq:
            self.head_row_seen = True
            if row.hash != digest:
                self.failure = (None, None, None, "the head row differs from the log's start")
        mark = self.published
        if mark is not None and mark.seq == seq:
            self.published_seen = True
            if mark.hash != digest:
                self.failure = (None, None, None, "the published head differs from the log")

    def feed(self, record: AuditRecord) -> bool:
        """Check one record; False once the chain is broken (stop feeding then)."""
        if self.failure is not None:
            return False
        problem = self._problem(record)
        if problem is None:
            problem = self._rotation(record)
        if problem is None:
            problem = self._marks(record)
        if problem is not None:
            self.failure = (record.seq, record.id, record.tenant, problem)
            return False
        if not record.keyed:
            self.unkeyed += 1
            self.first_unkeyed = self.first_unkeyed or record
        self.per_tenant[record.tenant] += 1
        self.checked += 1
        self.expected_seq = record.seq + 1
        self.expected_prev = record.hash
        return True

    def _problem(self, record: AuditRecord) -> str | None:
        if record.seq != self.expected_seq:
            return (
                f"expected seq {self.expected_seq} next: records "
                f"{self.expected_seq}..{record.seq - 1} are missing"
                if record.seq > self.expected_seq
                else f"seq {record.seq} is out of order (expected {self.expected_seq})"
            )
        if record.prev_hash != self.expected_prev:
            return "prev_hash does not match the hash of the record before it"
        if not record.keyed:
            if self.keyed_seen:
                return (
                    "plain SHA-256 hash after keyed records: the chain was rewritten without "
                    "the audit key"
                )
            return record.problem(_plain)
        self.keyed_seen = True
        named = record.key_id
        if named is None:  # the first keyed logs: the key is the chain's, or found by trying
            candidates = [self.keys.get(self.chain_key)] if self.chain_key else self.keys.keys
            for key in candidates:
                if key is not None and record.problem(key.chain_hash_v2) is None:
                    self._sealed_by(key.key_id)
                    return None
            return record.problem(
                candidates[0].chain_hash_v2 if candidates and candidates[0] else _never
            )
        key = self.keys.get(named)
        if key is None:
            return (
                f"sealed with key id {named}, which is not configured (configured: "
                f"{', '.join(self.keys.ids)}): a key from somewhere else, such as one planted "
                "in the log, or a key missing from the configuration"
            )
        if self.chain_key is not None and named != self.chain_key:
            return (
                f"sealed with key id {named}, but the chain's key here is {self.chain_key} "
                "and no key_rotation record changed it"
            )
        problem = record.problem(key.chain_hash)
        if problem is None:
            self._sealed_by(named)
        return problem

    def _sealed_by(self, key_id: str) -> None:
        self.chain_key = key_id
        if not self.key_ids or self.key_ids[-1] != key_id:
            self.key_ids.append(key_id)

    def _rotation(self, record: AuditRecord) -> str | None:
        """A ``key_rotation`` record hands the chain to the key it names."""
        if record.type != "key_rotation":
            return None
        body = record.body
        if body.get("from_key") != self.chain_key:
            return (
                f"key rotation from key id {body.get('from_key')}, but it is sealed with "
                f"{self.chain_key}"
            )
        target = str(body.get("to_key"))
        if self.keys.get(target) is None:
            return (
                f"the chain rotated to key id {target}, which is not configured (configured: "
                f"{', '.join(self.keys.ids)}): configure it to verify what follows"
            )
        self.chain_key = target
        return None

    def _marks(self, record: AuditRecord) -> str | None:
        """The head row and the published head, where the record stands at their seq."""
        row = self.head_row
        if row is not None and record.seq == row.seq:
            self.head_row_seen = True
            if record.hash != row.hash:
                return "differs from the log's head row (the record or the row was changed)"
            if row.key_id is not None and self.chain_key not in (None, row.key_id):
                return (
                    f"the head row names key id {row.key_id}, but the chain's key here is "
                    f"{self.chain_key}"
                )
        mark = self.published
        if mark is not None and record.seq == mark.seq:
            self.published_seen = True
            if record.hash != mark.hash:
                return "differs from the published head (the log was rewritten since)"
        return None

    def _finish(self) -> None:
        """The checks only the end of the chain can make."""
        if self.failure is not None:
            return
        last = self.expected_seq - 1
        first = self.first_unkeyed
        if first is not None and not self.keyed_seen and not self.legacy:
            self.failure = (
                first.seq,
                first.id,
                first.tenant,
                f"the chain's head is not keyed: records {first.seq}..{last} carry plain "
                "SHA-256 hashes anyone who can write the log can recompute (an old log: "
                "accept it as it is with legacy, or let the gateway append to it)",
            )
            return
        row = self.head_row
        if row is not None and not self.head_row_seen:
            if row.seq > last:
                problem = (
                    f"the log's head row says it reaches seq {row.seq}, but its last record is "
                    f"seq {last}: records were cut off"
                )
            else:
                problem = f"the head row (seq {row.seq}) is before the log's start: purged?"
            self.failure = (None, None, None, problem)
            return
        mark = self.published
        if mark is not None and not self.published_seen:
            if mark.seq > last:
                problem = (
                    f"the published head (seq {mark.seq}) is past the log's head (seq {last}): "
                    "records were cut off"
                )
            else:
                problem = f"the published head (seq {mark.seq}) was purged"
            self.failure = (None, None, None, problem)

    def result(self) -> Verification:
        self._finish()
        head = (self.expected_seq - 1, self.expected_prev)
        extra: dict[str, Any] = {
            "per_tenant": dict(self.per_tenant),
            "unkeyed": self.unkeyed,
            "keys": tuple(self.key_ids),
            "published": (
                {"seq": self.published.seq, "time": self.published.time}
                if self.published is not None
                else None
            ),
        }
        if self.failure is None:
            return Verification(True, self.checked, *head, checkpoint=self.checkpoint, **extra)
        seq, rid, tenant, problem = self.failure
        return Verification(
            False, self.checked, *head, self.checkpoint, seq, rid, tenant, problem, **extra
        )


def _plain(seq: int, prev_hash: str, body_json: str) -> str:
    raise AssertionError("a plain record is checked with SHA-256, never sealed")


def _never(seq: int, prev_hash: str, body_json: str) -> str:
    return ""


def _checkpoint_problem(mark: Checkpoint, previous: Checkpoint | None, keys: KeyRing) -> str | None:
    body = mark.body
    key = keys.get(str(body.get("key_id")))
    if key is None:
        return (
            f"signed with another audit key (key id {body.get('key_id')}, configured: "
            f"{', '.join(keys.ids)}); configure the key it was made with"
        )
    if not key.check(body, mark.signature):
        return "signature does not match its content (checkpoint altered)"
    expected_prev = previous.signature if previous is not None else None
    if body.get("prev_signature") != expected_prev:
        return "does not follow the checkpoint before it"
    before_total = int(previous.body["purged_total"]) if previous is not None else 0
    if int(body["purged_total"]) != before_total + int(body["purged"]):
        return "purged_total does not add up"
    if int(body["purged_total"]) != mark.through_seq:
        return "purged_total differs from through_seq: records went missing before the purge"
    return None
