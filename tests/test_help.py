"""HELP keywords: the event result carries the policy's answer for the engine to send."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient

from guardrail.consent import ConsentDetector, ConsentWords
from tests.conftest import AUTH

POLICIES = Path(__file__).resolve().parents[1] / "policies"


def test_help_keywords_are_whole_messages() -> None:
    detector = ConsentDetector(ConsentWords())
    assert detector.is_help("HELP") and detector.is_help(" Aide ! ") and detector.is_help("info")
    assert not detector.is_help("can you help me with my homework")


def event(uid: Callable[[str], str], text: str, channel: str) -> dict[str, object]:
    return {
        "type": "user_message",
        "bot_id": "maestro",
        "user_id": uid("u"),
        "ts": "2026-11-20T10:00:00+00:00",
        "text": text,
        "channel": channel,
    }


def test_help_is_answered_where_a_policy_has_a_reply(
    make_client: Callable[..., TestClient], uid: Callable[[str], str]
) -> None:
    client = make_client(policy=POLICIES)
    sms = client.post("/v1/events", json=event(uid, "HELP", "sms"), headers=AUTH).json()
    assert sms["help_reply"].startswith("You are getting messages from an AI companion")
    assert sms["detail"] == "help keyword (tcpa)" and sms["consent"] is None
    # default (messenger) has no help_reply: reported, nothing to send
    chat = client.post("/v1/events", json=event(uid, "help", "messenger"), headers=AUTH).json()
    assert chat["help_reply"] is None and "no help_reply" in chat["detail"]
    # STOP is an opt-out, not help
    stop = client.post("/v1/events", json=event(uid, "STOP", "sms"), headers=AUTH).json()
    assert stop["consent"] == "opted_out" and stop["help_reply"] is None
