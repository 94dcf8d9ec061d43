"""Sensitive memories stay off the lock screen, through the HTTP API, on both stores.

A proactive follow-up that names what the user confided is sent as a neutral opener, the
message handed back as ``held_text`` and deliverable as a reply once the user writes; benign
personal follow-ups pass; follow-up consent comes from the platform's or the operator's key
only and never applies to a known minor; "forget what I told you" makes the bot's replies
about it blocked until the user brings it up again; an erasure leaves only the opt-out.
The tests run without the classifier stack (as the suite does): the term lexicon decides.
Every message here is invented.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from guardrail.audit.backend import RecordFilter
from tests.conftest import AUTH, Clock
from tests.test_api import check, enforcing, engage, say

MakeClient = Callable[..., TestClient]
Uid = Callable[[str], str]
Json = dict[str, Any]
BOT_KEY = "bot-key-Sv4Qm1Zt8Lr3"
INGEST_KEY = "ingest-key-Wn6Jc2Px9Hd5"
BOT = {"Authorization": f"Bearer {BOT_KEY}"}
INGEST = {"Authorization": f"Bearer {INGEST_KEY}"}
THERAPY = "Hey! How did your therapy session go yesterday?"
OPENER = "I have a message for you. Open the chat to read it."


def client_for(make_client: MakeClient, tmp_path: Path, rules: str = "") -> TestClient:
    keys = [
        {"name": "engine", "tenant": "default", "role": "bot", "key": BOT_KEY},
        {"name": "platform", "tenant": "default", "role": "ingest", "key": INGEST_KEY},
    ]
    if not rules:
        return make_client(keys=keys)
    policy = tmp_path / "policy.yaml"
    policy.write_text(f"name: local\nextends: default\nrules:\n{rules}", encoding="utf-8")
    return make_client(keys=keys, policy=str(policy))


def audit_records(client: TestClient, kind: str) -> list[Json]:
    gateway = client.app.state.gateway  # type: ignore[attr-defined]
    assert client.portal is not None
    records, _ = client.portal.call(gateway.audit.query, RecordFilter(types=(kind,)))
    return [r.body for r in sorted(records, key=lambda r: r.seq)]


def with_context(client: TestClient, bot: str, user: str, text: str, **context: Any) -> Json:
    """A proactive check with a user context (locale, is_minor)."""
    body = {"bot_id": bot, "user_id": user, "channel": "messenger", "text": text,
            "kind": "proactive", "user": context}  # fmt: skip
    response = client.post("/v1/outreach/check", json=body, headers=AUTH)
    assert response.status_code == 200, response.text
    data: Json = response.json()
    return data


def sensitive(decision: Json) -> Json:
    reasons: list[Json] = decision["reasons"]
    (reason,) = [r for r in reasons if r["rule"] == "sensitive_reference"]
    return reason


def test_a_follow_up_naming_a_confidence_goes_out_as_a_neutral_opener(
    make_client: MakeClient, tmp_path: Path, clock: Clock, uid: Uid
) -> None:
    client = client_for(make_client, tmp_path)
    bot, user = uid("maestro"), uid("ana")
    engage(client, bot, user, clock())
    decision = check(client, bot, user, text=THERAPY, kind="proactive")
    assert decision["verdict"] == "rewrite"
    assert decision["text"] == OPENER and decision["held_text"] == THERAPY
    reason = sensitive(decision)
    assert reason["labels"] == ["health"] and reason["effect"] == "rewrite"
    assert "therapy" not in reason["detail"] and "preview" in reason["detail"]
    (record,) = [r for r in audit_records(client, "decision") if r["id"] == decision["decision_id"]]
    assert "held_text" not in record and "therapy" not in str(record)
    # The user opens the conversation: the held message goes out as a reply, untouched.
    clock.advance(minutes=10)
    say(client, bot, user, "oh hi!", clock())
    reply = check(client, bot, user, text=decision["held_text"], kind="reply")
    assert reply["verdict"] == "allow" and reply["text"] == THERAPY
    (logged,) = [r for r in audit_records(client, "decision") if r["id"] == reply["decision_id"]]
    assert "[HEALTH]" in logged["delivered_text"] and "therapy" not in logged["delivered_text"]


def test_the_opener_follows_the_users_language_and_benign_follow_ups_pass(
    make_client: MakeClient, tmp_path: Path, clock: Clock, uid: Uid
) -> None:
    client = client_for(make_client, tmp_path)
    bot, user, other = uid("maestro"), uid("cleo"), uid("dan")
    engage(client, bot, user, clock())
    engage(client, bot, other, clock())
    text = "Coucou ! Des nouvelles de ton rendez-vous chez le psychiatre ?"
    french = with_context(client, bot, user, text, locale="fr-FR")
    assert french["verdict"] == "rewrite"
    assert french["text"] == "J'ai un message pour toi. Ouvre la conversation pour le lire."
    benign = check(client, bot, other, text="Hey! How was the concert last night?",
                   kind="proactive")  # fmt: skip
    assert benign["verdict"] == "allow" and benign["reasons"] == []


def test_a_body_reference_counts_by_default_and_not_with_scope_preview(
    make_client: MakeClient, tmp_path: Path, clock: Clock, uid: Uid
) -> None:
    text = "Good morning! The sun is finally out here.\nBy the way, any news on your visa renewal?"
    client = client_for(make_client, tmp_path)
    bot, user = uid("maestro"), uid("eve")
    engage(client, bot, user, clock())
    decision = check(client, bot, user, text=text, kind="proactive")
    assert decision["verdict"] == "rewrite"
    assert sensitive(decision)["labels"] == ["ethnic_origin_immigration"]
    assert "in the body" in sensitive(decision)["detail"]
    preview_only = client_for(make_client, tmp_path, "  sensitive_reference: {scope: preview}\n")
    engage(preview_only, bot, user + "x", clock())
    assert check(preview_only, bot, user + "x", text=text, kind="proactive")["verdict"] == "allow"


def test_follow_up_consent_comes_from_user_evidence_and_never_covers_minors(
    make_client: MakeClient, tmp_path: Path, clock: Clock, uid: Uid
) -> None:
    client = client_for(make_client, tmp_path, "  sensitive_reference: {allow_consented: true}\n")
    bot, user, minor, also = uid("maestro"), uid("fay"), uid("gus"), uid("hugo")
    body = {"bot_id": bot, "categories": ["health"], "allowed": True}
    forged = client.put(f"/v1/users/{user}/follow-ups", json=body, headers=BOT)
    assert forged.status_code == 403, forged.text
    for who in (user, minor, also):
        engage(client, bot, who, clock())
        put = client.put(f"/v1/users/{who}/follow-ups", json=body, headers=INGEST)
        assert put.status_code == 200, put.text
        assert put.json() == {"user_id": who, "bot_id": bot, "categories": ["health"],
                              "allowed": True, "source": "ingest"}  # fmt: skip
    allowed = check(client, bot, user, text=THERAPY, kind="proactive")
    assert allowed["verdict"] == "allow" and sensitive(allowed)["effect"] == "info"
    other = check(client, bot, also, text="How is the debt repayment plan going?",
                  kind="proactive")  # fmt: skip
    assert other["verdict"] == "rewrite" and sensitive(other)["labels"] == ["finances"]
    child = with_context(client, bot, minor, THERAPY, is_minor=True)
    assert child["verdict"] == "rewrite" and "minor" in sensitive(child)["detail"]
    unknown = {"categories": ["hobbies"], "allowed": True}
    bad = client.put(f"/v1/users/{user}/follow-ups", json=unknown, headers=INGEST)
    assert bad.status_code == 422
    withdrawn = {"bot_id": bot, "categories": ["health"], "allowed": False}
    assert (
        client.put(f"/v1/users/{user}/follow-ups", json=withdrawn, headers=AUTH).json()["source"]
        == "admin"
    )
    clock.advance(days=1, hours=1)
    engage(client, bot, user, clock())
    last = check(client, bot, user, text=THERAPY, kind="proactive")
    assert last["verdict"] == "rewrite", last["reasons"]


def test_forget_blocks_replies_about_it_until_the_user_brings_it_up(
    make_client: MakeClient, tmp_path: Path, clock: Clock, uid: Uid
) -> None:
    client = client_for(make_client, tmp_path)
    bot, user = uid("maestro"), uid("hal")
    engage(client, bot, user, clock())
    told = say(client, bot, user, "I start therapy on Monday, I'm nervous", clock())
    assert told["sensitive"] == ["health"]
    clock.advance(minutes=5)
    forgot = say(client, bot, user, "Actually please forget what I told you", clock())
    assert forgot["forget"] == ["health"] and forgot["sensitive"] is None
    reply = check(client, bot, user, text="Of course. Good luck in therapy!", kind="reply")
    assert reply["verdict"] == "block" and enforcing(reply) == ["sensitive_reference"]
    assert "asked this bot to forget" in sensitive(reply)["detail"]
    fine = check(client, bot, user, text="Of course, consider it forgotten.", kind="reply")
    assert fine["verdict"] == "allow"
    clock.advance(minutes=5)
    say(client, bot, user, "ok my therapy session went fine actually", clock())
    again = check(client, bot, user, text="So glad your therapy session went fine!", kind="reply")
    assert again["verdict"] == "allow"


def test_a_french_forget_with_nothing_disclosed_covers_every_category(
    make_client: MakeClient, tmp_path: Path, clock: Clock, uid: Uid
) -> None:
    client = client_for(make_client, tmp_path)
    bot, user = uid("maestro"), uid("ines")
    engage(client, bot, user, clock())
    assert say(client, bot, user, "n'en parle plus s'il te plaît", clock())["forget"] == ["*"]
    reply = check(client, bot, user, text="D'accord. Et ta réunion syndicale ?", kind="reply")
    assert reply["verdict"] == "block" and sensitive(reply)["labels"] == ["politics"]


def test_erasure_leaves_only_the_opt_out_and_is_audited(
    make_client: MakeClient, tmp_path: Path, clock: Clock, uid: Uid
) -> None:
    client = client_for(make_client, tmp_path)
    bot, user, kept = uid("maestro"), uid("jo"), uid("kim")
    for who in (user, kept):
        engage(client, bot, who, clock())
    say(client, bot, user, "my divorce hearing is on friday", clock())
    assert client.delete(f"/v1/users/{user}", headers=BOT).status_code == 403
    erased = client.delete(f"/v1/users/{user}", headers=INGEST)
    assert erased.status_code == 200, erased.text
    body = erased.json()
    assert body["erased"] and body["removed"] > 0 and body["kept"] == ["opt_out"]
    assert enforcing(check(client, bot, user, kind="proactive")) == ["user_first"]
    assert check(client, bot, kept, kind="proactive")["verdict"] == "allow"
    (record,) = audit_records(client, "erasure")
    assert record["id"] == body["audit_id"] and record["via"] == "ingest"
    assert user not in str(record)
    # A STOP outlives the erasure.
    engage(client, bot, user, clock() + timedelta(minutes=1))
    say(client, bot, user, "STOP", clock() + timedelta(minutes=1))
    clock.advance(days=2)
    assert client.delete(f"/v1/users/{user}", headers=AUTH).status_code == 200
    engage(client, bot, user, clock())
    assert enforcing(check(client, bot, user, kind="proactive")) == ["opt_out"]
