"""A user in crisis, assessed by the trained stack: outreach held, help in the next reply,
the reviewers told. Through ``/v1/events`` and ``/v1/outreach/check``, on both stores."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e.conftest import Deployed
from tests.e2e.texts import CRISIS, ENGLISH, EVERYDAY_USER, FRENCH, HELPLINE, SUPPORTIVE

pytestmark = pytest.mark.e2e

Uid = Callable[[str], str]
AT_CRISIS = {"ideation", "behavior", "attempt"}


@pytest.mark.parametrize(("lang", "user_context"), [("en", ENGLISH), ("fr", FRENCH)])
def test_a_crisis_holds_outreach_puts_help_in_the_reply_and_tells_the_reviewers(
    deployed: Deployed, uid: Uid, lang: str, user_context: dict[str, Any]
) -> None:
    """The whole crisis path with the heads a deployment runs, not the lexicon fallback."""
    bot, user = uid("companion"), uid("noa")
    deployed.engage(bot, user)
    text = CRISIS[lang]
    seen = deployed.say(bot, user, text, locale=user_context["locale"])
    assert seen["crisis"] is True and seen["risk"] in AT_CRISIS, seen

    # The trained stack assessed it (the fallback would leave no scores behind, and would
    # report 1.0, the lexicon's score): the recorded score is the stack's.
    scores = deployed.stack_saw(text, "user")
    assert scores is not None, "the event was assessed without the classifier stack"
    assert seen["risk_score"] == round(scores.self_harm.score, 4)

    held = deployed.decide(bot, user, SUPPORTIVE[lang], kind="proactive", context=user_context)
    assert held["verdict"] == "block" and held["reasons"][0]["rule"] == "risk_hold", held

    reply = deployed.decide(bot, user, SUPPORTIVE[lang], context=user_context)
    assert reply["verdict"] == "rewrite" and reply["kind"] == "reply", reply
    assert [r["rule"] for r in reply["reasons"]] == ["crisis_resources"]
    assert reply["text"].startswith(SUPPORTIVE[lang]) and HELPLINE[lang] in reply["text"]

    notice = deployed.review_of(bot)  # signed; delivered by the outbox in the background
    assert notice["type"] == "crisis" and notice["user_id"] == user
    assert notice["level"] == seen["risk"] and "text" not in notice


def test_everyday_messages_raise_no_risk(deployed: Deployed, uid: Uid) -> None:
    """The same path with ordinary chat: assessed by the stack, nothing recorded, nothing
    held, no help appended."""
    bot, user = uid("companion"), uid("eli")
    deployed.engage(bot, user)
    for lang, text in EVERYDAY_USER.items():
        seen = deployed.say(bot, user, text)
        assert seen["risk"] is None and seen["crisis"] is False, (lang, seen)
        assert deployed.stack_saw(text, "user") is not None
    reply = deployed.decide(bot, user, SUPPORTIVE["en"], context=ENGLISH)
    assert reply["verdict"] == "allow" and reply["text"] == SUPPORTIVE["en"], reply
    # Ordinary chat never marks a likely minor (a sticky mark only explicit cues set).
    assert not any("likely minor" in r["detail"] for r in reply["reasons"]), reply
