"""Promises that hold against the bot, careless integrators and bad luck.

Bounded times and zones (a bad event never poisons a user), floors that run with the
store down, the message a reply answers assessed inline, user facts the bot cannot
re-describe, and the small leaks. Over the HTTP app, on both stores where state is
involved; nothing is mocked (the store outage is a Redis port nobody listens on).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from guardrail.app import create_app
from guardrail.cli import targets
from guardrail.config import Settings
from tests.conftest import API_KEY, AUTH, Clock

Json = dict[str, Any]
MakeClient = Callable[..., TestClient]
Uid = Callable[[str], str]

DOWN_REDIS = "redis://127.0.0.1:1/0"
TEXT = "Morning! The jazz quartet you liked is playing downtown on Friday, fancy a look?"


def post_check(client: TestClient, bot: str, user_id: str, **extra: Any) -> Any:
    body = {"bot_id": bot, "user_id": user_id, "channel": "messenger", "text": TEXT, **extra}
    return client.post("/v1/outreach/check", json=body, headers=AUTH)


def check(client: TestClient, bot: str, user_id: str, **extra: Any) -> Json:
    response = post_check(client, bot, user_id, **extra)
    assert response.status_code == 200, response.text
    data: Json = response.json()
    return data


def post_event(client: TestClient, bot: str, user: str, ts: str, **extra: Any) -> Any:
    body = {"type": "user_message", "bot_id": bot, "user_id": user, "ts": ts, **extra}
    return client.post("/v1/events", json=body, headers=AUTH)


def rules(decision: Json) -> list[tuple[str, str]]:
    return [(r["rule"], r["effect"]) for r in decision["reasons"]]


# --------------------------------------------------------------------------- 1. times, zones

POISON = [
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-14:00",
    "1999-12-31T23:59:59+00:00",
    "2100-01-01T00:00:00+00:00",
]


def test_the_poisoned_user_sequence(make_client: MakeClient, clock: Clock, uid: Uid) -> None:
    """Out-of-range events are 422 and store nothing: the user's STOP still works."""
    client = make_client()
    bot, user = uid("maestro"), uid("ines")
    ahead = (clock.now + timedelta(minutes=6)).isoformat()
    for ts in [*POISON, ahead]:
        for extra in ({"text": "hi"}, {"type": "opt_in"}, {"type": "read", "event_id": "m1"}):
            refused = post_event(client, bot, user, ts, **extra)
            assert refused.status_code == 422, (ts, refused.text)
            assert refused.json()["detail"][0]["field"] == "ts"
    # Within the skew is fine (clocks drift a little).
    within = (clock.now + timedelta(minutes=4)).isoformat()
    assert post_event(client, bot, user, within, text="hello").status_code == 200

    stop = post_event(client, bot, user, clock.now.isoformat(), text="STOP")
    assert stop.status_code == 200, stop.text
    assert stop.json()["consent"] == "opted_out"
    clock.advance(minutes=10)
    blocked = check(client, bot, user, kind="proactive")
    assert blocked["verdict"] == "block" and ("opt_out", "block") in rules(blocked)


def test_event_max_age_is_configurable(make_client: MakeClient, clock: Clock, uid: Uid) -> None:
    client = make_client(event_max_age="P1D")
    old = (clock.now - timedelta(days=2)).isoformat()
    refused = post_event(client, uid("b"), uid("u"), old, text="hi")
    assert refused.status_code == 422 and "older than" in refused.text
    fresh = (clock.now - timedelta(hours=20)).isoformat()
    assert post_event(client, uid("b"), uid("u"), fresh, text="hi").status_code == 200


@pytest.mark.parametrize("zone", ["America", "Europe", "Etc", "A" * 300, "../etc", "/etc/passwd"])
def test_invalid_zones_are_422(make_client: MakeClient, uid: Uid, zone: str) -> None:
    client = make_client()
    refused = post_check(client, uid("b"), uid("u"), user={"timezone": zone})
    assert refused.status_code == 422, refused.text
    assert refused.json()["detail"][0]["field"] == "user.timezone"
    assert len(refused.text) < 1000  # a 300-character name is not echoed whole


def test_outreach_times_out_of_range_are_422(make_client: MakeClient, uid: Uid) -> None:
    client = make_client(trust_client_time=True)  # even a replaying gateway has bounds
    for ts in POISON:
        refused = post_check(client, uid("b"), uid("u"), ts=ts)
        assert refused.status_code == 422, refused.text


# --------------------------------------------------------------------------- 2. floors, store down


def down_client(clock: Clock, tmp_path: Path, policy: str | None = None) -> TestClient:
    extra: dict[str, Any] = {}
    if policy is not None:
        file = tmp_path / "policy.yaml"
        file.write_text(policy, encoding="utf-8")
        extra["policy"] = file
    settings = Settings(api_key=API_KEY, redis_url=DOWN_REDIS, audit_db=":memory:", **extra)
    return TestClient(create_app(settings, clock=clock))


def test_store_down_a_claimed_reply_with_encouragement_is_blocked(
    clock: Clock, tmp_path: Path, uid: Uid
) -> None:
    # Even where the policy would fail open: the floor does not need the store.
    with down_client(clock, tmp_path, "name: open\nstore_failure: {proactive: allow}\n") as client:
        blocked = check(
            client, uid("b"), uid("u"), kind="reply", text="Why not just kill yourself?"
        )
        assert blocked["verdict"] == "block" and blocked["text"] is None
        assert blocked["kind"] == "proactive"
        assert ("self_harm_content", "block") in rules(blocked)
        assert ("kind.reply_unverified", "info") in rules(blocked)
        detail = next(r["detail"] for r in blocked["reasons"] if r["rule"] == "store.unavailable")
        assert "state store unavailable" in detail and "127.0.0.1" not in detail


def test_store_down_a_benign_claimed_reply_takes_the_proactive_path(
    clock: Clock, tmp_path: Path, uid: Uid
) -> None:
    with down_client(clock, tmp_path) as client:  # default: proactive fails closed
        closed = check(client, uid("b"), uid("u"), kind="reply")
        assert (closed["verdict"], closed["kind"]) == ("block", "proactive")
        assert rules(closed) == [("kind.reply_unverified", "info"), ("store.unavailable", "block")]
    with down_client(clock, tmp_path, "name: open\nstore_failure: {proactive: allow}\n") as client:
        opened = check(client, uid("b"), uid("u"), kind="reply")
        assert (opened["verdict"], opened["kind"]) == ("allow", "proactive")
        assert ("store.unavailable", "info") in rules(opened)


def test_store_down_sexual_content_for_minors_and_pii_still_block(
    clock: Clock, tmp_path: Path, uid: Uid
) -> None:
    policy = (
        "name: minors-open\nstore_failure: {proactive: allow}\n"
        "rules:\n  sexual_content: {enabled: true}\n"
    )
    with down_client(clock, tmp_path, policy) as client:
        minor = {"is_minor": True}
        sexual = check(client, uid("b"), uid("u"), text="send me a naked photo", user=minor)
        assert sexual["verdict"] == "block" and ("sexual_content", "block") in rules(sexual)
        card = check(client, uid("b"), uid("u"), text="Your card 4111 1111 1111 1111 is saved")
        assert card["verdict"] == "block" and ("pii", "block") in rules(card), card


# --------------------------------------------------------------------------- 3. in_reply_to


def test_a_reply_to_a_crisis_message_carries_the_resources(
    make_client: MakeClient, clock: Clock, uid: Uid
) -> None:
    client = make_client(assessor="lexicon")
    bot, user = uid("maestro"), uid("lou")
    # The platform's event says the user wrote; its classification has not landed yet.
    assert post_event(client, bot, user, clock.now.isoformat()).status_code == 200
    clock.advance(seconds=20)
    answered = {"text": "im not okay i want to die", "ts": clock.now.isoformat()}
    reply = check(client, bot, user, kind="reply", text="I'm here.", in_reply_to=answered)
    assert reply["verdict"] == "rewrite" and reply["kind"] == "reply", reply
    assert ("crisis_resources", "rewrite") in rules(reply)
    assert reply["text"].startswith("I'm here.") and len(reply["text"]) > len("I'm here.") + 20
    assessed = next(r["detail"] for r in reply["reasons"] if r["rule"] == "user.context")
    assert "ideation" in assessed
    # The risk is on record: proactive outreach is held, and the help is not repeated.
    clock.advance(minutes=5)
    held = check(client, bot, user, kind="proactive")
    assert held["verdict"] == "block" and ("risk_hold", "block") in rules(held)
    again = check(client, bot, user, kind="reply", text="Still here.")
    assert again["verdict"] == "allow" and again["text"] == "Still here."


def test_in_reply_to_is_validated(make_client: MakeClient, clock: Clock, uid: Uid) -> None:
    client = make_client(assessor="lexicon")
    ahead = (clock.now + timedelta(hours=1)).isoformat()
    for bad in ({"text": ""}, {"text": "hi", "ts": ahead}, {"text": "hi", "extra": 1}):
        refused = post_check(client, uid("b"), uid("u"), in_reply_to=bad)
        assert refused.status_code == 422, (bad, refused.text)
    benign = check(client, uid("b"), uid("u"), in_reply_to={"text": "what's on tonight?"})
    assert any("no self-harm risk" in r["detail"] for r in benign["reasons"])


# --------------------------------------------------------------------------- 4. user facts

BOT_KEY = "bot-key-0123456789abcdef"
BOT_AUTH = {"Authorization": f"Bearer {BOT_KEY}"}


def policy_set(folder: Path, default: str = "name: default\n") -> Path:
    folder.mkdir(exist_ok=True)
    (folder / "default.yaml").write_text(default, encoding="utf-8")
    (folder / "fr.yaml").write_text(
        "name: fr\nstrictness: 5\nmatch: {jurisdictions: [FR]}\n", encoding="utf-8"
    )
    (folder / "us.yaml").write_text(
        "name: us\nstrictness: 1\nmatch: {jurisdictions: [US]}\n", encoding="utf-8"
    )
    (folder / "minors.yaml").write_text(
        "name: minors\nmatch: {minors: true}\nrules:\n  sexual_content: {enabled: true}\n",
        encoding="utf-8",
    )
    return folder


def facts_client(make_client: MakeClient, folder: Path) -> TestClient:
    keys = [{"name": "bot", "tenant": "default", "key": BOT_KEY}]
    return make_client(policy=folder, keys=keys)


def test_a_known_jurisdiction_is_not_undone_by_the_bot(
    make_client: MakeClient, tmp_path: Path, uid: Uid
) -> None:
    client = facts_client(make_client, policy_set(tmp_path / "set"))
    bot, user = uid("b"), uid("u")
    assert check(client, bot, user, user={"jurisdiction": "FR"})["policy"] == "fr"
    later = check(client, bot, user, user={"jurisdiction": "US"})
    assert later["policy"] == "fr"
    note = next(r["detail"] for r in later["reasons"] if r["rule"] == "user.context")
    assert "US" in note and "FR" in note
    assert check(client, bot, user)["policy"] == "fr"  # leaving it out does not help either


def test_platform_evidence_decides_and_the_bot_cannot_overrule_it(
    make_client: MakeClient, clock: Clock, tmp_path: Path, uid: Uid
) -> None:
    client = facts_client(make_client, policy_set(tmp_path / "set"))
    bot, user = uid("b"), uid("u")
    ts = clock.now.isoformat()
    # The ingest side (here the admin key) reports a French minor before any request.
    body = {"type": "delivered", "bot_id": bot, "user_id": user, "ts": ts,
            "jurisdiction": "FR", "is_minor": True}  # fmt: skip
    assert client.post("/v1/events", json=body, headers=AUTH).status_code == 200
    claimed = check(client, bot, user, user={"jurisdiction": "US", "is_minor": False})
    assert claimed["policy"] == "fr"  # a jurisdiction outranks minors in this set
    notes = " ".join(r["detail"] for r in claimed["reasons"] if r["rule"] == "user.context")
    assert "adult" in notes and "ingest" in notes
    # A bot key's event only fills gaps: it cannot move the user to the US.
    bot_event = {**body, "jurisdiction": "US", "is_minor": False}
    assert client.post("/v1/events", json=bot_event, headers=BOT_AUTH).status_code == 200
    assert check(client, bot, user, user={"is_minor": False})["policy"] == "fr"
    # Platform evidence may correct the record.
    fix = {**body, "jurisdiction": "US", "is_minor": False}
    assert client.post("/v1/events", json=fix, headers=AUTH).status_code == 200
    assert check(client, bot, user)["policy"] == "us"
    assert check(client, bot, uid("other"), user={"is_minor": True})["policy"] == "minors"


def test_a_minor_stays_a_minor_when_the_bot_says_adult(
    make_client: MakeClient, tmp_path: Path, uid: Uid
) -> None:
    client = facts_client(make_client, policy_set(tmp_path / "set"))
    bot, user = uid("b"), uid("u")
    assert check(client, bot, user, user={"is_minor": True})["policy"] == "minors"
    assert check(client, bot, user, user={"is_minor": False})["policy"] == "minors"
    adult = uid("adult")
    assert check(client, bot, adult, user={"is_minor": False})["policy"] == "default"
    # ...but an adult on record may still be marked a minor (the stricter answer).
    assert check(client, bot, adult, user={"is_minor": True})["policy"] == "minors"


def test_unknown_facts_can_be_required(make_client: MakeClient, tmp_path: Path, uid: Uid) -> None:
    default = "name: default\nunknown_user: {jurisdiction: require}\n"
    client = facts_client(make_client, policy_set(tmp_path / "set", default))
    refused = check(client, uid("b"), uid("u"))
    assert refused["verdict"] == "block" and rules(refused) == [("user.unknown", "block")]
    assert "user.jurisdiction" in refused["reasons"][0]["detail"]
    assert check(client, uid("b"), uid("u"), user={"jurisdiction": "US"})["policy"] == "us"


def test_unknown_facts_can_pick_the_strictest(
    make_client: MakeClient, tmp_path: Path, uid: Uid
) -> None:
    default = "name: default\nunknown_user: {jurisdiction: strictest, minor: strictest}\n"
    client = facts_client(make_client, policy_set(tmp_path / "set", default))
    # minor unknown, jurisdiction known (no policy of its own): decided as for a minor
    assert check(client, uid("b"), uid("u"), user={"jurisdiction": "DE"})["policy"] == "minors"
    # minor known adult, jurisdiction unknown: the strictest jurisdiction policy (fr, 5)
    adult = check(client, uid("b"), uid("adult"), user={"is_minor": False})
    assert adult["policy"] == "fr"
    assert any("strictest" in r["detail"] for r in adult["reasons"])


# --------------------------------------------------------------------------- 5. leaks


def test_serve_prints_no_passwords() -> None:
    redis = Settings(redis_url="redis://:s3cret@cache.internal:6380/2", audit_per_replica=True)
    assert targets(redis) == "redis redis://***@cache.internal:6380/2"
    audit = Settings(db="x.db", audit_url="postgresql://audit:pw0rd@db.internal/guard")
    assert "pw0rd" not in targets(audit) and "db.internal/guard" in targets(audit)
    local = Settings(redis_url="redis://localhost:6379/0", audit_per_replica=True)
    assert targets(local).endswith("localhost:6379/0")


def test_policies_show_only_the_keys_tenant(make_client: MakeClient, tmp_path: Path) -> None:
    folder = tmp_path / "set"
    folder.mkdir()
    (folder / "default.yaml").write_text("name: default\n")
    (folder / "acme.yaml").write_text("name: acme-only\nmatch: {tenants: [acme]}\n")
    (folder / "globex.yaml").write_text("name: globex-only\nmatch: {tenants: [globex]}\n")
    keys = [{"name": "acme", "tenant": "acme", "key": "acme-key-0123456789"}]
    client = make_client(policy=folder, keys=keys)
    mine = {"Authorization": "Bearer acme-key-0123456789"}
    listed = {p["name"] for p in client.get("/v1/policies", headers=mine).json()["policies"]}
    assert listed == {"default", "acme-only"}
    admin = {p["name"] for p in client.get("/v1/policies", headers=AUTH).json()["policies"]}
    assert admin == {"default"}  # the admin key belongs to the default tenant


def test_deeply_nested_bodies_are_4xx(make_client: MakeClient) -> None:
    secret = "3f1c0e5b9a7d4e2f8c6b1a0d9e8f7c6b"
    client = make_client(whatsapp={"app_secret": secret})
    deep = b"[" * 10_000 + b"]" * 10_000
    nested = b'{"object":' + deep + b"}"
    signature = "sha256=" + hmac.new(secret.encode(), nested, hashlib.sha256).hexdigest()
    headers = {"X-Hub-Signature-256": signature, "Content-Type": "application/json"}
    hook = client.post("/v1/webhooks/whatsapp", content=nested, headers=headers)
    assert 400 <= hook.status_code < 500, hook.text
    for path in ("/v1/outreach/check", "/v1/events", "/v1/classify"):
        response = client.post(path, content=nested, headers={**AUTH, **headers})
        assert 400 <= response.status_code < 500, (path, response.text)
        json.loads(response.text)  # a proper error body


def test_a_non_ascii_whatsapp_signature_is_refused(make_client: MakeClient) -> None:
    client = make_client(whatsapp={"app_secret": "3f1c0e5b9a7d4e2f8c6b1a0d9e8f7c6b"})
    body = b'{"object":"whatsapp_business_account","entry":[]}'
    for value in (
        "sha256=" + "é" * 64,
        "sha256=" + "٣" * 64,
        "\uff53\uff48\uff41\uff12\uff15\uff16=" + "a" * 64,
    ):
        headers = {b"X-Hub-Signature-256": value.encode("utf-8")}
        response = client.post("/v1/webhooks/whatsapp", content=body, headers=headers)
        assert response.status_code in (401, 403), response.text
