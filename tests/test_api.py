"""The HTTP API end to end: auth, input checks, decisions, idempotency, consent, operations.

Every test drives the real app through TestClient on both stores (SQLite and the real
Redis server); nothing is mocked.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from guardrail.app import create_app
from guardrail.config import Settings
from tests.conftest import API_KEY, AUTH, Clock, wait_ready

Json = dict[str, Any]
MakeClient = Callable[..., TestClient]
Uid = Callable[[str], str]

PROACTIVE_TEXT = "Morning! The jazz quartet you liked is playing downtown on Friday, fancy a look?"
USER_CHAT = [
    "any good thrillers this month?",
    "ooh that one sounds great, adding it to my list",
    "watched it last night, the ending got me",
    "can you find something lighter for the weekend?",
    "perfect, thanks a lot",
]


def iso(dt: datetime) -> str:
    return dt.isoformat()


def check(
    client: TestClient,
    bot: str,
    user: str,
    *,
    headers: dict[str, str] = AUTH,
    status: int = 200,
    **extra: Any,
) -> Json:
    body = {"bot_id": bot, "user_id": user, "channel": "messenger", "text": PROACTIVE_TEXT, **extra}
    response = client.post("/v1/outreach/check", json=body, headers=headers)
    assert response.status_code == status, response.text
    data: Json = response.json()
    return data


def event(
    client: TestClient,
    bot: str,
    user: str,
    ts: datetime,
    *,
    type: str = "user_message",
    headers: dict[str, str] = AUTH,
    **extra: Any,
) -> Json:
    body = {"type": type, "bot_id": bot, "user_id": user, "ts": iso(ts), **extra}
    response = client.post("/v1/events", json=body, headers=headers)
    assert response.status_code == 200, response.text
    data: Json = response.json()
    return data


def say(client: TestClient, bot: str, user: str, text: str, ts: datetime, **extra: Any) -> Json:
    return event(client, bot, user, ts, text=text, **extra)


def engage(
    client: TestClient, bot: str, user: str, now: datetime, *, headers: dict[str, str] = AUTH
) -> None:
    """Five user messages over three days, the last 5 h ago: engaged, and no reply pending."""
    offsets = [timedelta(hours=h) for h in (72, 48, 24, 20, 5)]
    for text, offset in zip(USER_CHAT, offsets, strict=True):
        say(client, bot, user, text, now - offset, headers=headers)


def rules(decision: Json) -> list[str]:
    return [r["rule"] for r in decision["reasons"]]


def enforcing(decision: Json) -> list[str]:
    return [r["rule"] for r in decision["reasons"] if r["effect"] in ("block", "defer")]


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


# --------------------------------------------------------------------------- auth


ACME_KEY = "acme-live-7Qv2mX9pL4sT8wRz"
WRONG_KEY = "not-a-key-Hk3Jd8Lq0Zp5Vb2N"


def test_missing_and_wrong_keys_get_401(
    make_client: MakeClient, uid: Uid, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = make_client(
        keys=[{"name": "acme-maestro", "tenant": "acme", "bots": ["maestro"], "key": ACME_KEY}]
    )
    body = {"bot_id": "maestro", "user_id": uid("u"), "channel": "sms", "text": PROACTIVE_TEXT}

    missing = client.post("/v1/outreach/check", json=body)
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == "Bearer"
    assert missing.json()["error"] == "unauthorized"

    for headers in (
        bearer(WRONG_KEY),
        {"Authorization": f"Basic {API_KEY}"},
        {"Authorization": "Bearer "},
        {"Authorization": API_KEY},
    ):
        wrong = client.post("/v1/outreach/check", json=body, headers=headers)
        assert wrong.status_code == 401, headers
        assert wrong.headers["www-authenticate"] == "Bearer"
        assert WRONG_KEY not in wrong.text and API_KEY not in wrong.text

    for route in ("/v1/events", "/v1/outreach/send"):
        assert client.post(route, json=body).status_code == 401
    assert client.get("/v1/policies").status_code == 401

    # Good keys work, and no key, good or bad, is ever logged.
    assert check(client, "maestro", uid("u"), headers=bearer(ACME_KEY))["verdict"] == "block"
    assert check(client, "maestro", uid("u"))["verdict"] == "block"
    logged = caplog.text + " ".join(str(r.args) for r in caplog.records)
    for key in (ACME_KEY, WRONG_KEY, API_KEY):
        assert key not in logged


def test_key_bound_to_bots_gets_403_for_other_bots(make_client: MakeClient, uid: Uid) -> None:
    client = make_client(
        keys=[{"name": "acme-maestro", "tenant": "acme", "bots": ["maestro"], "key": ACME_KEY}]
    )
    acme = bearer(ACME_KEY)
    user = uid("lena")
    assert check(client, "maestro", user, headers=acme)["verdict"] == "block"

    refused = check(client, "concierge", user, headers=acme, status=403)
    assert refused["error"] == "forbidden"
    assert "concierge" in refused["detail"]
    body = {
        "type": "user_message",
        "bot_id": "concierge",
        "user_id": user,
        "ts": "2026-11-20T09:00:00+00:00",
        "text": "hello there",
    }
    assert client.post("/v1/events", json=body, headers=acme).status_code == 403


def test_bot_of_another_tenant_gets_403(make_client: MakeClient, uid: Uid) -> None:
    other_key = "other-tenant-K2n8Wq5Rt1Yx"
    client = make_client(
        bots={"x": {"tenant": "other"}},
        keys=[{"name": "other", "tenant": "other", "key": other_key}],
    )
    user = uid("noor")
    # The default key may speak for every bot, but bot x belongs to tenant "other".
    refused = check(client, "x", user, status=403)
    assert refused["error"] == "forbidden"
    assert check(client, "x", user, headers=bearer(other_key))["verdict"] == "block"
    assert check(client, "unlisted-bot", user)["verdict"] == "block"


# --------------------------------------------------------------------------- bad input


def _post_raw(client: TestClient, content: bytes | str) -> Any:
    headers = {**AUTH, "Content-Type": "application/json"}
    return client.post("/v1/outreach/check", content=content, headers=headers)


def _fields(response: Any) -> list[str]:
    assert response.status_code == 422, response.text
    data = response.json()
    assert data["error"] == "invalid_request"
    return [d["field"] for d in data["detail"]]


def test_bad_requests_are_refused_and_leave_state_intact(
    make_client: MakeClient, clock: Clock, uid: Uid
) -> None:
    client = make_client(max_text_chars=200, max_body_bytes=2048)
    bot, user = uid("maestro"), uid("ines")
    engage(client, bot, user, clock())
    good = {"bot_id": bot, "user_id": user, "channel": "messenger", "text": PROACTIVE_TEXT}

    # Malformed JSON.
    broken = _post_raw(client, '{"bot_id": "' + bot + '", "user_id": ')
    assert broken.status_code == 422
    assert broken.json()["error"] == "invalid_request"
    assert _post_raw(client, "[1, 2, 3]").status_code == 422
    # Bytes that are not even UTF-8 are malformed JSON too.
    assert _post_raw(client, b"\xff\xfe not json").status_code == 422

    # A missing field, named.
    missing = {k: v for k, v in good.items() if k != "user_id"}
    assert "user_id" in _fields(client.post("/v1/outreach/check", json=missing, headers=AUTH))

    # An unknown time zone, named by its path.
    bad_zone = {**good, "user": {"timezone": "Europe/Atlantis"}}
    response = client.post("/v1/outreach/check", json=bad_zone, headers=AUTH)
    assert _fields(response) == ["user.timezone"]
    assert "Europe/Atlantis" in response.json()["detail"][0]["message"]

    # Unknown fields are errors, at the top level and inside user.
    surprise = {**good, "priority": "high"}
    assert _fields(client.post("/v1/outreach/check", json=surprise, headers=AUTH)) == ["priority"]
    nested = {**good, "user": {"age": 17}}
    assert _fields(client.post("/v1/outreach/check", json=nested, headers=AUTH)) == ["user.age"]

    # Wrong enum values and empty text.
    for field, value in (("channel", "carrier-pigeon"), ("kind", "broadcast"), ("text", "")):
        response = client.post("/v1/outreach/check", json={**good, field: value}, headers=AUTH)
        assert _fields(response) == [field]

    # Text over max_text_chars: 413, on checks and on events.
    long_text = "Here is a long recap of every film we talked about this year. " * 4
    assert 200 < len(long_text) < 1024
    too_long = client.post("/v1/outreach/check", json={**good, "text": long_text}, headers=AUTH)
    assert too_long.status_code == 413
    assert too_long.json() == {
        "error": "too_large",
        "detail": f"text is {len(long_text)} characters; the limit is 200",
    }
    long_event = {
        "type": "user_message",
        "bot_id": bot,
        "user_id": user,
        "ts": iso(clock()),
        "text": long_text,
    }
    assert client.post("/v1/events", json=long_event, headers=AUTH).status_code == 413

    # A body over max_body_bytes: 413 before parsing, with or without Content-Length.
    huge = json.dumps({**good, "text": "x" * 3000}).encode()
    sized = _post_raw(client, huge)
    assert sized.status_code == 413
    assert sized.json() == {"error": "too_large", "detail": "body over 2048 bytes"}

    def chunks() -> Any:
        for start in range(0, len(huge), 512):
            yield huge[start : start + 512]

    streamed = client.post(
        "/v1/outreach/check",
        content=chunks(),
        headers={**AUTH, "Content-Type": "application/json"},
    )
    assert "content-length" not in {k.lower() for k in streamed.request.headers}
    assert streamed.status_code == 413, streamed.text
    assert streamed.json() == {"error": "too_large", "detail": "body over 2048 bytes"}

    # Events are strict too: naive timestamps and unknown types are refused.
    naive = {"type": "user_message", "bot_id": bot, "user_id": user, "ts": "2026-11-20T09:00:00"}
    assert _fields(client.post("/v1/events", json=naive, headers=AUTH)) == ["ts"]
    odd = {"type": "typing", "bot_id": bot, "user_id": user, "ts": iso(clock())}
    assert _fields(client.post("/v1/events", json=odd, headers=AUTH)) == ["type"]

    # Nothing was recorded by any of that, and nothing was lost: the user is still engaged.
    after = check(client, bot, user)
    assert after["verdict"] == "allow", after
    assert after["kind"] == "proactive"
    assert client.get("/healthz").status_code == 200


def test_client_ts_far_from_clock(make_client: MakeClient, clock: Clock, uid: Uid) -> None:
    bot, user = uid("maestro"), uid("omar")
    client = make_client()
    engage(client, bot, user, clock())

    backdated = iso(clock() - timedelta(days=3))
    refused = check(client, bot, user, ts=backdated, status=422)
    assert refused["error"] == "invalid_request"
    assert "trust_client_time" in refused["detail"]
    future = iso(clock() + timedelta(hours=1))
    assert check(client, bot, user, ts=future, status=422)["error"] == "invalid_request"

    # Within the allowed skew the client's time is used.
    near = clock() - timedelta(minutes=2)
    decision = check(client, bot, user, ts=iso(near))
    assert datetime.fromisoformat(decision["decided_at"]) == near
    assert decision["verdict"] == "allow"


def test_client_ts_trusted_for_replay(make_client: MakeClient, clock: Clock, uid: Uid) -> None:
    bot, user = uid("maestro"), uid("omar")
    client = make_client(trust_client_time=True)
    sent_at = clock() - timedelta(days=30)
    engage(client, bot, user, sent_at)
    decision = check(client, bot, user, ts=iso(sent_at))
    assert decision["verdict"] == "allow", decision
    assert datetime.fromisoformat(decision["decided_at"]) == sent_at


# --------------------------------------------------------------------------- decisions


def test_reasons_and_policy_version(make_client: MakeClient, uid: Uid) -> None:
    client = make_client()
    decision = check(client, uid("maestro"), uid("zoe"))
    assert decision["verdict"] == "block"
    assert decision["text"] is None
    assert re.fullmatch(r"[0-9a-f]{32}", decision["decision_id"])
    assert decision["policy"] == "default"
    assert decision["policy_version"].startswith("sha256:")
    assert len(decision["policy_version"]) == len("sha256:") + 64
    [reason] = decision["reasons"]
    assert set(reason) == {"rule", "detail", "policy", "effect", "labels"}
    assert reason["rule"] == "user_first"
    assert reason["effect"] == "block"
    assert reason["policy"] == "default"
    assert reason["detail"]

    policies = client.get("/v1/policies", headers=AUTH)
    assert policies.status_code == 200
    assert policies.json()["name"] == "default"
    assert policies.json()["version"] == decision["policy_version"]


def test_kind_inference(make_client: MakeClient, clock: Clock, uid: Uid) -> None:
    client = make_client()
    bot, ana, cleo = uid("maestro"), uid("ana"), uid("cleo")
    engage(client, bot, ana, clock())
    engage(client, bot, cleo, clock())

    # Last user message 5 h ago: proactive, and it uses the 1/day cap.
    first = check(client, bot, ana)
    assert (first["verdict"], first["kind"]) == ("allow", "proactive")
    clock.advance(minutes=30)
    follow_up = check(client, bot, ana)
    assert (follow_up["kind"], enforcing(follow_up)) == ("proactive", ["unanswered"])

    # Ana answers; within the hour the bot's messages are replies: no caps, no unanswered.
    clock.advance(minutes=10)
    say(client, bot, ana, "haha sure, send me the link", clock())
    clock.advance(minutes=5)
    capped = check(client, bot, ana, kind="proactive")
    assert enforcing(capped) == ["frequency_caps"]
    for _ in range(3):
        reply = check(client, bot, ana)
        assert (reply["verdict"], reply["kind"]) == ("allow", "reply"), reply
        assert enforcing(reply) == []
    claimed = check(client, bot, ana, kind="reply")
    assert (claimed["verdict"], claimed["kind"]) == ("allow", "reply")

    # An hour and more after her message, the same request is proactive again.
    clock.advance(hours=1)
    late = check(client, bot, ana)
    assert late["kind"] == "proactive" and late["verdict"] == "block"

    # A claimed reply with no recent user message is treated as proactive.
    unverified = check(client, bot, cleo, kind="reply")
    assert unverified["kind"] == "proactive"
    assert unverified["verdict"] == "allow"
    [reason] = unverified["reasons"]
    assert (reason["rule"], reason["effect"]) == ("kind.reply_unverified", "info")
    # ...and it counted as proactive: the next one is an unanswered follow-up.
    again = check(client, bot, cleo, kind="reply")
    assert again["kind"] == "proactive"
    assert rules(again) == ["kind.reply_unverified", "unanswered"]


# --------------------------------------------------------------------------- idempotency


CAPS_POLICY = """\
name: two-a-day
rules:
  unanswered: {enabled: false}
  engagement: {min_user_messages: 1}
  frequency_caps:
    caps:
      - {scope: bot, limit: 2, window: 1d}
"""


def test_idempotency_key_counts_once(
    make_client: MakeClient, clock: Clock, uid: Uid, tmp_path: Path
) -> None:
    policy = tmp_path / "two-a-day.yaml"
    policy.write_text(CAPS_POLICY, encoding="utf-8")
    client = make_client(policy=policy)
    bot, user = uid("maestro"), uid("hugo")
    say(client, bot, user, "see you tomorrow for the quiz night", clock() - timedelta(hours=6))

    first = check(client, bot, user, idempotency_key=uid("nudge-1"))
    assert first["verdict"] == "allow", first
    assert first["policy"] == "two-a-day"
    assert first["idempotent_replay"] is False
    clock.advance(minutes=1)
    replay = check(client, bot, user, idempotency_key=uid("nudge-1"))
    assert replay["decision_id"] == first["decision_id"]
    assert replay["idempotent_replay"] is True
    assert replay["verdict"] == "allow"
    assert replay["decided_at"] == first["decided_at"]

    # The replay did not count: one of the two daily slots is still free.
    second = check(client, bot, user, idempotency_key=uid("nudge-2"))
    assert second["verdict"] == "allow", second
    assert second["decision_id"] != first["decision_id"]
    third = check(client, bot, user, idempotency_key=uid("nudge-3"))
    assert enforcing(third) == ["frequency_caps"]
    assert "2 sent" in third["reasons"][0]["detail"]


# --------------------------------------------------------------------------- consent


def test_stop_then_start(make_client: MakeClient, clock: Clock, uid: Uid) -> None:
    client = make_client()
    bot, user = uid("maestro"), uid("ana")
    engage(client, bot, user, clock())

    stop = say(client, bot, user, "STOP", clock() - timedelta(hours=3))
    assert (stop["consent"], stop["consent_scope"]) == ("opted_out", "bot")
    assert enforcing(check(client, bot, user)) == ["opt_out"]

    start = say(client, bot, user, "Start", clock() - timedelta(hours=2))
    assert start["consent"] == "opted_in"
    allowed = check(client, bot, user)
    assert allowed["verdict"] == "allow", allowed


def test_stopall_covers_every_bot_of_the_tenant(
    make_client: MakeClient, clock: Clock, uid: Uid
) -> None:
    client = make_client()
    bot_a, bot_b, user = uid("maestro"), uid("concierge"), uid("bea")
    engage(client, bot_b, user, clock())

    stopall = say(client, bot_a, user, "STOPALL", clock() - timedelta(hours=2))
    assert (stopall["consent"], stopall["consent_scope"]) == ("opted_out", "all")
    blocked = check(client, bot_b, user)
    assert enforcing(blocked) == ["opt_out"]
    assert "every bot" in blocked["reasons"][0]["detail"]

    # START to the bot that got the STOPALL lifts it everywhere.
    start = say(client, bot_a, user, "start", clock() - timedelta(hours=1, minutes=30))
    assert (start["consent"], start["consent_scope"]) == ("opted_in", "all")
    assert check(client, bot_b, user)["verdict"] == "allow"


def test_explicit_consent_events(make_client: MakeClient, clock: Clock, uid: Uid) -> None:
    client = make_client()
    bot, other_bot, user = uid("maestro"), uid("concierge"), uid("karim")
    engage(client, bot, user, clock())
    engage(client, other_bot, user, clock())

    out = event(client, bot, user, clock() - timedelta(hours=2), type="opt_out")
    assert out == {
        "accepted": True,
        "duplicate": False,
        "consent": "opted_out",
        "consent_scope": "bot",
        "consent_applied": True,
        "consent_source": "admin",  # the test key is the operator's (GUARDRAIL_API_KEY)
        "detail": f"opted out of bot {bot} (on the word of admin; an opt-in forwarded by the "
        "bot would not undo it)",
        "risk": None,
        "risk_score": None,
        "crisis": False,
        "imminent": False,
        "dependency": None,
        "help_reply": None,
        "sensitive": None,
        "forget": None,
        "minor": None,
    }
    assert enforcing(check(client, bot, user)) == ["opt_out"]
    assert check(client, other_bot, user)["verdict"] == "allow"

    back = event(client, bot, user, clock() - timedelta(hours=1), type="opt_in")
    assert back["consent"] == "opted_in"
    assert check(client, bot, user)["verdict"] == "allow"

    everywhere = event(client, bot, user, clock(), type="opt_out", scope="all")
    assert everywhere["consent_scope"] == "all"
    clock.advance(days=1)
    for b in (bot, other_bot):
        assert enforcing(check(client, b, user)) == ["opt_out"]


def test_duplicate_event_id_counts_once(make_client: MakeClient, clock: Clock, uid: Uid) -> None:
    client = make_client()
    bot, user = uid("maestro"), uid("mira")
    now = clock()
    for i, text in enumerate(USER_CHAT[:4]):
        result = say(client, bot, user, text, now - timedelta(hours=30 - i), event_id=f"mid-{i}")
        assert result == {
            "accepted": True,
            "duplicate": False,
            "consent": None,
            "consent_scope": None,
            "consent_applied": None,
            "consent_source": None,
            "detail": None,
            "risk": None,
            "risk_score": None,
            "crisis": False,
            "imminent": False,
            "dependency": None,
            "help_reply": None,
            "sensitive": None,
            "forget": None,
            "minor": None,
        }
    # The platform redelivers message 3: acknowledged, not counted.
    again = say(client, bot, user, USER_CHAT[3], now - timedelta(hours=27), event_id="mid-3")
    assert again["accepted"] is True and again["duplicate"] is True

    decision = check(client, bot, user)
    assert enforcing(decision) == ["engagement"]
    assert decision["reasons"][0]["detail"].startswith("4 user message(s)")

    # A redelivered STOP is a duplicate too, and an already-seen message never flips consent.
    stop = say(client, bot, user, "STOP", now - timedelta(hours=2), event_id="mid-stop")
    assert stop["consent"] == "opted_out"
    redelivered = say(client, bot, user, "STOP", now - timedelta(hours=2), event_id="mid-stop")
    assert redelivered["duplicate"] is True and redelivered["consent"] is None


# --------------------------------------------------------------------------- operations


def test_probes_metrics_and_policies(
    make_client: MakeClient, store_settings: dict[str, Any], clock: Clock, uid: Uid
) -> None:
    client = make_client()
    # The stage counters are process-wide (every app of the process shows the same ones):
    # what this test adds is measured from here, so earlier tests cannot make it pass.
    before = client.get("/metrics", headers=AUTH).text.splitlines()
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = wait_ready(client)  # the PII detectors the default policy uses load first
    assert ready.status_code == 200
    store = "redis" if "redis_url" in store_settings else "sqlite"
    assert ready.json() == {"ready": True, "store": store, "classifiers": "off", "pii": "ready"}

    bot, user = uid("maestro"), uid("sven")
    check(client, bot, uid("stranger"))
    engage(client, bot, user, clock())
    check(client, bot, user)
    check(client, bot, user)

    metrics = client.get("/metrics", headers=AUTH)
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain")
    lines = metrics.text.splitlines()

    def value(prefix: str, *labels: str, at: list[str] = lines) -> float:
        found = [
            line for line in at if line.startswith(prefix) and all(lb in line for lb in labels)
        ]
        assert len(found) == 1, (prefix, labels, found)
        return float(found[0].rsplit(" ", 1)[1])

    def added(prefix: str, *labels: str) -> float:
        return value(prefix, *labels) - value(prefix, *labels, at=before)

    decisions = "guardrail_decisions_total{"
    assert value(decisions, 'verdict="block"', 'kind="proactive"') == 2
    assert value(decisions, 'verdict="allow"', 'kind="proactive"') == 1
    assert value("guardrail_decision_seconds_count") == 3
    assert value("guardrail_decision_seconds_bucket{", 'le="+Inf"') == 3
    assert value("guardrail_rule_fired_total{", 'rule="user_first"', 'effect="block"') == 1
    assert value("guardrail_rule_fired_total{", 'rule="unanswered"', 'effect="block"') == 1
    assert value("guardrail_events_total{", 'type="user_message"', 'outcome="recorded"') == 5
    assert value("guardrail_store_up") == 1
    # Where the CPU went, by stage: every stage shows, and this test's work is counted.
    for stage in ("rules", "pii", "encoder", "heads", "store", "audit"):
        value("guardrail_stage_cpu_seconds_total{", f'stage="{stage}"')
    assert added("guardrail_stage_items_total{", 'stage="pii"') >= 1  # the allow
    assert added("guardrail_stage_cpu_seconds_total{", 'stage="pii"') > 0
    assert added("guardrail_stage_items_total{", 'stage="audit"') >= 3  # three decisions
    assert added("guardrail_stage_cpu_seconds_total{", 'stage="audit"') > 0

    policies = client.get("/v1/policies", headers=AUTH).json()
    assert policies["name"] == "default"
    assert policies["version"].startswith("sha256:")
    assert policies["policy"]["rules"]["unanswered"]["max_unanswered"] == 1


def test_policies_reports_a_policy_file(make_client: MakeClient, tmp_path: Path) -> None:
    policy = tmp_path / "two-a-day.yaml"
    policy.write_text(CAPS_POLICY, encoding="utf-8")
    body = make_client(policy=policy).get("/v1/policies", headers=AUTH).json()
    default = make_client().get("/v1/policies", headers=AUTH).json()
    assert body["name"] == "two-a-day"
    assert body["source"] == str(policy)
    assert body["version"].startswith("sha256:") and body["version"] != default["version"]
    caps = body["policy"]["rules"]["frequency_caps"]["caps"]
    assert caps == [{"scope": "bot", "limit": 2, "window": "1d"}]


# --------------------------------------------------------------------------- store down


DOWN_REDIS = "redis://127.0.0.1:1/0"


def test_store_down(clock: Clock, uid: Uid) -> None:
    settings = Settings(api_key=API_KEY, redis_url=DOWN_REDIS, audit_db=":memory:")
    with TestClient(create_app(settings, clock=clock)) as client:
        assert client.get("/healthz").status_code == 200
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["ready"] is False
        assert ready.json()["store"] == "redis"

        bot, user = uid("maestro"), uid("pia")
        proactive = check(client, bot, user)
        assert proactive["verdict"] == "block"
        assert proactive["text"] is None
        assert [(r["rule"], r["effect"]) for r in proactive["reasons"]] == [
            ("store.unavailable", "block")
        ]
        keyed = check(client, bot, user, idempotency_key=uid("k"))
        assert keyed["verdict"] == "block"

        # A claimed reply cannot be confirmed without the store: decided as proactive.
        reply = check(client, bot, user, kind="reply")
        assert (reply["verdict"], reply["kind"]) == ("block", "proactive")
        assert [(r["rule"], r["effect"]) for r in reply["reasons"]] == [
            ("kind.reply_unverified", "info"),
            ("store.unavailable", "block"),
        ]
        assert "127.0.0.1" not in ready.text and "Connect" not in ready.text

        body = {
            "type": "user_message",
            "bot_id": bot,
            "user_id": user,
            "ts": iso(clock()),
            "text": "are you there?",
        }
        down = client.post("/v1/events", json=body, headers=AUTH)
        assert down.status_code == 503
        assert down.json()["error"] == "unavailable"
        assert "127.0.0.1" not in down.text  # the cause is logged, not echoed

        metrics = client.get("/metrics", headers=AUTH).text
        assert "guardrail_store_up 0.0" in metrics
        assert 'outcome="store_unavailable"' in metrics
