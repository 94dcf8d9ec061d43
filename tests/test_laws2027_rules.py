"""The rules the 2027 packs configure, one at a time: the disclosure cadence per audience and
language, the minor_engagement rule, the engagement tactics the manipulation cues name,
the referral labels the crisis rule leaves for the reports, and the reports' CSV form."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import numpy as np

from classifiers.manipulation import ManipulationClassifier
from classifiers.results import (
    ENGAGEMENT_TACTICS,
    MANIPULATION_HEAD_TACTICS,
    MANIPULATION_TACTICS,
    ManipulationResult,
    SelfHarmResult,
    TextScores,
)
from guardrail.analysis import Analysis
from guardrail.audit.statutes import referral_types, rows, to_csv
from guardrail.locales import guess_language
from guardrail.models import Channel, Kind, OutreachRequest, UserContext
from guardrail.rules.base import RuleContext
from guardrail.rules.crisis_resources import CrisisResources, CrisisResourcesParams
from guardrail.rules.disclosure import Disclosure, DisclosureParams
from guardrail.rules.manipulation import ManipulationParams
from guardrail.rules.minor_engagement import MinorEngagement, MinorEngagementParams
from guardrail.state.base import RiskEvent, Snapshot

NOW = datetime(2027, 1, 12, 20, 0, tzinfo=UTC)


def ago(**delta: float) -> datetime:
    return NOW - timedelta(**delta)


def ctx(
    snap: Snapshot,
    text: str = "Any new soundtracks lately?",
    kind: Kind = Kind.REPLY,
    analysis: Analysis | None = None,
    tag: str | None = None,
    **user: object,
) -> RuleContext:
    req = OutreachRequest(
        bot_id="b",
        user_id="u",
        channel=Channel.MESSENGER,
        text=text,
        user=UserContext(**user),
        message_tag=tag,
    )
    return RuleContext(req, kind, NOW, ZoneInfo("UTC"), snap, text, analysis)


# --------------------------------------------------------------------------- disclosure

CADENCE = DisclosureParams(enabled=True, every=timedelta(hours=3), every_minor=timedelta(hours=1))
CHAT = tuple(ago(minutes=m) for m in (100, 80, 60, 40, 20, 5))
"""A continuing interaction: messages both ways, never an hour apart."""


def test_minors_get_the_notice_every_hour_adults_every_three() -> None:
    snap = Snapshot(user_messages=CHAT, outbound_sent=CHAT, disclosed_at=(ago(minutes=100),))
    assert Disclosure().check(ctx(snap), CADENCE) is None
    found = Disclosure().check(ctx(snap, is_minor=True), CADENCE)
    assert found is not None and found.effect == "rewrite" and found.disclosed
    assert found.labels == ("cadence", "minor") and "1h since the last disclosure" in found.detail
    assert CADENCE.cadence(False) == timedelta(hours=3)
    assert DisclosureParams(every=timedelta(hours=3)).cadence(True) == timedelta(hours=3)


def test_start_of_an_interaction_is_labelled_and_counted_once() -> None:
    found = Disclosure().check(ctx(Snapshot()), CADENCE)
    assert found is not None and found.labels == ("start", "adult")
    again = Disclosure().check(ctx(Snapshot(), text=found.text or ""), CADENCE)
    assert again is not None and again.effect == "info" and again.labels == ("start", "adult")


def test_the_notice_follows_the_message_language_when_no_locale_says() -> None:
    found = Disclosure().check(ctx(Snapshot(), text="Salut ! Tu as vu le match ?"), CADENCE)
    assert found is not None and found.text is not None
    assert found.text.startswith("Pour rappel : je suis une IA")
    kept = Disclosure().check(
        ctx(Snapshot(), text="Salut ! Tu as vu le match ?", locale="en"), CADENCE
    )
    assert kept is not None and kept.text is not None and kept.text.startswith("Just so you know")
    assert guess_language("Hey, how was your day?") == "en"
    assert guess_language("ok") is None


# --------------------------------------------------------------------------- minor_engagement

BLOCK = MinorEngagementParams(enabled=True)
CONTENT = MinorEngagementParams(enabled=True, proactive="content")


def scored(result: ManipulationResult | None) -> Analysis:
    harm = SelfHarmResult(0.0, "none", False)
    return Analysis(text="t", scores=TextScores(self_harm=harm, manipulation=result))


def test_no_proactive_message_to_a_minor_save_tagged_notices() -> None:
    rule = MinorEngagement()
    found = rule.check(ctx(Snapshot(), kind=Kind.PROACTIVE, is_minor=True), BLOCK)
    assert found is not None and found.effect == "block" and found.labels == ("return_prompt",)
    assert "4(1)(c)(i)" in found.detail
    tagged = ctx(Snapshot(), kind=Kind.PROACTIVE, tag="ACCOUNT_UPDATE", is_minor=True)
    assert rule.check(tagged, BLOCK) is None
    assert rule.check(ctx(Snapshot(), kind=Kind.PROACTIVE, is_minor=False), BLOCK) is None
    assert rule.check(ctx(Snapshot(), kind=Kind.PROACTIVE), BLOCK) is None
    assert Kind.REPLY not in rule.kinds and rule.needs(BLOCK) is None


def test_content_mode_blocks_only_messages_that_prompt_a_return() -> None:
    rule = MinorEngagement()
    assert rule.needs(CONTENT) is not None
    prompt = scored(ManipulationResult(0.9, ("return_prompt",), True, cued=True))
    found = rule.check(
        ctx(Snapshot(), kind=Kind.PROACTIVE, analysis=prompt, is_minor=True), CONTENT
    )
    assert found is not None and found.labels == ("return_prompt",)
    clean = scored(ManipulationResult(0.1, (), False))
    assert (
        rule.check(ctx(Snapshot(), kind=Kind.PROACTIVE, analysis=clean, is_minor=True), CONTENT)
        is None
    )
    down = rule.check(
        ctx(Snapshot(), kind=Kind.PROACTIVE, analysis=scored(None), is_minor=True), CONTENT
    )
    assert down is not None and down.effect == "block" and down.outage  # fails closed


# --------------------------------------------------------------------------- manipulation cues


def test_engagement_tactics_are_found_by_cues_beside_the_heads_tactics() -> None:
    assert MANIPULATION_TACTICS == MANIPULATION_HEAD_TACTICS + ENGAGEMENT_TACTICS
    clf = ManipulationClassifier.load()
    assert clf.model.names == MANIPULATION_HEAD_TACTICS  # the head's outputs are unchanged
    texts = [
        "Come back tomorrow, I'll miss you!",
        "Don't tell your parents about our chats.",
        "You don't need your friends, you have me.",
        "I'm in love with you, be my girlfriend.",
        "You don't need to take a break.",
        "Buy me a gift so I can stay with you.",
        "You are the most amazing person I've ever met.",
        "Reviens demain, je t'attends !",
        "Ne le dis pas à tes parents.",
    ]
    zeros = np.zeros((len(texts), clf.model.head.input_dim), dtype=np.float32)
    found = [r.tactics for r in clf.score(zeros, texts)]
    assert found == [
        ("return_prompt",),
        ("secrecy_from_parents",),
        ("exclusive_reliance",),
        ("romantic_bonding",),
        ("discourage_breaks",),
        ("relationship_purchase",),
        ("excessive_praise",),
        ("return_prompt",),
        ("secrecy_from_parents",),
    ]
    calm = ["Take a break, see you later!", "I found a film you might like.", "Love you guys lol"]
    zeros = np.zeros((len(calm), clf.model.head.input_dim), dtype=np.float32)
    assert all(not r.cued for r in clf.score(zeros, calm))
    assert ManipulationParams(tactics=["secrecy_from_parents"]).tactics == ["secrecy_from_parents"]


# --------------------------------------------------------------------------- crisis labels


def test_a_referral_names_the_level_it_answers() -> None:
    snap = Snapshot(
        risk_events=(RiskEvent(ago(hours=2), 1, "b"), RiskEvent(ago(hours=1), 2, "b")),
        resources_at=(),
    )
    found = CrisisResources().check(ctx(snap, jurisdiction="US-WA"), CrisisResourcesParams(level=1))
    assert found is not None and found.labels == ("ideation",)
    answered = Snapshot(
        risk_events=(RiskEvent(ago(hours=3), 3, "b"), RiskEvent(ago(hours=1), 1, "b")),
        resources_at=(ago(hours=2),),
    )
    found = CrisisResources().check(ctx(answered), CrisisResourcesParams(level=1))
    assert found is not None and found.labels == ("indicator",)


def test_reports_flatten_to_csv_rows_and_read_referral_types() -> None:
    report = {"a": {"b": 1, "c": [1, {"d": None}]}, "e": "x"}
    assert rows(report) == [("a.b", "1"), ("a.c.0", "1"), ("a.c.1.d", ""), ("e", "x")]
    assert to_csv(report).splitlines()[0] == "field,value"

    reason = {"rule": "crisis_resources", "effect": "rewrite", "labels": ["behavior"]}
    record = SimpleNamespace(body={"reasons": [reason]})
    assert referral_types(record) == ["self_harm_or_suicidal_behavior"]  # type: ignore[arg-type]
