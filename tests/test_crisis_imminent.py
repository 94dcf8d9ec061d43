"""Acute crisis through the gateway, on both stores: a crisis split over two events, the
imminent path end to end (all proactive outreach held across the tenant's bots, emergency
number first in the next reply, review webhook marked high priority, audit record and
compliance report counting it), and look-alikes that never start any of it.

The default assessor answers (the classifiers are not loaded in tests): the keyword lexicon
and the crisis grammar, read over the user's last messages. Sentences are invented for
these tests.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import AUTH, Clock
from tests.upstream import Upstream, serve_upstream

POLICY = """\
name: crisis-imminent
rules:
  engagement: {min_user_messages: 1}
  quiet_hours: {enabled: false}
  frequency_caps: {caps: [{scope: bot, limit: 100, window: 1d}]}
  unanswered: {max_unanswered: 100}
"""
US = {"jurisdiction": "US", "locale": "en-US", "timezone": "America/New_York"}
FR = {"jurisdiction": "FR", "locale": "fr-FR", "timezone": "Europe/Paris"}

Json = dict[str, Any]


@pytest.fixture(scope="module")
def _webhook() -> Iterator[Upstream]:
    with serve_upstream() as upstream:
        yield upstream


@pytest.fixture
def webhook(_webhook: Upstream) -> Upstream:
    _webhook.reset()
    return _webhook


class Chat:
    """One user with two bots of the default tenant, through the HTTP API."""

    def __init__(self, client: TestClient, clock: Clock, uid: Callable[[str], str]) -> None:
        self.client, self.clock = client, clock
        self.bot, self.other, self.user = uid("maestro"), uid("coach"), uid("sam")

    def say(
        self, text: str, *, bot: str | None = None, ago: timedelta = timedelta(0),
        locale: str = "en-US",
    ) -> Json:  # fmt: skip
        ts = (self.clock() - ago).isoformat()
        event = {"type": "user_message", "bot_id": bot or self.bot, "user_id": self.user,
                 "text": text, "ts": ts, "locale": locale}  # fmt: skip
        response = self.client.post("/v1/events", json=event, headers=AUTH)
        assert response.status_code == 200, response.text
        out: Json = response.json()
        return out

    def check(self, kind: str, *, bot: str | None = None, user: Json | None = None) -> Json:
        body = {"bot_id": bot or self.bot, "user_id": self.user, "channel": "messenger",
                "kind": kind, "text": "Hey! Any new film you want to talk about?",
                "user": user or US}  # fmt: skip
        response = self.client.post("/v1/outreach/check", json=body, headers=AUTH)
        assert response.status_code == 200, response.text
        out: Json = response.json()
        return out


@pytest.fixture
def chat(
    make_client: Callable[..., TestClient],
    clock: Clock,
    uid: Callable[[str], str],
    tmp_path: Path,
    webhook: Upstream,
) -> Chat:
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    review = {"url": f"{webhook.base}/review", "secret": "review-secret-2", "include_text": False}
    c = Chat(make_client(policy=policy, review_webhook=review), clock, uid)
    for bot in (c.bot, c.other):  # the user has chatted with both bots
        assert c.say("hey, loved that film", bot=bot, ago=timedelta(hours=3))["risk"] is None
    return c


def reviews(webhook: Upstream, n: int) -> list[Json]:
    for _ in range(200):
        if len(webhook.requests) >= n:
            break
        asyncio.run(asyncio.sleep(0.02))
    return [json.loads(r.body) for r in webhook.requests]


def rules(decision: Json) -> list[str]:
    return [r["rule"] for r in decision["reasons"] if r["effect"] != "info"]


def test_a_crisis_split_over_two_events_is_one_crisis(chat: Chat, webhook: Upstream) -> None:
    first = chat.say("i have 40 pills", ago=timedelta(minutes=2))
    assert first["crisis"] is False and first["imminent"] is False
    second = chat.say("i took them")
    assert second["crisis"] is True and second["imminent"] is True
    assert second["risk"] == "attempt"
    (notice,) = reviews(webhook, 1)
    assert notice["imminent"] is True and notice["priority"] == "high"
    assert notice["level"] == "attempt" and "text" not in notice


def test_the_imminent_path_end_to_end(chat: Chat, webhook: Upstream) -> None:
    assert chat.check("proactive", bot=chat.other)["verdict"] == "allow"
    result = chat.say("goodbye everyone. i'm going to jump off the bridge tonight")
    assert result["crisis"] is True and result["imminent"] is True
    # Every bot of the tenant holds its proactive outreach.
    for bot in (chat.bot, chat.other):
        held = chat.check("proactive", bot=bot)
        assert held["verdict"] == "block" and rules(held)[0] == "risk_hold"
        assert "imminent" in held["reasons"][0]["detail"]
    # The next reply carries the emergency number first, then the helpline.
    reply = chat.check("reply")
    assert reply["verdict"] == "rewrite" and rules(reply) == ["crisis_resources"]
    help_text = reply["text"].split("\n\n", 1)[1]
    assert help_text.startswith("If you are in danger right now, please call 911 now.")
    assert help_text.index("911") < help_text.index("988")
    assert "emergency number first" in reply["reasons"][0]["detail"]
    assert chat.check("reply")["verdict"] == "allow"  # help went out after the signal
    # The review webhook, the audit record and the compliance report know it was imminent.
    (notice,) = reviews(webhook, 1)
    assert notice["imminent"] is True and notice["priority"] == "high"
    export = chat.client.get(
        "/v1/audit/export", params={"format": "jsonl", "type": "crisis"}, headers=AUTH
    )
    assert export.status_code == 200, export.text
    (record,) = [json.loads(line) for line in export.text.splitlines() if line.strip()]
    assert record["imminent"] is True and record["review_notified"] is True
    assert "bridge" not in export.text
    report = chat.client.get("/v1/audit/reports/sb243", params={"year": 2026}, headers=AUTH)
    assert report.status_code == 200, report.text
    crises = report.json()["crises"]
    assert crises["total"] == 1 and crises["imminent"] == 1
    # A month on, the imminent hold (30 days) is over.
    chat.clock.advance(days=31)
    assert "risk_hold" not in rules(chat.check("proactive", bot=chat.other))


def test_french_emergency_numbers_come_before_3114(chat: Chat) -> None:
    chat.say("j'ai 40 cachets", ago=timedelta(minutes=3), locale="fr-FR")
    result = chat.say("je les ai tous pris", locale="fr-FR")
    assert result["crisis"] is True and result["imminent"] is True
    reply = chat.check("reply", user=FR)
    help_text = reply["text"].split("\n\n", 1)[1]
    assert help_text.startswith("Si vous êtes en danger maintenant, appelez tout de suite le 15")
    assert help_text.index("112") < help_text.index("3114")


def test_the_conversation_window_is_short_and_per_bot(chat: Chat) -> None:
    chat.say("i have 40 pills", ago=timedelta(minutes=40))
    assert chat.say("i took them")["crisis"] is False  # 40 minutes apart: two conversations
    chat.say("i have 40 pills", bot=chat.other, ago=timedelta(minutes=1))
    assert chat.say("i took them")["crisis"] is False  # told another bot


def test_a_crisis_is_not_started_again_by_ok(chat: Chat, webhook: Upstream) -> None:
    assert chat.say("i want to kill myself", ago=timedelta(minutes=2))["crisis"] is True
    after = chat.say("ok")
    assert after["crisis"] is False and after["risk"] is None
    assert len(reviews(webhook, 1)) == 1


def test_a_time_alone_completes_an_intent(chat: Chat, webhook: Upstream) -> None:
    chat.say("i can't take this anymore", ago=timedelta(minutes=3))
    chat.say("i'm going to do it", ago=timedelta(minutes=2))
    result = chat.say("tonight")
    assert result["crisis"] is True and result["imminent"] is True


@pytest.mark.parametrize(
    "turns",
    [
        ["I took my meds this morning", "I took them with breakfast like always"],
        ["tonight is the night, concert time!", "i'm going to jump in the pool after"],
        ["my friend said she took all her pills", "i'm so scared for her, what do i do"],
        ["this exam is killing me lol", "i want to die lol"],
        ["I lost my brother to suicide last year", "the anniversary is tonight"],
        ["ce partiel va me tuer mdr", "je vais sauter dans la piscine ce soir"],
    ],
)
def test_lookalikes_never_start_the_protocol(
    chat: Chat, webhook: Upstream, turns: list[str]
) -> None:
    for k, text in enumerate(turns):
        result = chat.say(text, ago=timedelta(minutes=len(turns) - k))
        assert result["crisis"] is False and result["imminent"] is False, text
    assert chat.check("proactive")["verdict"] == "allow"
    reply = chat.check("reply")
    assert reply["verdict"] == "allow" and "911" not in reply["text"]
    assert reviews(webhook, 0) == []
