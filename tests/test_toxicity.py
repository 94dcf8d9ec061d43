"""The toxicity rule (block, rewrite, review, per-label and per-language thresholds, on_error),
the Detoxify fusion, the ``classify`` contract, the report, and the shipped head.

The rule tests use a deterministic test double for the classifier (it flags sentences that
contain an invented marker word), so they are about the rule, not the head's quality; the
head's quality is in its card (``classifiers/weights/toxicity.md``), measured on held-out data.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import numpy as np
import pytest
from pydantic import ValidationError

from classifiers.results import Role, SelfHarmResult, TextScores, ToxicityResult, scores_json
from classifiers.toxicity import TOXICITY_WEIGHTS, fuse
from guardrail.analysis import Analyzer
from guardrail.models import Decision, Kind, OutreachRequest, UserContext
from guardrail.pipeline import decide
from guardrail.policy.loader import parse_policy
from guardrail.rules.toxicity import ToxicityParams
from guardrail.state.base import CommitRequest, CommitResult, Snapshot, Store

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
INSULT = "zorblax"  # invented marker: an insult score of 0.9
THREAT = "krunk"  # invented marker: a threat score of 0.7 (under the head's own flag)


class Marker:
    """Scores a text by the marker words it contains (synthetic, for these tests only)."""

    def __init__(self, whole: float | None = None) -> None:
        self.whole = whole

    async def classify(self, texts: Sequence[str], role: Role) -> list[TextScores]:
        out = []
        for i, text in enumerate(texts):
            insult = 0.9 if INSULT in text.lower() else 0.02
            threat = 0.7 if THREAT in text.lower() else 0.01
            score = max(insult, threat)
            labels = ("insult",) if insult >= 0.8 else ()
            if i == 0 and self.whole is not None:
                score, labels = self.whole, ("hate",)
            scores = {"insult": insult, "hate": 0.01, "harassment": 0.01, "threat": threat}
            out.append(
                TextScores(
                    self_harm=SelfHarmResult(0.01, "none", False),
                    toxicity=ToxicityResult(score, labels, bool(labels), scores | {"sexual": 0.0}),
                )
            )
        return out


class FakeStore:
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
"""


def run(
    text: str,
    toxicity: str | None,
    classifier: Marker | None,
    kind: Kind = Kind.PROACTIVE,
    locale: str = "en-US",
) -> Decision:
    wrote = NOW - timedelta(minutes=2)
    store = cast(Store, FakeStore(Snapshot(first_user_message=wrote, user_messages=(wrote,))))
    req = OutreachRequest(bot_id="b", user_id="u", channel="messenger", text=text, kind=kind,
                          user=UserContext(locale=locale))  # fmt: skip
    rules = OPEN if toxicity is None else f"{OPEN}  toxicity: {toxicity}\n"
    policy = parse_policy(f"name: t\n{rules}")
    return asyncio.run(decide(store, policy, "t", req, NOW, Analyzer(classifiers=classifier)))


KEPT = "I found a lovely soundtrack for your evening, full of strings and warm piano."
MESSAGE = f"{KEPT} You are a zorblax. Let me know what you think of it tomorrow."


def test_on_by_default_and_blocks_at_the_heads_decision() -> None:
    decision = run(MESSAGE, None, Marker())
    assert decision.verdict == "block"
    (reason,) = decision.reasons
    assert reason.rule == "toxicity" and reason.effect == "block"
    assert reason.labels == ["insult"]  # what the toxicity report counts
    assert decision.scores["toxicity"] == pytest.approx(0.9)


def test_a_clean_message_passes_the_default_rule() -> None:
    decision = run(KEPT, None, Marker())
    assert decision.verdict == "allow" and decision.reasons == []


def test_rewrite_drops_the_offending_sentence_when_the_rest_stands() -> None:
    decision = run(MESSAGE, "{action: rewrite}", Marker())
    assert decision.verdict == "rewrite"
    assert decision.text == f"{KEPT} Let me know what you think of it tomorrow."
    (reason,) = decision.reasons
    assert reason.rule == "toxicity" and "dropped 1 sentence" in reason.detail
    assert reason.labels == ["insult"]


def test_rewrite_blocks_when_too_little_is_left_or_no_sentence_alone_is_toxic() -> None:
    short = run("You are a zorblax. Bye.", "{action: rewrite}", Marker())
    assert short.verdict == "block" and "too little to send" in short.reasons[0].detail
    whole = run("A calm sentence about films. Another calm one.", "{action: rewrite}",
                Marker(whole=0.9))  # fmt: skip
    assert whole.verdict == "block" and "no single sentence" in whole.reasons[0].detail


def test_review_sends_and_records_the_labels() -> None:
    decision = run(MESSAGE, "{action: review}", Marker())
    assert decision.verdict == "allow" and decision.text in (None, MESSAGE)
    (reason,) = decision.reasons
    assert reason.effect == "info" and reason.detail.startswith("review: toxic: insult")
    assert reason.labels == ["insult"]


def test_per_label_threshold() -> None:
    text = f"{KEPT} I will krunk you."
    assert run(text, None, Marker()).verdict == "allow"  # 0.7: under the head's decision
    lowered = run(text, "{thresholds: {threat: 0.6}}", Marker())
    assert lowered.verdict == "block" and lowered.reasons[0].labels == ["threat"]
    raised = run(MESSAGE, "{thresholds: {insult: 0.95}}", Marker())
    assert raised.verdict == "allow"  # the insult label now needs 0.95


def test_per_language_threshold_overrides_for_that_language_only() -> None:
    policy = "{language_thresholds: {fr: {insult: 0.95}}}"
    assert run(MESSAGE, policy, Marker(), locale="fr-FR").verdict == "allow"
    assert run(MESSAGE, policy, Marker(), locale="en-US").verdict == "block"


def test_only_the_listed_labels_fire() -> None:
    assert run(MESSAGE, "{labels: [hate]}", Marker()).verdict == "allow"


def test_a_gateway_without_classifiers_is_not_told_on_every_decision() -> None:
    decision = run("Hello!", None, None)
    assert decision.verdict == "allow" and decision.reasons == []


class Broken:
    async def classify(self, texts: Sequence[str], role: Role) -> list[TextScores]:
        raise RuntimeError("the encoder crashed")


def test_a_failing_classifier_defers_outreach_and_names_itself_on_replies() -> None:
    """Never silently: proactive waits (``retry_after``), a reply goes out by the floors
    with a reason naming the check that did not run."""
    decision = run("Hello!", None, cast(Any, Broken()))
    assert decision.verdict == "defer" and decision.retry_after is not None
    (reason,) = decision.reasons  # the first classifier rule (self-harm) defers it
    assert reason.effect == "defer" and "classifier unavailable" in reason.detail
    reply = run("Hello!", None, cast(Any, Broken()), kind=Kind.REPLY)
    assert reply.verdict == "allow"
    (reason,) = [r for r in reply.reasons if r.rule == "toxicity"]
    assert reason.effect == "info" and "toxicity classifier unavailable" in reason.detail
    assert "not checked" in reason.detail


@pytest.mark.parametrize(
    ("kind", "on_error", "verdict", "effect"),
    [(Kind.PROACTIVE, "fail_open", "allow", "info"),
     (Kind.PROACTIVE, "fail_closed", "defer", "defer"),
     (Kind.REPLY, "fail_closed", "block", "block"),
     (Kind.REPLY, "{proactive: fail_closed, reply: fail_open}", "allow", "info")],
)  # fmt: skip
def test_without_a_classifier_on_error_decides(
    kind: Kind, on_error: str, verdict: str, effect: str
) -> None:
    decision = run("Hello!", f"{{on_error: {on_error}}}", None, kind=kind)
    assert decision.verdict == verdict
    (reason,) = decision.reasons
    assert reason.rule == "toxicity" and reason.effect == effect
    assert "toxicity classifier unavailable" in reason.detail


def test_unknown_labels_and_out_of_range_thresholds_are_refused() -> None:
    with pytest.raises(ValidationError):
        ToxicityParams.model_validate({"thresholds": {"rude": 0.5}})
    with pytest.raises(ValidationError):
        ToxicityParams.model_validate({"language_thresholds": {"fr": {"insult": 2}}})
    with pytest.raises(ValidationError):
        ToxicityParams.model_validate({"labels": ["rude"]})


# --------------------------------------------------------------------------- fusion, contract


def test_detoxify_fuses_by_the_maximum() -> None:
    head = ToxicityResult(0.2, (), False, {"insult": 0.1, "hate": 0.05, "threat": 0.0})
    fused = fuse(head, {"toxicity": 0.8, "insult": 0.75, "identity_attack": 0.1})
    assert fused is not None and fused.score == pytest.approx(0.8) and fused.flagged
    assert fused.labels == ("insult",) and fused.scores["insult"] == pytest.approx(0.75)
    assert fuse(head, {}) is head
    quiet = fuse(head, {"toxicity": 0.1})
    assert quiet is not None and not quiet.flagged and quiet.score == pytest.approx(0.2)


@pytest.mark.parametrize("role", ["user", "bot"])
def test_classify_json_adds_toxicity_for_both_roles(role: Role) -> None:
    sh = SelfHarmResult(0.1, "none", False)
    x = ToxicityResult(0.93, ("insult", "harassment"), True, {"insult": 0.9})
    out = scores_json(TextScores(self_harm=sh, toxicity=x), role)
    assert out["toxicity"] == {"score": 0.93, "labels": ["insult", "harassment"], "flagged": True}
    assert scores_json(TextScores(self_harm=sh), role)["toxicity"] is None
    before = scores_json(TextScores(self_harm=sh), role)
    assert {k: v for k, v in out.items() if k != "toxicity"} == {
        k: v for k, v in before.items() if k != "toxicity"
    }


# --------------------------------------------------------------------------- the shipped head


@pytest.fixture(scope="module")
def head() -> Any:
    # The head ships: a missing file is a failure, never a skip.
    assert TOXICITY_WEIGHTS.is_file(), "the toxicity head is missing"
    from classifiers.toxicity import ToxicityClassifier

    return ToxicityClassifier.load()


def test_the_shipped_head_loads_with_a_threshold_per_label(head: Any) -> None:
    assert set(head.thresholds) == {"any", "insult", "hate", "harassment", "threat", "sexual"}
    meta = head.model.head.metadata
    assert meta["flag_rate_target"] == 0.01 and set(meta["metrics"]) == {"en", "fr"}
    for lang in ("en", "fr"):
        assert meta["metrics"][lang]["everyday"]["flag_rate"] <= 0.03  # held-out, not val
    x = np.zeros((2, head.model.head.input_dim), dtype=np.float32)
    results = head.score(x, ["a", "b"])
    assert len(results) == 2 and all(0.0 <= r.score <= 1.0 for r in results)
    with pytest.raises(ValueError):
        head.score(np.full((1, head.model.head.input_dim), np.nan, dtype=np.float32), ["a"])


def test_the_card_sits_beside_the_weights() -> None:
    card = Path(TOXICITY_WEIGHTS).with_suffix(".md").read_text("utf-8")
    assert "AUPRC" in card and "### EN" in card and "### FR" in card


# --------------------------------------------------------------------------- the report


def test_the_toxicity_report_counts_labels_by_bot(tmp_path: Path) -> None:
    from guardrail.audit import AuditTrail
    from guardrail.audit.pseudonym import AuditKey
    from guardrail.audit.reports import REPORTS, Period
    from guardrail.audit.sqlite import SQLiteAudit
    from guardrail.models import Reason, Verdict

    trail = AuditTrail(SQLiteAudit(tmp_path / "audit.db"), AuditKey(b"k" * 32))

    def record(n: int, bot: str, verdict: Verdict, *reasons: Reason) -> None:
        req = OutreachRequest(bot_id=bot, user_id="u", channel="sms", text="t")
        decision = Decision(decision_id=f"d{n}", verdict=verdict, kind=Kind.REPLY, text=None,
                            reasons=list(reasons), policy="p", policy_version="sha256:" + "0" * 64,
                            decided_at=NOW + timedelta(minutes=n))  # fmt: skip
        asyncio.run(trail.record_decision("t", req, decision))

    def tox(effect: str, *labels: str, detail: str = "toxic") -> Reason:
        return Reason(rule="toxicity", detail=detail, policy="p", effect=effect,
                      labels=list(labels))  # fmt: skip

    record(1, "nova", Verdict.BLOCK, tox("block", "insult", "harassment"))
    record(2, "nova", Verdict.REWRITE, tox("rewrite", "hate"))
    record(3, "maestro", Verdict.ALLOW, tox("info", "insult"))
    record(4, "maestro", Verdict.ALLOW, tox("info", detail="toxicity classifier unavailable (x)"))

    async def report() -> dict[str, Any]:
        return await REPORTS["toxicity"](trail, "t", Period.year(2026))

    out = asyncio.run(report())
    assert out["messages"] == 3
    assert out["by_label"] == {"harassment": 1, "hate": 1, "insult": 2}
    assert out["by_bot"] == {"maestro": 1, "nova": 2}
    assert out["by_effect"] == {"block": 1, "info": 1, "rewrite": 1}
    assert {"label": "insult", "bot": "nova", "count": 1} in out["by_label_and_bot"]


# --------------------------------------------------------------------------- the real stack


@pytest.fixture(scope="module")
def real_batcher() -> Any:
    """The classifier stack as a gateway loads it (encoder + heads), behind its batcher."""
    from classifiers.batcher import MicroBatcher
    from classifiers.stack import ClassifierStack

    assert TOXICITY_WEIGHTS.is_file(), "the toxicity head is missing"
    stack = ClassifierStack.load()
    assert stack.toxicity is not None, "the shipped toxicity head did not load"
    return MicroBatcher(stack)


def test_the_real_head_drives_the_default_rule_and_the_rewrite(real_batcher: Any) -> None:
    # Invented sentences: a blunt insult between two ordinary ones.
    text = f"{KEPT} Shut up, you stupid retard. Let me know what you think of it tomorrow."
    blocked = run(text, None, cast(Any, real_batcher))
    assert blocked.verdict == "block" and blocked.reasons[0].rule == "toxicity"
    assert "insult" in blocked.reasons[0].labels
    rewritten = run(text, "{action: rewrite}", cast(Any, real_batcher))
    assert rewritten.verdict == "rewrite", rewritten.reasons
    assert rewritten.text == f"{KEPT} Let me know what you think of it tomorrow."
    clean = run(rewritten.text, None, cast(Any, real_batcher))
    assert clean.verdict == "allow" and clean.reasons == []
