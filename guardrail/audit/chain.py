"""Verifying the hash chain, record by record, from the genesis or the last checkpoint.

The verifier is fed records in ``seq`` order and stops at the first one that does not
match: a changed body or column (its hash or columns disagree), a removed record (a gap
in ``seq``), an inserted or reordered one (its ``prev_hash`` is not the previous hash).
Purge checkpoints are checked first: each must carry a valid HMAC from the audit key and
agree with the one before, and the remaining chain must start exactly where the last
one ends. What a chain cannot show is its own tail being cut off; the result names the
head (seq and hash) so an auditor can compare it with one noted earlier, and a signed
head published before (``guardrail audit head``) can be checked against the log.

Keyed and plain records: a keyed hash (``hmac:…``) needs the audit key; a plain SHA-256
(version 1, logs from before the keyed chain) can be recomputed by anyone who can write
the database. So plain records are accepted only before the first keyed record, which
binds them all through its ``prev_hash``; a plain record after a keyed one is a rewrite,
and a chain whose head is plain is refused unless the caller accepts an old log as it is
(``legacy``): otherwise editing a record and recomputing a plain chain would pass.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from guardrail.audit.backend import Checkpoint
from guardrail.audit.pseudonym import AuditKey
from guardrail.audit.records import GENESIS_HASH, GLOBAL_TENANT, AuditRecord


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

    def visible_to(self, tenant: str) -> int:
        """Records verified that this tenant's auditors can read: its own, and the
        gateway-wide ones (policy loads, purges)."""
        return self.per_tenant.get(tenant, 0) + self.per_tenant.get(GLOBAL_TENANT, 0)

    def to_json(self, *, tenant: str | None = None) -> dict[str, Any]:
        """The result for a caller; with ``tenant``, only the count of records that tenant
        can read and the chain's head (a bad record of another tenant is named by seq only)."""
        bad: dict[str, Any] | None = None
        if not self.ok:
            bad = {"seq": self.bad_seq, "problem": self.problem}
            if self.bad_id is not None and (tenant is None or tenant == self.bad_tenant):
                bad["id"] = self.bad_id
        return {
            "ok": self.ok,
            "checked": self.checked if tenant is None else self.visible_to(tenant),
            **({"tenant": tenant} if tenant is not None else {"unkeyed": self.unkeyed}),
            "head": {"seq": self.head_seq, "hash": self.head_hash},
            "checkpoint": self.checkpoint,
            "first_bad": bad,
        }


@dataclass(frozen=True)
class PublishedHead:
    """A head printed by ``guardrail audit head``: where the chain stood, and when.

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

    def problem(self, key: AuditKey) -> str | None:
        if self.key_id != key.key_id:
            return f"the published head was signed with another audit key (key id {self.key_id})"
        if not key.check_head(self.document(), self.signature):
            return "the published head's signature does not match its content"
        return None


class ChainVerifier:
    """Feed records in ``seq`` order; :meth:`result` says whether the chain holds."""

    def __init__(
        self,
        checkpoints: list[Checkpoint],
        key: AuditKey,
        *,
        legacy: bool = False,
        published: PublishedHead | None = None,
    ) -> None:
        self.key, self.legacy, self.published = key, legacy, published
        self.per_tenant: Counter[str] = Counter()
        self.keyed_seen = False
        self.unkeyed = 0
        self.first_unkeyed: AuditRecord | None = None
        self.published_seen = False
        self.checked = 0
        self.expected_seq, self.expected_prev = 1, GENESIS_HASH
        self.checkpoint: dict[str, Any] | None = None
        self.failure: tuple[int | None, str | None, str | None, str] | None = None
        if published is not None and (bad := published.problem(key)) is not None:
            self.failure = (None, None, None, bad)
            return
        previous: Checkpoint | None = None
        for mark in checkpoints:
            problem = _checkpoint_problem(mark, previous, key)
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

    @property
    def failed(self) -> bool:
        return self.failure is not None

    def feed(self, record: AuditRecord) -> bool:
        """Check one record; False once the chain is broken (stop feeding then)."""
        if self.failure is not None:
            return False
        problem: str | None = None
        if record.seq != self.expected_seq:
            problem = (
                f"expected seq {self.expected_seq} next: records "
                f"{self.expected_seq}..{record.seq - 1} are missing"
                if record.seq > self.expected_seq
                else f"seq {record.seq} is out of order (expected {self.expected_seq})"
            )
        elif record.prev_hash != self.expected_prev:
            problem = "prev_hash does not match the hash of the record before it"
        elif self.keyed_seen and not record.keyed:
            problem = (
                "plain SHA-256 hash after keyed records: the chain was rewritten without "
                "the audit key"
            )
        else:
            problem = record.problem(self.key.chain_hash)
        if problem is None and self.published is not None and record.seq == self.published.seq:
            self.published_seen = True
            if record.hash != self.published.hash:
                problem = "differs from the published head (the log was rewritten since)"
        if problem is not None:
            self.failure = (record.seq, record.id, record.tenant, problem)
            return False
        if record.keyed:
            self.keyed_seen = True
        else:
            self.unkeyed += 1
            self.first_unkeyed = self.first_unkeyed or record
        self.per_tenant[record.tenant] += 1
        self.checked += 1
        self.expected_seq = record.seq + 1
        self.expected_prev = record.hash
        return True

    def _finish(self) -> None:
        """The checks only the end of the chain can make."""
        if self.failure is not None:
            return
        first = self.first_unkeyed
        if first is not None and not self.keyed_seen and not self.legacy:
            self.failure = (
                first.seq,
                first.id,
                first.tenant,
                f"the chain's head is not keyed: records {first.seq}..{self.expected_seq - 1} "
                "carry plain SHA-256 hashes anyone who can write the log can recompute (an "
                "old log: accept it as it is with legacy, or let the gateway append to it)",
            )
        mark = self.published
        if mark is not None and not self.published_seen:
            if self.checkpoint is not None and mark.seq == self.checkpoint_seq:
                if self.checkpoint_hash != mark.hash:
                    self.failure = (None, None, None, "the published head differs from the log")
            elif mark.seq >= self.expected_seq:
                self.failure = (
                    None,
                    None,
                    None,
                    f"the published head (seq {mark.seq}) is past the log's head (seq "
                    f"{self.expected_seq - 1}): records were cut off",
                )
            else:
                self.failure = (
                    None, None, None, f"the published head (seq {mark.seq}) was purged"
                )  # fmt: skip

    def result(self) -> Verification:
        self._finish()
        head = (self.expected_seq - 1, self.expected_prev)
        extra: dict[str, Any] = {"per_tenant": dict(self.per_tenant), "unkeyed": self.unkeyed}
        if self.failure is None:
            return Verification(True, self.checked, *head, checkpoint=self.checkpoint, **extra)
        seq, rid, tenant, problem = self.failure
        return Verification(
            False, self.checked, *head, self.checkpoint, seq, rid, tenant, problem, **extra
        )


def _checkpoint_problem(mark: Checkpoint, previous: Checkpoint | None, key: AuditKey) -> str | None:
    body = mark.body
    if body.get("key_id") != key.key_id:
        return (
            f"signed with another audit key (key id {body.get('key_id')}, this one is "
            f"{key.key_id}); configure the key it was made with"
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
