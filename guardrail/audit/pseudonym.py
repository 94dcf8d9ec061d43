"""Keyed pseudonyms for user ids, the keyed chain hash, and HMAC signatures of purge
checkpoints and published chain heads.

A plain hash of a phone number is reversible by trying every number; an HMAC is not,
without the key. The tenant is part of the input, so one person known to two tenants
gets two unrelated pseudonyms and tenants cannot join their audit trails.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from guardrail.audit.records import KEYED_PREFIX, canonical_json, chain_message


class AuditKey:
    """The secret behind pseudonyms and checkpoint signatures (never logged or exported)."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 16:
            raise ValueError("the audit key must be at least 16 bytes")
        self._secret = secret

    def __repr__(self) -> str:
        return f"AuditKey(id={self.key_id})"

    @property
    def key_id(self) -> str:
        """A public fingerprint, stored with checkpoints to tell "wrong key" from "tampered"."""
        return self._mac("guardrail-audit-key-id")[:16]

    def pseudonym(self, tenant: str, user_id: str) -> str:
        """HMAC-SHA256 of (tenant, user id); the same person gets the same value every time."""
        return self._mac(f"user\x1f{tenant}\x1f{user_id}")

    def chain_hash(self, seq: int, prev_hash: str, body_json: str) -> str:
        """A record's keyed hash: ``hmac:`` + HMAC-SHA256 of its position and body.

        Only the key holder can compute it, so an edit cannot be hidden by recomputing
        the hashes after it (a plain SHA-256 chain can be recomputed by anyone)."""
        return KEYED_PREFIX + self._mac("chain\x1f" + chain_message(seq, prev_hash, body_json))

    def sign(self, document: dict[str, Any]) -> str:
        return self._mac("checkpoint\x1f" + canonical_json(document))

    def check(self, document: dict[str, Any], signature: str) -> bool:
        return hmac.compare_digest(self.sign(document), signature)

    def sign_head(self, head: dict[str, Any]) -> str:
        """The signature of a published chain head (its own domain: not a checkpoint's)."""
        return self._mac("head\x1f" + canonical_json(head))

    def check_head(self, head: dict[str, Any], signature: str) -> bool:
        return hmac.compare_digest(self.sign_head(head), signature)

    def _mac(self, message: str) -> str:
        return hmac.new(self._secret, message.encode(), hashlib.sha256).hexdigest()
