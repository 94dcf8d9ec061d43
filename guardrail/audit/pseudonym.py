"""One audit key: keyed pseudonyms for user ids, keyed text hashes, the keyed chain hash,
and HMAC signatures of purge checkpoints, the log's head row and published heads.

A plain hash of a phone number, or of a short message, is reversible by trying every
number or phrase; an HMAC is not, without the key. The tenant is part of the input, so one
person known to two tenants gets two unrelated pseudonyms and tenants cannot join their
audit trails. Every keyed value names the key that made it (``hmac:<key id>:<hex>``), so a
log sealed over several keys (a rotation) says which key verifies each record.

Signatures are HMACs, not public-key signatures: whoever verifies a published head holds
the audit key (auditors verify the log with it anyway), and an HMAC needs no library
beyond the standard one. A witness that only stores heads needs no key at all.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from guardrail.audit.records import KEYED_PREFIX, canonical_json, chain_message


class AuditKey:
    """The secret behind pseudonyms, keyed hashes and signatures (never logged or exported)."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 16:
            raise ValueError("the audit key must be at least 16 bytes")
        self._secret = secret
        self.key_id = self._mac("guardrail-audit-key-id")[:16]
        """A public fingerprint: which key sealed a record, signed a checkpoint or a head."""

    def __repr__(self) -> str:
        return f"AuditKey(id={self.key_id})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AuditKey) and hmac.compare_digest(self._secret, other._secret)

    def __hash__(self) -> int:
        return hash(self.key_id)

    def pseudonym(self, tenant: str, user_id: str) -> str:
        """HMAC-SHA256 of (tenant, user id); the same person gets the same value every time."""
        return self._mac(f"user\x1f{tenant}\x1f{user_id}")

    def text_hmac(self, tenant: str, text: str) -> str:
        """A message's keyed hash, ``hmac:<key id>:<hex>``: the key holder can tell whether a
        given text is the one recorded; nobody else can test a dictionary of phrases."""
        mac = self._mac(f"text\x1f{tenant}\x1f{text}")
        return f"{KEYED_PREFIX}{self.key_id}:{mac}"

    def chain_hash(self, seq: int, prev_hash: str, body_json: str) -> str:
        """A record's keyed hash: ``hmac:<key id>:`` + HMAC-SHA256 of its position and body.

        Only the key holder can compute it, so an edit cannot be hidden by recomputing
        the hashes after it (a plain SHA-256 chain can be recomputed by anyone)."""
        return f"{KEYED_PREFIX}{self.key_id}:{self._chain_mac(seq, prev_hash, body_json)}"

    def chain_hash_v2(self, seq: int, prev_hash: str, body_json: str) -> str:
        """The keyed hash as logs before key ids wrote it (``hmac:<hex>``): verified, never
        written."""
        return KEYED_PREFIX + self._chain_mac(seq, prev_hash, body_json)

    def _chain_mac(self, seq: int, prev_hash: str, body_json: str) -> str:
        return self._mac("chain\x1f" + chain_message(seq, prev_hash, body_json))

    def sign(self, document: dict[str, Any]) -> str:
        """A purge checkpoint's signature."""
        return self._mac("checkpoint\x1f" + canonical_json(document))

    def check(self, document: dict[str, Any], signature: str) -> bool:
        return hmac.compare_digest(self.sign(document), signature)

    def sign_head(self, head: dict[str, Any]) -> str:
        """The signature of a published chain head (its own domain: not a checkpoint's)."""
        return self._mac("head\x1f" + canonical_json(head))

    def check_head(self, head: dict[str, Any], signature: str) -> bool:
        return hmac.compare_digest(self.sign_head(head), signature)

    def sign_head_row(self, seq: int, digest: str) -> str:
        """The signature of the head row a log keeps of itself (seq, hash, this key)."""
        return self._mac(f"head-row\x1f{int(seq)}\x1f{digest}\x1f{self.key_id}")

    def check_head_row(self, seq: int, digest: str, signature: str) -> bool:
        return hmac.compare_digest(self.sign_head_row(seq, digest), signature)

    def _mac(self, message: str) -> str:
        return hmac.new(self._secret, message.encode(), hashlib.sha256).hexdigest()
