"""The redaction hook applied to delivered text before it may enter an audit record.

Audit records must never hold raw personal data, and PII detection (Presidio) arrives in
a later issue. Until then :func:`redact` returns ``None`` for every text: no delivered
text is stored at all, only its SHA-256, and the console shows "not stored". The later
issue replaces this function (or passes its own to ``AuditTrail``) with one that returns
the text with every detected entity replaced, or ``None`` when it cannot be sure.
"""

from __future__ import annotations

from typing import Protocol


class Redactor(Protocol):
    def __call__(self, text: str, *, tenant: str, bot: str) -> str | None: ...


def redact(text: str, *, tenant: str, bot: str) -> str | None:
    """Store nothing: no redactor exists yet, so no delivered text is safe to keep."""
    return None
