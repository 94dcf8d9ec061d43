"""PII redaction and the crisis protocol in one conversation, end to end over HTTP.

``tests/test_crisis.py`` already walks French ideation with a phrase-list assessor; this
story runs the gateway as a user would (the default EN/FR lexicon assessor, the real spaCy
pipelines, a policy extending the default pack) and adds: a proactive
message with a phone number and a name comes back ``rewrite`` without them; after the user
writes French suicidal ideation the next proactive message is blocked, the next reply is
delivered redacted *and* with 3114 appended (the helpline number is not taken for PII);
the review webhook got a signed notice; and neither the audit store nor the logs hold any
value the test sent.

All texts are written for this test (synthetic): a made-up name, a reserved-looking
number, an invented ideation sentence.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from guardrail.notify import SIGNATURE_HEADER, verify
from tests.conftest import AUTH, Clock
from tests.upstream import Upstream, serve_upstream

POLICY = """\
name: issue5
extends: default
rules:
  engagement: {min_user_messages: 3}
  quiet_hours: {enabled: false}
  pii:
    operators: {PERSON: replace, PHONE_NUMBER: replace, CREDIT_CARD: block}
"""
NAME, PHONE = "Camille Martin", "06 12 34 56 78"
IDEATION = "Je n'en peux plus, je veux en finir."


@pytest.fixture(scope="module")
def webhook() -> Iterator[Upstream]:
    with serve_upstream() as upstream:
        yield upstream


def test_pii_and_french_crisis_story(
    make_client: Callable[..., TestClient],
    clock: Clock,
    uid: Callable[[str], str],
    tmp_path: Path,
    webhook: Upstream,
    caplog: pytest.LogCaptureFixture,
    store_settings: dict[str, Any],
) -> None:
    caplog.set_level(logging.DEBUG)
    webhook.reset()
    policy = tmp_path / "issue5.yaml"
    policy.write_text(POLICY)
    review = {"url": f"{webhook.base}/review", "secret": "review-secret-5", "include_text": False}
    audit_db = str(tmp_path / "issue5-audit.db")
    client = make_client(policy=policy, assessor="lexicon", review_webhook=review,
                         audit_db=audit_db)  # fmt: skip
    bot, user = uid("maestro"), uid("lea")
    fr = {"jurisdiction": "FR", "locale": "fr-FR", "timezone": "Europe/Paris"}

    def say(text: str, when: datetime) -> dict[str, Any]:
        event = {"type": "user_message", "bot_id": bot, "user_id": user, "text": text,
                 "ts": when.isoformat(), "locale": "fr-FR"}  # fmt: skip
        response = client.post("/v1/events", json=event, headers=AUTH)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def outreach(kind: str, text: str) -> dict[str, Any]:
        body = {"bot_id": bot, "user_id": user, "channel": "messenger", "kind": kind,
                "text": text, "user": fr}  # fmt: skip
        response = client.post("/v1/outreach/check", json=body, headers=AUTH)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    start = clock()
    for hours in (50, 30, 20):
        assert say("j'ai adoré le film", start - timedelta(hours=hours))["risk"] is None

    # 1. A proactive message carrying a name and a phone number: rewritten without them.
    sent = f"Coucou ! {NAME} organise une séance ce soir, appelle-la au {PHONE}."
    first = outreach("proactive", sent)
    assert first["verdict"] == "rewrite", first["reasons"]
    assert NAME not in first["text"] and PHONE not in first["text"]
    assert "[PERSON]" in first["text"] and "[PHONE_NUMBER]" in first["text"]
    assert [(r["rule"], r["effect"]) for r in first["reasons"]] == [("pii", "rewrite")]
    assert first["scores"]["pii.PHONE_NUMBER"] > 0 and first["scores"]["pii.PERSON"] > 0

    # 2. French suicidal ideation (the default lexicon reads it): a crisis.
    clock.advance(hours=2)
    distress = say(IDEATION, clock() - timedelta(minutes=1))
    assert distress["risk"] == "ideation" and distress["crisis"] is True

    # 3. The next proactive message is blocked; the next reply carries help, redacted.
    held = outreach("proactive", "Une nouvelle bande originale à te conseiller ?")
    assert held["verdict"] == "block" and held["reasons"][0]["rule"] == "risk_hold"
    reply = outreach("reply", f"Je suis là. Tu peux aussi appeler {NAME} au {PHONE}.")
    assert reply["verdict"] == "rewrite" and reply["kind"] == "reply"
    assert NAME not in reply["text"] and PHONE not in reply["text"]
    assert "3114" in reply["text"]  # appended after the re-check: not redacted as a phone
    assert reply["text"].startswith("Je suis là. Tu peux aussi appeler [PERSON] au [PHONE_NUMBER].")
    assert [r["rule"] for r in reply["reasons"]] == ["pii", "crisis_resources"]

    # 4. The review webhook was told, signed, without the text.
    for _ in range(100):
        if webhook.requests:
            break
        asyncio.run(asyncio.sleep(0.02))
    (notice,) = webhook.requests
    assert verify("review-secret-5", notice.body, notice.headers[SIGNATURE_HEADER.lower()])
    payload = json.loads(notice.body)
    assert payload["type"] == "crisis" and payload["level"] == "ideation"

    # 5. No raw value in the audit store (API export and the database files) or the logs.
    export = client.get("/v1/audit/export", params={"format": "jsonl"}, headers=AUTH)
    assert export.status_code == 200, export.text
    records = [json.loads(line) for line in export.text.splitlines() if line.strip()]
    decisions = [r for r in records if r.get("type") == "decision"]
    delivered = [r["delivered_text"] for r in decisions if r["delivered_text"]]
    assert len(delivered) == 1 and all("[PHONE_NUMBER]" in d for d in delivered)
    # The crisis reply's text is not kept at all (a sensitive rule acted): its keyed hash only.
    (crisis_reply,) = [r for r in decisions if r.get("delivered_text_omitted")]
    assert crisis_reply["delivered_text_omitted"] == "sensitive: crisis_resources"
    assert crisis_reply["delivered_hmac"].startswith("hmac:")
    raw_values = [NAME, "Camille", "Martin", PHONE, "0612345678", IDEATION, "en finir", user]
    stored = export.text + "".join(
        p.read_bytes().decode("utf-8", "replace") for p in tmp_path.glob("issue5-audit.db*")
    )
    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    for value in raw_values:
        assert value not in stored, f"{value!r} reached the audit store"
        assert value not in logged, f"{value!r} reached the logs"
