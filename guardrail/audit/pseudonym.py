"""Keyed pseudonyms for user ids, and the HMAC signatures of purge checkpoints.

A plain hash of a phone number is reversible by trying every number; an HMAC is not,
without the key. The tenant is part of the input, so one person known to two tenants
gets two unrelated pseudonyms and tenants cannot join their audit trails.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from guardrail.audit.records import canonical_json


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

    def sign(self, document: dict[str, Any]) -> str:
        return self._mac("checkpoint\x1f" + canonical_json(document))

    def check(self, document: dict[str, Any], signature: str) -> bool:
        return hmac.compare_digest(self.sign(document), signature)

    def _mac(self, message: str) -> str:
        return hmac.new(self._secret, message.encode(), hashlib.sha256).hexdigest()
