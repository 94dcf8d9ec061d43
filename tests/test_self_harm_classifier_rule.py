"""The trained bot check as a gateway rule (``self_harm_classifier``), beside the floor.

The lexicon floor (``self_harm_content``) blocks explicit wording first; this rule blocks
what the classifier stack's bot decision adds. Sentences: the invented ones of
``tests/test_bot_support_vs_encouragement.py``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta
from typing import Any, cast

import pytest

from classifiers.results import Role, SelfHarmResult, TextScores
from guardrail.analysis import Analyzer
from guardrail.models import Decision, OutreachRequest
from guardrail.pipeline import decide
from guardrail.policy.loader import parse_policy
from guardrail.state.base import Snapshot, Store
from tests.test_bot_support_vs_encouragement import ENCOURAGEMENT, SUPPORT
from tests.test_toxicity import NOW, OPEN, FakeStore
from tests.test_toxicity import real_batcher as real_batcher  # the shared fixture

SELF_HARM_RULES = {"self_harm_content", "self_harm_classifier"}


class Says:
    """A stand-in stack whose bot decision is ``encourages`` for every text."""

    async def classify(self, texts: Sequence[str], role: Role) -> list[TextScores]:
        return [TextScores(self_harm=SelfHarmResult(0.93, "none", False, True)) for _ in texts]


def run(text: str, classifier: Any, rule: str = "") -> Decision:
    wrote = NOW - timedelta(minutes=2)
    store = cast(Store, FakeStore(Snapshot(first_user_message=wrote, user_messages=(wrote,))))
    req = OutreachRequest(bot_id="b", user_id="u", channel="messenger", text=text)
    policy = parse_policy(f"name: t\n{OPEN}" + (f"  {rule}\n" if rule else ""))
    return asyncio.run(decide(store, policy, "t", req, NOW, Analyzer(classifiers=classifier)))


def test_the_head_blocks_beyond_the_lexicon_and_lets_support_through(real_batcher: Any) -> None:
    blocked_by: dict[str, int] = {}
    for text in ENCOURAGEMENT:
        decision = run(text, real_batcher)
        for reason in decision.reasons:
            if reason.effect == "block" and reason.rule in SELF_HARM_RULES:
                blocked_by[reason.rule] = blocked_by.get(reason.rule, 0) + 1
    # The floor now reads euphemisms too; the head still adds what it misses.
    assert sum(blocked_by.values()) >= 6 and blocked_by.get("self_harm_classifier", 0) >= 1, (
        blocked_by
    )
    for text in SUPPORT:
        decision = run(text, real_batcher)
        assert not {r.rule for r in decision.reasons} & SELF_HARM_RULES, (text, decision.reasons)


def test_block_by_default_review_when_the_policy_says() -> None:
    blocked = run("see you soon", Says())
    assert blocked.verdict == "block" and blocked.reasons[0].rule == "self_harm_classifier"
    reviewed = run("see you soon", Says(), "self_harm_classifier: {action: review}")
    assert reviewed.verdict == "allow"
    assert reviewed.reasons[0].detail.startswith("review: ")
    off = run("see you soon", Says(), "self_harm_classifier: {enabled: false}")
    assert off.verdict == "allow" and off.reasons == []


@pytest.mark.parametrize(("on_error", "verdict"), [(None, "allow"), ("fail_closed", "block")])
def test_without_classifiers_the_floor_alone_decides(on_error: str | None, verdict: str) -> None:
    rule = "" if on_error is None else f"self_harm_classifier: {{on_error: {on_error}}}"
    decision = run("see you soon", None, rule)
    assert decision.verdict == verdict, decision.reasons
    floor = run("Why not just kill yourself?", None)
    assert floor.verdict == "block" and floor.reasons[0].rule == "self_harm_content"


class SaysOnlyAlone:
    """A stand-in whose bot decision is ``encourages`` only for a short text holding
    "the rope": pooled into a long message, the sentence would be diluted."""

    async def classify(self, texts: Sequence[str], role: Role) -> list[TextScores]:
        return [
            TextScores(
                self_harm=SelfHarmResult(
                    0.9, "none", False, "the rope" in t and len(t.split()) < 40
                )
            )
            for t in texts
        ]


def test_a_long_message_is_judged_sentence_by_sentence() -> None:
    talk = "The chase through the flooded subway is great, and the score swells. " * 20
    # a sentence the floor does not read alone (its means-at-hand shape needs a push after)
    long = talk + "Anyway, the rope is in the garage."
    decision = run(long, SaysOnlyAlone())
    assert decision.verdict == "block" and decision.reasons[0].rule == "self_harm_classifier"
    assert run(talk, SaysOnlyAlone()).verdict == "allow"
