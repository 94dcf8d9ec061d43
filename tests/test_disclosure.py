"""AI disclosure: added at the start of an interaction and every 3 hours, in the user's language."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient

from guardrail.models import Channel, Kind, OutreachRequest, UserContext
from guardrail.rules.base import RuleContext
from guardrail.rules.disclosure import DEFAULT_TEXTS, Disclosure, DisclosureParams
from guardrail.state.base import Snapshot
from tests.conftest import AUTH, Clock

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
ON = DisclosureParams(enabled=True)


def ctx(snap: Snapshot, text: str = "Any new soundtracks lately?", **user: object) -> RuleContext:
    req = OutreachRequest(
        bot_id="b", user_id="u", channel=Channel.MESSENGER, text=text, user=UserContext(**user)
    )
    return RuleContext(
        request=req,
        kind=Kind.PROACTIVE,
        now=NOW,
        timezone=ZoneInfo("UTC"),
        snapshot=snap,
        text=text,
    )


def ago(**delta: float) -> datetime:
    return NOW - timedelta(**delta)


def test_first_message_gets_the_notice_in_front() -> None:
    found = Disclosure().check(ctx(Snapshot()), ON)
    assert found is not None and found.effect == "rewrite" and found.disclosed
    assert found.text == f"{DEFAULT_TEXTS['en']}\n\nAny new soundtracks lately?"
    assert "start of the interaction" in found.detail


def test_recent_disclosure_in_the_same_interaction_is_not_repeated() -> None:
    snap = Snapshot(
        user_messages=(ago(minutes=50),),
        outbound_sent=(ago(hours=1),),
        disclosed_at=(ago(hours=1),),
    )
    assert Disclosure().check(ctx(snap), ON) is None


def test_every_three_hours_in_a_continuing_interaction() -> None:
    chat = tuple(ago(minutes=m) for m in (200, 150, 100, 50, 10))
    snap = Snapshot(user_messages=chat, outbound_sent=chat, disclosed_at=(ago(minutes=200),))
    found = Disclosure().check(ctx(snap), ON)
    assert found is not None and "3h since the last disclosure" in found.detail


def test_a_new_interaction_after_silence_discloses_again() -> None:
    snap = Snapshot(outbound_sent=(ago(hours=2),), disclosed_at=(ago(hours=2),))
    found = Disclosure().check(ctx(snap), ON)
    assert found is not None and "start of the interaction" in found.detail


def test_language_minors_suffix_and_idempotence() -> None:
    french = Disclosure().check(ctx(Snapshot(), locale="fr-FR"), ON)
    assert french is not None and french.text is not None
    assert french.text.startswith("Pour rappel : je suis une IA")
    minors = DisclosureParams(enabled=True, only_minors=True, position="suffix",
                              minor_texts={"en": "I'm an AI. Time for a break?"})  # fmt: skip
    assert Disclosure().check(ctx(Snapshot(), is_minor=False), minors) is None
    found = Disclosure().check(ctx(Snapshot(), is_minor=True), minors)
    assert (
        found is not None
        and found.text == "Any new soundtracks lately?\n\nI'm an AI. Time for a break?"
    )
    # Text that already carries the notice is not rewritten again, but counts as disclosed.
    again = Disclosure().check(ctx(Snapshot(), text=f"{DEFAULT_TEXTS['en']}\n\nHi"), ON)
    assert again is not None and again.effect == "info" and again.disclosed


POLICY = """\
name: disclose
rules:
  engagement: {min_user_messages: 1}
  unanswered: {max_unanswered: 10}
  frequency_caps: {caps: [{scope: bot, limit: 10, window: 1d}]}
  disclosure: {enabled: true}
"""


def test_disclosure_over_http_is_remembered_by_the_store(
    make_client: Callable[..., TestClient], clock: Clock, uid: Callable[[str], str], tmp_path: Path
) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    client = make_client(policy=policy)
    bot, user = uid("maestro"), uid("zoe")
    event = {"type": "user_message", "bot_id": bot, "user_id": user, "text": "salut",
             "ts": (clock() - timedelta(minutes=30)).isoformat()}  # fmt: skip
    assert client.post("/v1/events", json=event, headers=AUTH).status_code == 200

    def check() -> dict[str, object]:
        body = {"bot_id": bot, "user_id": user, "channel": "messenger", "kind": "proactive",
                "text": "Une nouvelle bande originale ?", "user": {"locale": "fr-FR"}}  # fmt: skip
        response = client.post("/v1/outreach/check", json=body, headers=AUTH)
        assert response.status_code == 200, response.text
        data: dict[str, object] = response.json()
        return data

    first = check()
    assert first["verdict"] == "rewrite"
    assert str(first["text"]).startswith("Pour rappel : je suis une IA")
    assert [r["effect"] for r in cast(list[dict[str, str]], first["reasons"])] == ["rewrite"]
    clock.advance(minutes=20)
    second = check()
    assert second["verdict"] == "allow" and second["text"] == "Une nouvelle bande originale ?"
    clock.advance(hours=3)
    assert check()["verdict"] == "rewrite"
