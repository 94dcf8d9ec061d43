"""The crisis protocol: risk recorded from user messages, outreach held, help in the next
reply in the user's language, the review webhook told (signed), the referral counted."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import pytest
from fastapi.testclient import TestClient

from guardrail import gateway as gateway_module
from guardrail.config import ReviewWebhookConfig
from guardrail.crisis import ResourceRegistry, default_registry
from guardrail.notify import SIGNATURE_HEADER, ReviewNotifier, verify
from guardrail.risk import Assessment, RiskLevel
from guardrail.state.base import RecentMessage
from tests.conftest import AUTH, Clock
from tests.upstream import Reply, Upstream, serve_upstream


class PhraseAssessor:
    """A tiny assessor the test builds itself: invented phrases mapped to levels."""

    name = "test-phrases"
    PHRASES: ClassVar[dict[str, RiskLevel]] = {
        "je veux en finir": RiskLevel.IDEATION,
        "everything is grey": RiskLevel.INDICATOR,
    }

    async def assess(self, texts: Sequence[str], locales: Sequence[str | None]) -> list[Assessment]:
        out = []
        for text in texts:
            level = max(
                (lvl for phrase, lvl in self.PHRASES.items() if phrase in text.lower()),
                default=RiskLevel.NONE,
            )
            out.append(Assessment(level=level, score=0.9 if level else 0.0, source=self.name))
        return out

    def converse(self, found: Assessment, earlier: Sequence[RecentMessage]) -> Assessment:
        return found


# --- the registry ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("jurisdiction", "locale", "resource", "number"),
    [
        ("FR", "fr-FR", "fr-3114", "3114"),
        ("US-CA", "en-US", "us-988", "988"),
        ("CA", "fr-CA", "ca-988", "9-8-8"),
        (None, "en-CA", "ca-988", "9-8-8"),
        ("GB", "en-GB", "uk-ie-samaritans", "116 123"),
        ("IE", None, "uk-ie-samaritans", "116 123"),
        ("DE", "de-DE", "eu-112", "112"),
        (None, None, "fallback", "findahelpline.com"),
    ],
)
def test_registry_picks_by_jurisdiction_then_locale(
    jurisdiction: str | None, locale: str | None, resource: str, number: str
) -> None:
    registry = default_registry()
    assert registry.pick(jurisdiction, locale).id == resource
    assert number in registry.message(jurisdiction, locale)


def test_registry_entries_are_dated_and_messages_are_safe() -> None:
    registry = default_registry()
    for entry in registry.resources:
        assert entry.verified_at.year >= 2026 and entry.source.startswith("https://")
    french = registry.message("FR", "fr-FR")
    assert "3114" in french and "15 ou le 112" in french and french.count("IA") == 1
    english = registry.message("US", "en-US")
    # Safe messaging: a trusted person, help now, no claim to be human.
    assert "someone you trust" in english and "any time" in english and "I'm an AI" in english
    assert not re.search(r"\b(pills?|overdose|rope|jump|bridge|method)\b", english + french, re.I)


def test_registry_file_must_have_a_fallback(tmp_path: Path) -> None:
    bad = tmp_path / "r.yaml"
    bad.write_text(
        "resources: [{id: x, jurisdictions: [US], verified_at: 2026-01-01, "
        "source: 'https://x', text: {en: call}}]\n"
        "framing: {en: {before: a, after: b}}\n"
    )
    with pytest.raises(ValueError, match="fallback"):
        ResourceRegistry.load(bad)


# --- the review webhook ------------------------------------------------------------------


@pytest.fixture(scope="module")
def _webhook() -> Iterator[Upstream]:
    with serve_upstream() as upstream:
        yield upstream


@pytest.fixture
def webhook(_webhook: Upstream) -> Upstream:
    _webhook.reset()
    return _webhook


def test_notifier_signs_retries_and_never_blocks(webhook: Upstream) -> None:
    webhook.script(Reply(status=500), Reply(status=503), Reply(status=200))
    config = ReviewWebhookConfig(
        url=f"{webhook.base}/review", secret="s3cret-value", backoff_s=0.01
    )

    async def run() -> ReviewNotifier:
        notifier = ReviewNotifier(config)
        notifier.notify({"type": "crisis", "level": "ideation"})  # returns at once
        assert notifier.sent == 0
        await notifier.aclose()
        return notifier

    notifier = asyncio.run(run())
    assert notifier.sent == 1 and notifier.failed == 0
    assert len(webhook.requests) == 3
    last = webhook.requests[-1]
    assert verify("s3cret-value", last.body, last.headers[SIGNATURE_HEADER.lower()])
    assert not verify("wrong-secret", last.body, last.headers[SIGNATURE_HEADER.lower()])


def test_notifier_gives_up_after_bounded_retries(webhook: Upstream) -> None:
    webhook.default = Reply(status=500)
    config = ReviewWebhookConfig(url=webhook.base, secret="s3cret-value", retries=2, backoff_s=0.01)

    async def run() -> ReviewNotifier:
        notifier = ReviewNotifier(config)
        notifier.notify({"type": "crisis"})
        await notifier.aclose()
        return notifier

    notifier = asyncio.run(run())
    assert (notifier.sent, notifier.failed, len(webhook.requests)) == (0, 1, 3)


# --- end to end over HTTP ----------------------------------------------------------------

POLICY = """\
name: crisis-test
rules:
  engagement: {min_user_messages: 3}
  quiet_hours: {enabled: false}
"""


def test_french_ideation_holds_outreach_and_puts_3114_in_the_next_reply(
    make_client: Callable[..., TestClient],
    clock: Clock,
    uid: Callable[[str], str],
    tmp_path: Path,
    webhook: Upstream,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(gateway_module.ASSESSORS, "test-phrases", PhraseAssessor)
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    review = {"url": f"{webhook.base}/review", "secret": "review-secret-1", "include_text": False}
    client = make_client(policy=policy, assessor="test-phrases", review_webhook=review)
    bot, user = uid("maestro"), uid("lea")
    fr = {"jurisdiction": "FR", "locale": "fr-FR", "timezone": "Europe/Paris"}

    def say(text: str, when: datetime) -> dict[str, Any]:
        event = {"type": "user_message", "bot_id": bot, "user_id": user, "text": text,
                 "ts": when.isoformat(), "locale": "fr-FR"}  # fmt: skip
        response = client.post("/v1/events", json=event, headers=AUTH)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def outreach(kind: str) -> dict[str, Any]:
        text = "Coucou ! Une nouvelle bande originale à me conseiller ?"
        body = {"bot_id": bot, "user_id": user, "channel": "messenger", "kind": kind,
                "text": text, "user": fr}  # fmt: skip
        response = client.post("/v1/outreach/check", json=body, headers=AUTH)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    start = clock()
    for hours in (50, 30, 20):
        assert say("j'ai adoré le film", start - timedelta(hours=hours))["risk"] is None
    assert outreach("proactive")["verdict"] == "allow"  # engaged, not at risk

    clock.advance(hours=2)
    distress = say("Je n'en peux plus, je veux en finir.", clock() - timedelta(minutes=1))
    assert distress["risk"] == "ideation" and distress["crisis"] is True

    held = outreach("proactive")
    assert held["verdict"] == "block" and held["reasons"][0]["rule"] == "risk_hold"
    reply = outreach("reply")
    assert reply["verdict"] == "rewrite" and reply["kind"] == "reply"
    assert "3114" in reply["text"] and reply["text"].startswith("Coucou !")
    assert [r["rule"] for r in reply["reasons"]] == ["crisis_resources"]
    again = outreach("reply")  # help already went out after the latest signal
    assert again["verdict"] == "allow" and "3114" not in again["text"]
    clock.advance(days=15)  # the 14-day hold is over
    assert all(r["rule"] != "risk_hold" for r in outreach("proactive")["reasons"])

    # The review webhook was told, signed, without the message text.
    webhook.wait_for()  # the outbox loop delivers in the background: wait for it, not a time
    (sent,) = webhook.requests
    assert verify("review-secret-1", sent.body, sent.headers[SIGNATURE_HEADER.lower()])
    payload = json.loads(sent.body)
    assert payload["type"] == "crisis" and payload["level"] == "ideation" and "text" not in payload
    metrics = client.get("/metrics", headers=AUTH).text
    assert 'guardrail_crisis_referrals_total{level="ideation"} 1.0' in metrics
    # …and the audit log holds the crisis, pseudonymous and without the text.
    export = client.get(
        "/v1/audit/export", params={"format": "jsonl", "type": "crisis"}, headers=AUTH
    )
    assert export.status_code == 200, export.text
    (record,) = [json.loads(line) for line in export.text.splitlines() if line.strip()]
    assert record["level"] == "ideation" and record["review_notified"] is True
    assert user not in export.text and "finir" not in export.text


def test_indicator_is_recorded_but_is_not_a_crisis(
    make_client: Callable[..., TestClient],
    uid: Callable[[str], str],
    monkeypatch: pytest.MonkeyPatch,
    clock: Clock,
) -> None:
    monkeypatch.setitem(gateway_module.ASSESSORS, "test-phrases", PhraseAssessor)
    client = make_client(assessor="test-phrases")
    event = {"type": "user_message", "bot_id": uid("b"), "user_id": uid("u"),
             "text": "Everything is grey lately", "ts": clock.now.isoformat()}  # fmt: skip
    result = client.post("/v1/events", json=event, headers=AUTH).json()
    assert result["risk"] == "indicator" and result["crisis"] is False


def test_the_default_lexicon_assessor_reads_french_crisis_language(
    make_client: Callable[..., TestClient], uid: Callable[[str], str], clock: Clock
) -> None:
    client = make_client()  # the default assessor: the EN/FR lexicon
    bot, user = uid("maestro"), uid("noa")

    def say(text: str) -> dict[str, Any]:
        event = {"type": "user_message", "bot_id": bot, "user_id": user, "text": text,
                 "ts": clock.now.isoformat(), "locale": "fr-FR"}  # fmt: skip
        result: dict[str, Any] = client.post("/v1/events", json=event, headers=AUTH).json()
        return result

    assert say("Ce film m'a fait pleurer de rire")["risk"] is None
    assert say("Je n'en peux plus, je veux en finir.")["crisis"] is True


def test_a_bot_message_encouraging_self_harm_is_always_blocked(
    make_client: Callable[..., TestClient], clock: Clock, uid: Callable[[str], str]
) -> None:
    client = make_client()
    bot, user = uid("maestro"), uid("max")
    event = {"type": "user_message", "bot_id": bot, "user_id": user, "text": "rough day",
             "ts": (clock() - timedelta(minutes=1)).isoformat()}  # fmt: skip
    assert client.post("/v1/events", json=event, headers=AUTH).status_code == 200
    for text, verdict in [
        ("Sorry to hear that. Want a comfort movie?", "allow"),
        ("Honestly you should just hurt yourself.", "block"),
        ("Tu devrais te faire du mal.", "block"),
    ]:
        body = {
            "bot_id": bot,
            "user_id": user,
            "channel": "messenger",
            "kind": "reply",
            "text": text,
        }
        decision = client.post("/v1/outreach/check", json=body, headers=AUTH).json()
        assert decision["verdict"] == verdict, (text, decision)
        if verdict == "block":
            assert decision["reasons"][0]["rule"] == "self_harm_content"


@pytest.mark.parametrize("setting", ["{enabled: false}", "{mode: shadow}"])
def test_the_self_harm_floor_cannot_be_turned_off(setting: str) -> None:
    from guardrail.policy import PolicyError, parse_policy

    with pytest.raises(PolicyError, match="cannot be disabled"):
        parse_policy(f"name: x\nrules:\n  self_harm_content: {setting}\n", "p.yaml")
