"""Verifying the hash chain, record by record, from the genesis or the last checkpoint.

The verifier is fed records in ``seq`` order and stops at the first one that does not
match: a changed body or column (its hash or columns disagree), a removed record (a gap
in ``seq``), an inserted or reordered one (its ``prev_hash`` is not the previous hash).
Purge checkpoints are checked first: each must carry a valid HMAC from the audit key and
agree with the one before, and the remaining chain must start exactly where the last
one ends. What a chain cannot show is its own tail being cut off; the result names the
head (seq and hash) so an auditor can compare it with one noted earlier.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from guardrail.audit.backend import Checkpoint
from guardrail.audit.pseudonym import AuditKey
from guardrail.audit.records import GENESIS_HASH, AuditRecord


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

    def to_json(self, *, tenant: str | None = None) -> dict[str, Any]:
        """The result for a caller; a bad record of another tenant is named by seq only."""
        bad: dict[str, Any] | None = None
        if not self.ok:
            bad = {"seq": self.bad_seq, "problem": self.problem}
            if self.bad_id is not None and (tenant is None or tenant == self.bad_tenant):
                bad["id"] = self.bad_id
        return {
            "ok": self.ok,
            "checked": self.checked,
            "head": {"seq": self.head_seq, "hash": self.head_hash},
            "checkpoint": self.checkpoint,
            "first_bad": bad,
        }


class ChainVerifier:
    """Feed records in ``seq`` order; :meth:`result` says whether the chain holds."""

    def __init__(self, checkpoints: list[Checkpoint], key: AuditKey) -> None:
        self.checked = 0
        self.expected_seq, self.expected_prev = 1, GENESIS_HASH
        self.checkpoint: dict[str, Any] | None = None
        self.failure: tuple[int | None, str | None, str | None, str] | None = None
        previous: Checkpoint | None = None
        for mark in checkpoints:
            problem = _checkpoint_problem(mark, previous, key)
            if problem is not None:
                problem = f"checkpoint through seq {mark.through_seq}: {problem}"
                self.failure = (None, None, None, problem)
                return
            previous = mark
        if previous is not None:
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
        else:
            problem = record.problem()
        if problem is not None:
            self.failure = (record.seq, record.id, record.tenant, problem)
            return False
        self.checked += 1
        self.expected_seq = record.seq + 1
        self.expected_prev = record.hash
        return True

    def result(self) -> Verification:
        head = (self.expected_seq - 1, self.expected_prev)
        if self.failure is None:
            return Verification(True, self.checked, *head, checkpoint=self.checkpoint)
        seq, rid, tenant, problem = self.failure
        return Verification(False, self.checked, *head, self.checkpoint, seq, rid, tenant, problem)


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
