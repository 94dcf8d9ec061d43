"""Texts in audit records: keyed hashes only, and no delivered text where the policy says
it is sensitive (a crisis reply, say) or says to keep none. Both stores."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from guardrail import gateway as gateway_module
from guardrail.gateway import Gateway
from tests.audit_support import ADMIN_KEY, AUDIT_KEY, bearer, event
from tests.conftest import Clock
from tests.test_crisis import PhraseAssessor

MakeClient = Callable[..., TestClient]
Uid = Callable[[str], str]
CRISIS = "je veux en finir"
HELLO = "Coucou ! Une nouvelle bande originale à me conseiller ?"


def decisions(client: TestClient, bot: str) -> list[dict[str, Any]]:
    response = client.get("/v1/audit/decisions", params={"bot": bot}, headers=bearer(ADMIN_KEY))
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def reply(client: TestClient, bot: str, user: str) -> dict[str, Any]:
    body = {"bot_id": bot, "user_id": user, "channel": "messenger", "kind": "reply",
            "text": HELLO, "user": {"jurisdiction": "FR", "locale": "fr-FR"}}  # fmt: skip
    response = client.post("/v1/outreach/check", json=body, headers=bearer(ADMIN_KEY))
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


@pytest.fixture
def assessor(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setitem(gateway_module.ASSESSORS, "test-phrases", PhraseAssessor)
    return "test-phrases"


def test_a_crisis_reply_keeps_only_the_keyed_hash_of_its_text(
    make_client: MakeClient, clock: Clock, uid: Uid, assessor: str
) -> None:
    client = make_client(assessor=assessor, audit_key=AUDIT_KEY)
    bot, user = uid("maestro"), uid("lea")
    event(client, bot, user, clock.now - timedelta(minutes=2), text=CRISIS)
    answered = reply(client, bot, user)
    assert answered["verdict"] == "rewrite" and "3114" in answered["text"]
    (record,) = decisions(client, bot)
    assert record["delivered_text"] is None
    assert record["delivered_text_omitted"] == "sensitive: crisis_resources"
    gateway: Gateway = client.app.state.gateway  # type: ignore[attr-defined]
    assert record["delivered_hmac"] == gateway.audit.text_hmac("default", answered["text"])
    assert record["text_hmac"] == gateway.audit.text_hmac("default", HELLO)
    plain = hashlib.sha256(HELLO.encode()).hexdigest()
    assert plain not in json.dumps(record)
    assert "Coucou" not in json.dumps(record)  # the text, crisis number appended, is not kept
    # The crisis record of the user's message: a keyed hash, not a SHA-256 a dictionary
    # of phrases would reverse.
    crisis = client.get(
        "/v1/audit/export", params={"type": "crisis"}, headers=bearer(ADMIN_KEY)
    ).json()
    assert crisis["text_hmac"] == gateway.audit.text_hmac("default", CRISIS)
    assert hashlib.sha256(CRISIS.encode()).hexdigest() not in json.dumps(crisis)


def test_a_policy_may_keep_no_delivered_text_at_all(
    make_client: MakeClient, clock: Clock, uid: Uid, tmp_path: Path
) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("name: default\naudit: {delivered_text: omit}\n", encoding="utf-8")
    client = make_client(policy=policy)
    bot, user = uid("maestro"), uid("lea")
    event(client, bot, user, clock.now - timedelta(minutes=2), text="any film tonight?")
    assert reply(client, bot, user)["verdict"] in ("allow", "rewrite")
    (record,) = decisions(client, bot)
    assert record["delivered_text"] is None and record["delivered_hmac"]
    assert record["delivered_text_omitted"] == "policy: delivered_text omit"
