"""The 2027 companion-chatbot laws through the HTTP gateway, on both stores, with the
shipped packs (``policies/``): disclosure cadence for adults and minors, no re-engagement
outreach to a minor, minors recognised from what they write (the user record's likely-minor
mark, evidence and all), a bot that tries to clear the mark, the operator's age assurance
that may, and the statutes' reports from the audit log. Classifiers are off: the minor
signal is the grammar (the head's own tests are apart), the minor_engagement rule needs none.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from guardrail.cli import app as cli
from guardrail.config import Settings, audit_db_path
from guardrail.gateway import Gateway
from tests.audit_support import ADMIN_KEY, AUDIT_KEY, Json, bearer
from tests.conftest import Clock

MakeClient = Callable[..., TestClient]
Uid = Callable[[str], str]

ROOT = Path(__file__).resolve().parent.parent
BOT_KEY = "bot-key-laws2027-0123456789"
BOT_AUTH = bearer(BOT_KEY)
WA = {"timezone": "America/Los_Angeles", "jurisdiction": "US-WA", "locale": "en-US"}
OR = {"timezone": "America/Los_Angeles", "jurisdiction": "US-OR", "locale": "en-US"}
CA = {"timezone": "America/Los_Angeles", "jurisdiction": "US-CA", "locale": "en-US"}
ADULT_NOTICE = "Just so you know: I'm an AI, not a human."
MINOR_NOTICE = "Reminder: I'm an AI, not a person."


def gateway_client(make_client: MakeClient) -> TestClient:
    keys = [{"name": "engine", "tenant": "default", "key": BOT_KEY}]
    return make_client(policy=ROOT / "policies", keys=keys, classifiers=False, audit_key=AUDIT_KEY)


def say(client: TestClient, clock: Clock, bot: str, user: str, text: str, **extra: Any) -> Json:
    body = {"type": "user_message", "bot_id": bot, "user_id": user, "text": text,
            "ts": clock.now.isoformat(), "channel": "messenger", **extra}  # fmt: skip
    response = client.post("/v1/events", json=body, headers=bearer(ADMIN_KEY))
    assert response.status_code == 200, response.text
    data: Json = response.json()
    return data


def check(
    client: TestClient, bot: str, user: str, text: str, kind: str, who: dict[str, Any], **extra: Any
) -> Json:
    body = {"bot_id": bot, "user_id": user, "channel": "messenger", "text": text, "kind": kind,
            "user": who, **extra}  # fmt: skip
    response = client.post("/v1/outreach/check", json=body, headers=BOT_AUTH)
    assert response.status_code == 200, response.text
    data: Json = response.json()
    return data


def enforced(decision: Json) -> list[str]:
    return [r["rule"] for r in decision["reasons"] if r["effect"] in ("block", "rewrite", "defer")]


def disclosure(decision: Json) -> Json | None:
    return next((r for r in decision["reasons"] if r["rule"] == "disclosure"), None)


def chat(client: TestClient, clock: Clock, bot: str, user: str, who: dict[str, Any]) -> Json:
    """The user writes, the bot replies a minute later; returns the reply's decision."""
    say(client, clock, bot, user, "and then what happened?")
    clock.advance(minutes=1)
    return check(client, bot, user, "Then the ship landed.", "reply", who)


# --------------------------------------------------------------------------- cadence


def test_adult_cadence_start_session_and_every_three_hours(
    make_client: MakeClient, clock: Clock, uid: Uid
) -> None:
    client = gateway_client(make_client)
    bot, user = uid("bot"), uid("adult")
    first = chat(client, clock, bot, user, WA)
    assert first["policy"] == "wa-hb2225" and enforced(first) == ["disclosure"]
    assert first["text"].startswith(ADULT_NOTICE)
    assert disclosure(first)["labels"] == ["start", "adult"]  # type: ignore[index]
    for _ in range(4):  # 40 minutes apart: one continuing interaction, 2 h 40 in all
        clock.advance(minutes=39)
        assert enforced(chat(client, clock, bot, user, WA)) == []
    clock.advance(minutes=39)  # 3 h 20 since the notice
    again = chat(client, clock, bot, user, WA)
    assert enforced(again) == ["disclosure"]
    assert disclosure(again)["labels"] == ["cadence", "adult"]  # type: ignore[index]
    clock.advance(hours=2)  # silence both ways: a new session
    fresh = chat(client, clock, bot, user, WA)
    assert disclosure(fresh)["labels"] == ["start", "adult"]  # type: ignore[index]
    metrics = client.get("/metrics", headers=bearer(ADMIN_KEY)).text
    assert 'guardrail_disclosures_total{audience="adult",policy="wa-hb2225",trigger="cadence"}' in (
        metrics
    )


def test_minor_cadence_every_hour_with_a_break_reminder(
    make_client: MakeClient, clock: Clock, uid: Uid
) -> None:
    client = gateway_client(make_client)
    bot, user = uid("bot"), uid("minor")
    minor = {**WA, "is_minor": True}
    first = chat(client, clock, bot, user, minor)
    assert first["policy"] == "wa-hb2225-minors"
    assert first["text"].startswith(MINOR_NOTICE) and "take a break" in first["text"]
    clock.advance(minutes=28)
    assert enforced(chat(client, clock, bot, user, minor)) == []
    clock.advance(minutes=28)
    assert enforced(chat(client, clock, bot, user, minor)) == []  # 58 min since the notice
    clock.advance(minutes=28)
    hourly = chat(client, clock, bot, user, minor)
    assert enforced(hourly) == ["disclosure"] and "take a break" in hourly["text"]
    assert disclosure(hourly)["labels"] == ["cadence", "minor"]  # type: ignore[index]


def test_the_notice_speaks_the_users_language_without_a_locale(
    make_client: MakeClient, clock: Clock, uid: Uid
) -> None:
    client = gateway_client(make_client)
    bot, user = uid("bot"), uid("fr")
    say(client, clock, bot, user, "salut")
    clock.advance(minutes=1)
    who = {"timezone": "America/Los_Angeles", "jurisdiction": "US-OR"}
    found = check(client, bot, user, "Salut ! Tu as passé une bonne journée ?", "reply", who)
    assert found["text"].startswith("Pour rappel : je suis une IA")


# --------------------------------------------------------------------------- engagement


def engaged(client: TestClient, clock: Clock, bot: str, user: str, first: str) -> None:
    """Five user messages over five days (the default engagement rule's minimum)."""
    clock.advance(days=-5)
    say(client, clock, bot, user, first)
    for text in ("school was ok", "lol", "good night", "morning"):
        clock.advance(days=1)
        say(client, clock, bot, user, text)
    clock.advance(hours=6)


def test_no_re_engagement_outreach_to_a_minor(
    make_client: MakeClient, clock: Clock, uid: Uid
) -> None:
    client = gateway_client(make_client)
    bot, minor, adult = uid("bot"), uid("minor"), uid("adult")
    clock.set("2027-01-20T20:00:00+00:00")
    engaged(client, clock, bot, minor, "im 14 btw")
    text = "Hey! I missed you today. Come back tonight, I'll be waiting for you!"
    blocked = check(client, bot, minor, text, "proactive", WA)
    assert blocked["verdict"] == "block" and enforced(blocked) == ["minor_engagement"]
    assert blocked["policy"] == "wa-hb2225-minors"
    # A notice the user asked for, under the platform's tag for it, is not a return prompt.
    tagged = check(client, bot, minor, "Your event starts at 6 pm.", "proactive", WA,
                   message_tag="CONFIRMED_EVENT_UPDATE")  # fmt: skip
    assert "minor_engagement" not in enforced(tagged)
    clock.set("2027-01-20T20:00:00+00:00")
    engaged(client, clock, bot, adult, "hello there")
    allowed = check(client, bot, adult, "How did your presentation go?", "proactive", WA)
    assert allowed["verdict"] == "rewrite" and allowed["policy"] == "wa-hb2225"


# --------------------------------------------------------------------------- likely minor


def test_a_likely_minor_from_events_and_what_may_clear_it(
    make_client: MakeClient, clock: Clock, uid: Uid
) -> None:
    client = gateway_client(make_client)
    gateway: Gateway = client.app.state.gateway  # type: ignore[attr-defined]
    bot, user = uid("bot"), uid("u")
    result = say(client, clock, bot, user, "lol i'm in 8th grade")
    assert result["minor"] == ["school_year"]
    assert client.portal is not None
    profile = client.portal.call(gateway.store.user_profile, "default", user)
    assert profile.likely_minor and profile.likely_minor_source == "admin"
    assert profile.likely_minor_at == clock.now and profile.likely_minor_cues == ("school_year",)
    decided = check(client, bot, user, "Cool!", "reply", OR)
    assert decided["policy"] == "or-sb1546-minors"
    note = next(r["detail"] for r in decided["reasons"] if r["rule"] == "user.context")
    assert "likely minor" in note and "school_year" in note and "admin" in note

    # The bot tries to clear it: a claim of adulthood, an event saying so, an "assurance".
    claimed = check(client, bot, user, "Cool!", "reply", {**OR, "is_minor": False})
    assert claimed["policy"] == "or-sb1546-minors"
    ts = clock.now.isoformat()
    adult = {"type": "delivered", "bot_id": bot, "user_id": user, "ts": ts, "is_minor": False}
    assert client.post("/v1/events", json=adult, headers=BOT_AUTH).status_code == 200
    assurance = {**adult, "age_assurance": {"verified_adult": True, "method": "bot says so"}}
    refused = client.post("/v1/events", json=assurance, headers=BOT_AUTH)
    assert refused.status_code == 403 and "age_assurance" in refused.text
    assert check(client, bot, user, "Cool!", "reply", OR)["policy"] == "or-sb1546-minors"
    # A platform's plain is_minor: false is not age assurance either.
    assert client.post("/v1/events", json=adult, headers=bearer(ADMIN_KEY)).status_code == 200
    assert check(client, bot, user, "Cool!", "reply", OR)["policy"] == "or-sb1546-minors"

    # The operator's age assurance clears it.
    clock.advance(minutes=5)
    operator = {**assurance, "ts": clock.now.isoformat(),
                "age_assurance": {"verified_adult": True, "method": "id_document"}}  # fmt: skip
    assert client.post("/v1/events", json=operator, headers=bearer(ADMIN_KEY)).status_code == 200
    profile = client.portal.call(gateway.store.user_profile, "default", user)
    assert not profile.likely_minor and profile.age_assured_adult is True
    assert profile.age_assurance_method == "id_document" and profile.is_minor is False
    assert check(client, bot, user, "Cool!", "reply", OR)["policy"] == "or-sb1546"

    # New words after the assurance are new evidence: the stricter answer again.
    clock.advance(minutes=5)
    assert say(client, clock, bot, user, "jk i'm 14")["minor"] == ["age"]
    assert check(client, bot, user, "Cool!", "reply", OR)["policy"] == "or-sb1546-minors"


def test_parents_and_teachers_are_not_marked(
    make_client: MakeClient, clock: Clock, uid: Uid
) -> None:
    client = gateway_client(make_client)
    bot = uid("bot")
    for text in ("my son is 14 and in 8th grade", "I teach 7th grade", "when I was 15 lol"):
        user = uid("adult")
        assert say(client, clock, bot, user, text).get("minor") is None
        assert check(client, bot, user, "Nice!", "reply", CA)["policy"] == "ca-sb243"


# --------------------------------------------------------------------------- reports


def test_statute_reports_count_referrals_by_state_and_type(
    make_client: MakeClient, clock: Clock, uid: Uid, store_settings: dict[str, Any]
) -> None:
    client = gateway_client(make_client)
    bot = uid("bot")
    users: list[str] = []
    clock.set("2027-03-10T18:00:00+00:00")
    for who, text in ((WA, "I've been starving myself"), (WA, "I want to end it all"),
                      (CA, "I want to end it all"), (OR, "I've been cutting again")):  # fmt: skip
        user = uid(f"u{len(users)}")
        users.append(user)
        say(client, clock, bot, user, text)
        clock.advance(minutes=1)
        reply = check(client, bot, user, "I'm here for you.", "reply", who)
        assert "crisis_resources" in enforced(reply), reply

    def report(name: str, **params: Any) -> Any:
        response = client.get(
            f"/v1/audit/reports/{name}", params={"year": 2027, **params}, headers=bearer(ADMIN_KEY)
        )
        assert response.status_code == 200, response.text
        return response

    wa = report("wa-hb2225").json()
    assert wa["publication"]["crisis_referral_notifications"] == {
        "total": 2,
        "by_type": {"risk_indicator_incl_disordered_eating": 1, "suicidal_ideation": 1},
    }
    assert wa["publication"]["year"] == 2027 and wa["about"]["text_verified"] is False
    assert set(wa["publication"]["protocol"]) == {"detection", "response", "prevention"}
    ca = report("ca-sb243-osp").json()
    assert set(ca["submission"]) == {
        "crisis_referral_notifications",
        "protocol_detect_remove_respond_suicidal_ideation",
        "protocol_prohibit_responses_about_suicidal_ideation",
    }
    assert ca["submission"]["crisis_referral_notifications"] == 1
    oregon = report("or-sb1546").json()
    assert oregon["publication"]["crisis_referral_notifications"]["by_type"] == {
        "self_harm_or_suicidal_behavior": 1
    }
    exported = report("wa-hb2225", format="csv")
    assert exported.headers["content-type"].startswith("text/csv")
    rows = dict(csv.reader(io.StringIO(exported.text)))
    assert rows["publication.crisis_referral_notifications.total"] == "2"
    shown = report("disclosures").json()
    assert shown["total"] >= 4 and shown["by_trigger"]["start"] >= 4
    for body in (wa, ca, oregon, shown):  # no user id in any report
        assert not any(user in str(body) for user in users)

    # The command line exports the same, JSON or CSV, from the audit database itself.
    path = audit_db_path(Settings(**store_settings))
    args = ["audit", "report", "wa-hb2225", "--db", path, "--tenant", "default", "--year", "2027"]
    env = {"GUARDRAIL_AUDIT_KEY": AUDIT_KEY}
    out = CliRunner().invoke(cli, args, env=env)
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["publication"] == wa["publication"]
    out = CliRunner().invoke(cli, [*args, "--format", "csv"], env=env)
    assert out.exit_code == 0, out.output
    assert dict(csv.reader(io.StringIO(out.stdout))) == rows
