"""Keys, roles and request helpers shared by the audit tests (API, reports, console)."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any, Protocol

from tests.conftest import API_KEY

Json = dict[str, Any]

AUDIT_KEY = "audit-secret-for-tests-0123456789"
ADMIN_KEY = API_KEY  # GUARDRAIL_API_KEY: role admin, tenant "default"
ACME_BOT_KEY = "acme-bot-key-5Jq8Wm2Lr7Tx"
ACME_AUDITOR_KEY = "acme-auditor-key-9Pz3Kd6Hs1Vb"
ACME_ADMIN_KEY = "acme-admin-key-4Ne7Yc2Gf8Qa"
GLOBEX_AUDITOR_KEY = "globex-auditor-key-2Rt5Uw9Xe3Mo"
KEYED_MISMATCH = (
    "keyed hash does not match the record's content (altered, or verified with another audit key)"
)
TEXT = "Morning! The jazz quartet you liked is playing downtown on Friday, fancy a look?"


def keys() -> list[Json]:
    """Keys of tenant acme (bot, auditor, admin) and an auditor of tenant globex."""
    return [
        {"name": "acme-engine", "tenant": "acme", "role": "bot", "key": ACME_BOT_KEY},
        {"name": "acme-auditor", "tenant": "acme", "role": "auditor", "key": ACME_AUDITOR_KEY},
        {"name": "acme-admin", "tenant": "acme", "role": "admin", "key": ACME_ADMIN_KEY},
        {"name": "globex-audit", "tenant": "globex", "role": "auditor", "key": GLOBEX_AUDITOR_KEY},
    ]


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class Poster(Protocol):
    """A TestClient or an httpx.Client with a base URL: both post the same way."""

    def post(self, url: str, *, json: Any = ..., headers: Any = ...) -> Any: ...


def outreach(client: Poster, bot: str, user_id: str, *, key: str = ADMIN_KEY, **extra: Any) -> Json:
    body = {"bot_id": bot, "user_id": user_id, "channel": "messenger", "text": TEXT, **extra}
    response = client.post("/v1/outreach/check", json=body, headers=bearer(key))
    assert response.status_code == 200, response.text
    data: Json = response.json()
    return data


def event(
    client: Poster,
    bot: str,
    user_id: str,
    ts: datetime,
    *,
    type: str = "user_message",
    key: str = ADMIN_KEY,
    **extra: Any,
) -> Json:
    body = {"type": type, "bot_id": bot, "user_id": user_id, "ts": ts.isoformat(), **extra}
    response = client.post("/v1/events", json=body, headers=bearer(key))
    assert response.status_code == 200, response.text
    data: Json = response.json()
    return data


class FakeKms:
    """A key provider as a KMS hook would be (``audit_key_provider``): no key on disk."""

    where = "the test KMS"

    def load(self) -> Any:
        from guardrail.audit.keys import KeyRing
        from guardrail.audit.pseudonym import AuditKey

        return KeyRing(AuditKey(b"kms-held-key-0123456789abcdef"), where=self.where)


def kms_provider() -> FakeKms:
    return FakeKms()
