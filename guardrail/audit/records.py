"""What one audit record holds, and how it is hashed into the chain.

A record is a small JSON document (the *body*) plus its place in the chain: ``seq``,
``prev_hash`` and ``hash``. The hash covers the canonical JSON of all three, so changing
a body, reordering records or dropping one breaks every hash after it.

Three hash versions: records written now carry ``hmac:<key id>:<hex>``, an HMAC-SHA256
under the audit key named by its id (see :meth:`AuditKey.chain_hash`), so someone who can
write the database but lacks the key cannot recompute the chain after an edit, and a log
sealed over several keys (a rotation) says which key verifies each record. Records of the
first keyed logs carry ``hmac:<hex>`` (the key unnamed); the oldest carry a bare 64-hex
SHA-256 (:func:`chain_hash`); both still verify, as long as a keyed record after them binds
them (the verifier's rules are in ``chain.py``). A few body fields
are copied into indexed columns for queries; verification checks that they still agree
with the body, so editing a column to hide a record from a query is caught too.

Bodies never hold raw personal data: users appear as keyed pseudonyms, texts as keyed
hashes (older records: plain SHA-256), and the delivered text only as whatever the
redaction hook returns.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

RecordType = Literal[
    "decision",
    "consent",
    "crisis",
    "delivery",
    "notification",
    "policy_reload",
    "purge",
    "key_rotation",
    "erasure",
    "access",
]
RECORD_TYPES: tuple[RecordType, ...] = (
    "decision",
    "consent",
    "crisis",
    "delivery",
    "notification",
    "policy_reload",
    "purge",
    "key_rotation",
    "erasure",
    "access",
)

GENESIS_HASH = "0" * 64
"""``prev_hash`` of the first record of a chain that has never been purged."""

GLOBAL_TENANT = "*"
"""Tenant of records that belong to no single tenant (a gateway-wide policy reload)."""


def canonical_json(value: Any) -> str:
    """One spelling per value (sorted keys, no spaces, UTF-8), so hashes are reproducible."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def chain_hash(seq: int, prev_hash: str, body: dict[str, Any]) -> str:
    """The record's own hash: SHA-256 of the canonical JSON of its position and body,
    ``{"prev_hash": …, "record": {…}, "seq": N}``."""
    return chain_hash_text(seq, prev_hash, canonical_json(body))


def chain_hash_text(seq: int, prev_hash: str, body_json: str) -> str:
    """:func:`chain_hash` from the body's canonical JSON (keys already in sorted order)."""
    return sha256_hex(chain_message(seq, prev_hash, body_json))


KEYED_PREFIX = "hmac:"
"""How a keyed hash starts (``hmac:<key id>:<hex>``, or ``hmac:<hex>`` in the first keyed
logs); a bare 64-hex hash is a version 1 plain SHA-256."""


def is_keyed(digest: str) -> bool:
    return digest.startswith(KEYED_PREFIX)


def hash_key_id(digest: str) -> str | None:
    """The id of the key a keyed hash names (``hmac:<key id>:<hex>``); None for a hash
    that names none (plain SHA-256, or the first keyed logs' ``hmac:<hex>``)."""
    if not digest.startswith(KEYED_PREFIX):
        return None
    kid, sep, _ = digest[len(KEYED_PREFIX) :].partition(":")
    return kid if sep else None


def chain_message(seq: int, prev_hash: str, body_json: str) -> str:
    """What either hash version covers: the record's position and canonical body."""
    return f'{{"prev_hash":"{prev_hash}","record":{body_json},"seq":{int(seq)}}}'


class Sealer(Protocol):
    """Computes a record's hash from its position and canonical body (the audit key's)."""

    def __call__(self, seq: int, prev_hash: str, body_json: str) -> str: ...


class ChainSeal(Protocol):
    """What a backend needs of the key that seals new records: its id, the record hash,
    and the signature of the head row it keeps (:class:`~guardrail.audit.pseudonym.AuditKey`)."""

    key_id: str

    def chain_hash(self, seq: int, prev_hash: str, body_json: str) -> str: ...

    def sign_head_row(self, seq: int, digest: str) -> str: ...


def iso(dt: datetime) -> str:
    """UTC ISO 8601, the one time format of audit bodies."""
    return dt.astimezone(UTC).isoformat()


def parse_iso(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(UTC)


def rules_column(rules: list[str] | tuple[str, ...]) -> str:
    """Rule ids as ``|a|b|``: an exact rule is ``|id|`` and a family ``|prefix.`` inside it."""
    return "|" + "".join(f"{r}|" for r in rules)


@dataclass(frozen=True)
class Columns:
    """The indexed copies of body fields, as the backends store them."""

    id: str
    type: str
    ts: float
    tenant: str
    bot: str | None
    user: str | None
    verdict: str | None
    rules: str
    policy_version: str | None

    @classmethod
    def of(cls, body: dict[str, Any]) -> Columns:
        return cls(
            id=str(body["id"]),
            type=str(body["type"]),
            ts=parse_iso(str(body["ts"])).timestamp(),
            tenant=str(body["tenant"]),
            bot=body.get("bot"),
            user=body.get("user"),
            verdict=body.get("verdict"),
            rules=rules_column([str(r) for r in body.get("rules", [])]),
            policy_version=body.get("policy_version"),
        )


@dataclass(frozen=True)
class AuditRecord:
    """One stored record: its body, its chain links and the columns kept for queries."""

    seq: int
    body: dict[str, Any]
    prev_hash: str
    hash: str
    columns: Columns

    @property
    def id(self) -> str:
        return self.columns.id

    @property
    def type(self) -> str:
        return self.columns.type

    @property
    def tenant(self) -> str:
        return self.columns.tenant

    @property
    def ts(self) -> datetime:
        return parse_iso(str(self.body["ts"]))

    def view(self) -> dict[str, Any]:
        """The record as the operator's exports show it: the body plus its chain links."""
        return {**self.body, "seq": self.seq, "prev_hash": self.prev_hash, "hash": self.hash}

    def tenant_view(self) -> dict[str, Any]:
        """The record as a tenant's auditors see it: the body and its own seal, without its
        place in the shared chain (``seq`` and ``prev_hash`` would tell how much the other
        tenants write between two of its records)."""
        return {**self.body, "hash": self.hash}

    @property
    def keyed(self) -> bool:
        return is_keyed(self.hash)

    @property
    def key_id(self) -> str | None:
        """The key that sealed it, when the hash names one."""
        return hash_key_id(self.hash)

    def problem(self, seal: Sealer) -> str | None:
        """Why this record does not match its hash or its columns; None when it does.

        ``seal`` recomputes a keyed hash; a plain one is recomputed with SHA-256."""
        body_json = canonical_json(self.body)
        if self.keyed:
            if not hmac.compare_digest(seal(self.seq, self.prev_hash, body_json), self.hash):
                return (
                    "keyed hash does not match the record's content (altered, or verified "
                    "with another audit key)"
                )
        elif chain_hash_text(self.seq, self.prev_hash, body_json) != self.hash:
            return "hash does not match the record's content"
        try:
            expected = Columns.of(self.body)
        except (KeyError, ValueError, TypeError) as exc:
            return f"record body is malformed: {exc}"
        if expected != self.columns:
            changed = [
                name
                for name in expected.__dataclass_fields__
                if getattr(expected, name) != getattr(self.columns, name)
            ]
            return f"indexed column(s) {', '.join(changed)} differ from the hashed content"
        return None
