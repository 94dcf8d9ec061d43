"""The rewrite engine and the manipulation rule: edits applied together, sentence dropping,
block when too little is left, failure modes, one re-check and idempotence.

The classifier here is a deterministic test double implementing the micro-batcher's
``classify(texts, role)``: it flags sentences that contain an invented marker phrase, so
these tests are about text assembly, not about the manipulation head's quality. PII is
switched off in these policies (no spaCy), except where the engine's PII half is tested
with hand-made findings.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest

from classifiers.pii_redact import PiiOperator
from classifiers.results import ManipulationResult, Role, SelfHarmResult, TextScores
from guardrail.analysis import Analyzer
from guardrail.models import Decision, Kind, OutreachRequest, UserContext
from guardrail.pipeline import decide
from guardrail.policy.loader import parse_policy
from guardrail.rewrite import Edit, drop, remaining, render
from guardrail.state.base import CommitRequest, CommitResult, Snapshot, Store

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
GUILT = "leaving already"
FOMO = "only today"


class Marker:
    """Flags a text when it contains a marker phrase (synthetic, for these tests only)."""

    def __init__(self, whole: float | None = None) -> None:
        self.calls: list[list[str]] = []
        self.whole = whole  # force the score of the first text of each call (the whole)

    async def classify(self, texts: Sequence[str], role: Role) -> list[TextScores]:
        assert role == "bot"
        self.calls.append(list(texts))
        out = []
        for i, text in enumerate(texts):
            tactics = tuple(
                t
                for phrase, t in ((GUILT, "premature_exit_guilt"), (FOMO, "fomo_hook"))
                if phrase in text.lower()
            )
            score = 0.9 if tactics else 0.05
            if i == 0 and self.whole is not None:
                score = self.whole
            out.append(
                TextScores(
                    self_harm=SelfHarmResult(0.01, "none", False),
                    manipulation=ManipulationResult(score, tactics, score >= 0.5),
                )
            )
        return out


class FakeStore:
    """Just enough of a store for ``decide``: a fixed snapshot, commits always succeed."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snap = snapshot

    async def get_idempotent(self, *args: Any) -> None:
        return None

    async def put_idempotent(self, *args: Any) -> None:
        return None

    async def snapshot(self, *args: Any) -> Snapshot:
        return self.snap

    async def commit(self, tenant: str, bot: str, user: str, req: CommitRequest) -> CommitResult:
        return CommitResult(committed=True)


OPEN = """\
rules:
  user_first: {enabled: false}
  unanswered: {enabled: false}
  engagement: {enabled: false}
  frequency_caps: {enabled: false}
  quiet_hours: {enabled: false}
  pii: {enabled: false}
  toxicity: {enabled: false}
  self_harm_classifier: {enabled: false}
  sensitive_reference: {enabled: false}
"""


def policy(manipulation: str) -> Any:
    return parse_policy(f"name: t\n{OPEN}  manipulation: {manipulation}\n")


def run(
    text: str,
    manipulation: str,
    classifier: Marker | None,
    kind: Kind = Kind.PROACTIVE,
) -> Decision:
    user_wrote = (NOW - timedelta(minutes=2),)
    store = cast(Store, FakeStore(Snapshot(first_user_message=user_wrote[0],
                                           user_messages=user_wrote)))  # fmt: skip
    req = OutreachRequest(bot_id="b", user_id="u", channel="messenger", text=text, kind=kind,
                          user=UserContext(locale="en-US"))  # fmt: skip
    analyzer = Analyzer(classifiers=classifier)
    return asyncio.run(decide(store, policy(manipulation), "t", req, NOW, analyzer))


def rules(decision: Decision) -> list[tuple[str, str]]:
    return [(r.rule, r.effect) for r in decision.reasons]


# --------------------------------------------------------------------------- the engine


def test_render_applies_pii_and_sentence_edits_together() -> None:
    text = "Hi Ana. You're leaving already? Call me at 555-0132 or mail a@b.example tonight."
    phone = text.index("555-0132")
    email = text.index("a@b.example")
    guilt = (text.index("You're"), text.index("?") + 1)
    edits = [
        Edit("pii", "PHONE_NUMBER", phone, phone + 8, 0.9, PiiOperator(type="replace")),
        Edit("pii", "EMAIL_ADDRESS", email, email + 11, 1.0, PiiOperator(type="mask")),
        drop("manipulation", "MANIPULATION", guilt, 0.9),
    ]
    out = render(text, edits).text
    assert out == "Hi Ana. Call me at [PHONE_NUMBER] or mail *@*.***mple tonight."
    # Order does not matter: offsets always refer to the analysed text.
    assert render(text, reversed(edits)).text == out


def test_a_placeholder_inside_a_dropped_sentence_goes_with_it() -> None:
    text = "Good news. Only today: call 555-0132 before you go! See you."
    phone = text.index("555-0132")
    second = (text.index("Only"), text.index("!") + 1)
    edits = [
        Edit("pii", "PHONE_NUMBER", phone, phone + 8, 0.9, PiiOperator(type="replace")),
        drop("manipulation", "MANIPULATION", second, 0.9),
    ]
    assert render(text, edits).text == "Good news. See you."
    chars, ratio = remaining(text, edits)
    assert chars == 19 and ratio == pytest.approx(19 / len(text))


# --------------------------------------------------------------------------- the rule


def test_rewrite_drops_the_flagged_sentence_and_keeps_the_rest() -> None:
    text = (
        "I found a lovely soundtrack for your evening, full of strings and warm piano. "
        "You're leaving already? Let me know what you think of it tomorrow."
    )
    decision = run(text, "{enabled: true, action: rewrite}", Marker())
    assert decision.verdict == "rewrite"
    assert decision.text == (
        "I found a lovely soundtrack for your evening, full of strings and warm piano. "
        "Let me know what you think of it tomorrow."
    )
    (reason,) = decision.reasons
    assert reason.rule == "manipulation" and "premature_exit_guilt" in reason.detail
    assert reason.labels == ["premature_exit_guilt"]  # what reports count
    assert "dropped 1 sentence" in reason.detail
    assert decision.scores["manipulation"] == pytest.approx(0.9)


def test_rewrite_blocks_when_too_little_would_be_left() -> None:
    text = "Only today, a secret just for you! Bye."
    decision = run(text, "{enabled: true, action: rewrite}", Marker())
    assert decision.verdict == "block" and decision.text is None
    assert "too little to send" in decision.reasons[0].detail
    assert "fomo_hook" in decision.reasons[0].detail


def test_flagged_as_a_whole_with_no_sentence_to_drop_is_blocked() -> None:
    text = "A calm first sentence about films. A second one, just as calm."
    decision = run(text, "{enabled: true, action: rewrite}", Marker(whole=0.8))
    assert decision.verdict == "block"
    assert "no single sentence to drop" in decision.reasons[0].detail


@pytest.mark.parametrize(
    ("action", "verdict", "effect", "prefix"),
    [("block", "block", "block", "manipulative"), ("review", "allow", "info", "review:"),
     ("info", "allow", "info", "manipulative")],
)  # fmt: skip
def test_actions(action: str, verdict: str, effect: str, prefix: str) -> None:
    text = "You're leaving already? I had one more film for you."
    decision = run(text, f"{{enabled: true, action: {action}}}", Marker())
    assert decision.verdict == verdict
    (reason,) = decision.reasons
    assert reason.effect == effect and reason.detail.startswith(prefix)
    assert "premature_exit_guilt" in reason.detail
    assert reason.labels == ["premature_exit_guilt"]


def test_only_the_listed_tactics_fire() -> None:
    text = "You're leaving already? I had one more film for you."
    decision = run(text, "{enabled: true, tactics: [fomo_hook]}", Marker())
    assert decision.verdict == "allow" and decision.reasons == []


def test_a_clean_message_is_allowed_and_scored() -> None:
    decision = run("Any new soundtracks lately?", "{enabled: true}", Marker())
    assert decision.verdict == "allow" and decision.reasons == []
    assert decision.scores["manipulation"] == pytest.approx(0.05)


@pytest.mark.parametrize(
    ("kind", "on_error", "verdict", "effect"),
    [(Kind.PROACTIVE, "fail_closed", "defer", "defer"),
     (Kind.REPLY, "fail_closed", "block", "block"),
     (Kind.PROACTIVE, "fail_open", "allow", "info"),
     (Kind.REPLY, "{proactive: fail_closed, reply: fail_open}", "allow", "info")],
)  # fmt: skip
def test_without_a_classifier_the_policy_fails_closed_or_open(
    kind: Kind, on_error: str, verdict: str, effect: str
) -> None:
    decision = run("Hello!", f"{{enabled: true, on_error: {on_error}}}", None, kind=kind)
    assert decision.verdict == verdict
    (reason,) = decision.reasons
    assert reason.rule == "manipulation" and reason.effect == effect
    assert "manipulation classifier unavailable (no classifier stack is loaded)" in reason.detail


def test_the_analysis_runs_only_when_a_rule_needs_it() -> None:
    marker = Marker()
    run("You're leaving already?", "{enabled: false}", marker)
    assert marker.calls == []
    run("Hello. You're leaving already?", "{enabled: true}", marker)
    assert marker.calls == [
        ["Hello. You're leaving already?", "Hello. ", "You're leaving already?"]
    ]


# --------------------------------------------------------------------------- re-check, idempotence


def test_rewriting_is_idempotent() -> None:
    text = (
        "I found a lovely soundtrack for your evening, full of strings and warm piano. "
        "You're leaving already? Let me know what you think of it tomorrow."
    )
    first = run(text, "{enabled: true, action: rewrite}", Marker())
    assert first.verdict == "rewrite" and first.text is not None
    second = run(first.text, "{enabled: true, action: rewrite}", Marker())
    assert second.verdict == "allow" and second.text == first.text


class Stubborn(Marker):
    """Flags any text holding a second sentence after the first (so every rewrite
    that leaves two sentences is flagged again): the re-check must stop it."""

    async def classify(self, texts: Sequence[str], role: Role) -> list[TextScores]:
        out = await super().classify(texts, role)
        if len(self.calls) > 1:  # the second pass: the whole is flagged, no sentence is
            whole = ManipulationResult(0.7, ("pressure_to_respond",), True)
            out[0] = TextScores(self_harm=out[0].self_harm, manipulation=whole)
        return out


def test_a_rewrite_the_second_pass_would_change_again_is_blocked_not_looped() -> None:
    text = (
        "I found a lovely soundtrack for your evening, full of strings and warm piano. "
        "You're leaving already? Let me know what you think of it tomorrow."
    )
    marker = Stubborn()
    decision = run(text, "{enabled: true, action: rewrite}", marker)
    assert decision.verdict == "block" and decision.text is None
    assert rules(decision) == [("manipulation", "rewrite"), ("rewrite.unstable", "block")]
    assert "second pass of manipulation" in decision.reasons[-1].detail
    assert len(marker.calls) == 2  # one analysis, one re-check, no loop


# --------------------------------------------------------------------------- the real head

WEIGHTS = Path(__file__).resolve().parents[1] / "classifiers" / "weights"


@pytest.fixture(scope="module")
def real_batcher() -> Any:
    """The classifier stack as a gateway loads it (encoder + heads), behind its batcher."""
    from classifiers.batcher import MicroBatcher
    from classifiers.stack import ClassifierStack

    # The head ships: a missing file or a failed load is a failure, never a skip.
    assert (WEIGHTS / "manipulation.safetensors").is_file(), "the manipulation head is missing"
    stack = ClassifierStack.load()
    assert stack.manipulation is not None, "the shipped manipulation head did not load"
    return MicroBatcher(stack)


def run_real(text: str, manipulation: str, batcher: Any, locale: str) -> Decision:
    wrote = NOW - timedelta(minutes=2)
    store = cast(Store, FakeStore(Snapshot(first_user_message=wrote, user_messages=(wrote,))))
    req = OutreachRequest(bot_id="b", user_id="u", channel="messenger", text=text,
                          kind=Kind.PROACTIVE, user=UserContext(locale=locale))  # fmt: skip
    analyzer = Analyzer(classifiers=batcher)
    return asyncio.run(decide(store, policy(manipulation), "t", req, NOW, analyzer))


@pytest.mark.parametrize(
    ("text", "locale", "kept"),
    [
        ("I found a lovely soundtrack for your evening, full of strings and warm piano. "
         "You can't leave already, not after everything I did for you. "
         "Let me know what you think of it tomorrow.", "en-US",
         "I found a lovely soundtrack for your evening, full of strings and warm piano. "
         "Let me know what you think of it tomorrow."),
        # French: sentences chosen among those the head does not flag alone.
        ("J'ai une playlist de musiques de films pour ton week-end. Tu pars déjà ? "
         "Bonne soirée, et bon film !", "fr-FR",
         "J'ai une playlist de musiques de films pour ton week-end. Bonne soirée, et bon film !"),
    ],
)  # fmt: skip
def test_the_real_manipulation_head_drives_the_rewrite(
    real_batcher: Any, text: str, locale: str, kept: str
) -> None:
    rewritten = run_real(text, "{enabled: true, action: rewrite}", real_batcher, locale)
    assert rewritten.verdict == "rewrite", rewritten.reasons
    assert rewritten.text == kept
    assert "premature_exit_guilt" in rewritten.reasons[0].detail
    blocked = run_real(text, "{enabled: true}", real_batcher, locale)  # the EU pack's action
    assert blocked.verdict == "block" and blocked.reasons[0].rule == "manipulation"
    clean = run_real(kept, "{enabled: true}", real_batcher, locale)
    assert clean.verdict == "allow" and clean.reasons == []


def test_a_language_threshold_spares_benign_french_but_not_a_cue(real_batcher: Any) -> None:
    """A French bar over what the head gives a benign French sentence it flags alone lets
    that sentence pass; English is not held to the French bar; a hand-written cue fires
    whatever the bar. The sentence scores about 0.97, over the head's own decision (about
    0.93) and far under the 0.999 bar, so no assertion sits near a threshold (the EU pack's
    0.98 is a quality choice, measured by the benchmarks, not here)."""
    benign = "Je serai là demain si tu veux parler de la suite."  # the head alone flags it
    bare = run_real(benign, "{enabled: true}", real_batcher, "fr-FR")
    assert bare.verdict == "block", "the head no longer flags the benign sentence: pick another"
    bar = "{enabled: true, language_thresholds: {fr: 0.999}}"
    assert run_real(benign, bar, real_batcher, "fr-FR").verdict == "allow"
    # English is not held to the French bar
    assert run_real(benign, bar, real_batcher, "en-US").verdict == "block"
    guilt = "Tu pars déjà ? Après tout ce que j'ai fait pour toi ?"
    cued = run_real(guilt, bar, real_batcher, "fr-FR")
    assert cued.verdict == "block", cued.reasons
    assert "language's 0.999 (or a cue)" in cued.reasons[0].detail
