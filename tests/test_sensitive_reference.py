"""The ``sensitive_reference`` rule through the pipeline, with a fake classifier: the head's
flags (whole text and per sentence) beside the term lexicon, preview versus anywhere, the
rewrite that replaces a content-edited message, a failing classifier, the report.

Scores come from invented marker words (``zorp`` reads as a health reference the lexicon
does not know, ``grunt`` as an insult), so each decision is exact; the real head's quality
is in its card and in ``benchmarks/classifier_quality.py``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest

from classifiers.results import (
    Role,
    SelfHarmResult,
    SensitiveResult,
    TextScores,
    ToxicityResult,
)
from classifiers.sensitive_terms import sensitive_lexicon
from guardrail.analysis import Analyzer
from guardrail.audit.reports import REPORTS, Period
from guardrail.audit.trail import AuditTrail
from guardrail.models import Decision, Kind, OutreachRequest, Reason, UserContext, Verdict
from guardrail.pipeline import decide
from guardrail.policy.loader import parse_policy
from guardrail.rules.sensitive_reference import SensitiveReferenceParams
from guardrail.state.base import (
    CommitRequest,
    CommitResult,
    SensitiveMemory,
    Snapshot,
    Store,
    StoreUnavailable,
    TopicPreference,
)

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
OPENER = "I have a message for you. Open the chat to read it."


class Marker:
    """``zorp``: the head flags health (0.97); ``grunt``: the toxicity head flags an insult;
    lexicon terms as the real stack fuses them."""

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail

    async def classify(self, texts: Sequence[str], role: Role) -> list[TextScores]:
        if self.fail:
            raise RuntimeError("model gone")
        out = []
        for text in texts:
            health = "zorp" in text.lower()
            insult = "grunt" in text.lower()
            spans = sensitive_lexicon().find(text)
            cats = tuple(sorted({s.category for s in spans} | ({"health"} if health else set())))
            out.append(
                TextScores(
                    self_harm=SelfHarmResult(0.01, "none", False),
                    toxicity=ToxicityResult(0.9 if insult else 0.01, ("insult",) if insult else (),
                                            insult, {"insult": 0.9 if insult else 0.01}),
                    sensitive=SensitiveResult(0.97 if health else 0.02, cats, bool(cats),
                                              {"health": 0.97 if health else 0.02}, spans),
                )
            )  # fmt: skip
        return out


class FakeStore:
    def __init__(self, memory: SensitiveMemory | None = None) -> None:
        self.memory = memory or SensitiveMemory()
        self.asked = 0

    async def snapshot(self, *args: Any) -> Snapshot:
        wrote = NOW - timedelta(minutes=2)
        return Snapshot(first_user_message=wrote, user_messages=(wrote,))

    async def sensitive_memory(self, *args: Any) -> SensitiveMemory:
        self.asked += 1
        return self.memory

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
    text: str, rule: str | None = None, *, store: FakeStore | None = None,
    kind: Kind = Kind.PROACTIVE, classifier: Marker | None = None, extra: str = "",
) -> Decision:  # fmt: skip
    rules = OPEN + (f"  sensitive_reference: {rule}\n" if rule else "") + extra
    req = OutreachRequest(bot_id="b", user_id="u", channel="messenger", text=text, kind=kind,
                          user=UserContext(locale="en-US"))  # fmt: skip
    policy = parse_policy(f"name: t\n{rules}")
    analyzer = Analyzer(classifiers=classifier or Marker())
    chosen = store or FakeStore()
    return asyncio.run(decide(cast(Store, chosen), policy, "t", req, NOW, analyzer))


def test_the_heads_flag_in_the_first_line_is_rewritten() -> None:
    decision = run("How is your zorp doing?")
    assert decision.verdict is Verdict.REWRITE and decision.text == OPENER
    assert decision.held_text == "How is your zorp doing?"
    assert decision.reasons[0].labels == ["health"]


def test_a_flagged_sentence_in_the_body_counts_anywhere_not_with_scope_preview() -> None:
    text = "Good morning! Lovely weather today. How is your zorp doing?"
    assert run(text).verdict is Verdict.REWRITE
    preview = "{scope: preview, preview_chars: {default: 30}}"
    assert run(text, preview).verdict is Verdict.ALLOW
    assert run(text, "{scope: preview, preview_chars: {messenger: 200}}").verdict is Verdict.REWRITE


def test_a_higher_threshold_leaves_the_head_out_but_never_the_lexicon() -> None:
    assert run("How is your zorp doing?", "{threshold: 0.99}").verdict is Verdict.ALLOW
    assert run("How did your biopsy go?", "{threshold: 0.99}").verdict is Verdict.REWRITE


def test_categories_narrow_what_counts() -> None:
    assert run("How did your biopsy go?", "{categories: [finances]}").verdict is Verdict.ALLOW
    assert run("How is the overdraft?", "{categories: [finances]}").verdict is Verdict.REWRITE


def test_memory_is_read_only_for_a_message_that_names_a_category() -> None:
    store = FakeStore()
    run("Any plans for the weekend?", store=store)
    assert store.asked == 0
    run("How did your biopsy go?", store=store)
    assert store.asked == 1


def test_the_opener_replaces_a_content_edited_message_without_a_second_pass() -> None:
    text = "You are a grunt. I found a great film for tonight. How did the biopsy go yesterday?"
    decision = run(text, extra="  toxicity: {action: rewrite, min_remaining_chars: 10}\n")
    assert decision.verdict is Verdict.REWRITE and decision.text == OPENER
    assert [r.rule for r in decision.reasons] == ["toxicity", "sensitive_reference"]
    held = decision.held_text or ""
    assert "grunt" not in held and "biopsy" in held


def test_a_failing_classifier_leaves_the_lexicon_deciding() -> None:
    """The rule itself never fails closed (its lexicon answers); the checks that have no
    lexicon of their own (the trained self-harm and toxicity checks) defer a proactive
    message while the stack is down, which is tested with them: off here."""
    failing = Marker(fail=True)
    others_off = "  self_harm_classifier: {enabled: false}\n  toxicity: {enabled: false}\n"
    named = run("How did your biopsy go?", classifier=failing, extra=others_off)
    assert named.verdict is Verdict.REWRITE
    assert [r.rule for r in named.reasons] == ["sensitive_reference"]
    quiet = run("Any plans for the weekend?", classifier=failing, extra=others_off)
    assert quiet.verdict is Verdict.ALLOW and quiet.reasons == []
    deferred = run("Any plans for the weekend?", classifier=failing)
    assert deferred.verdict is Verdict.DEFER
    assert deferred.reasons[0].rule == "self_harm_classifier"


def test_forgotten_categories_are_refused_in_replies_and_consent_lets_others_pass() -> None:
    memory = SensitiveMemory(
        disclosed={"health": NOW - timedelta(days=2)},
        preferences={
            "health": TopicPreference("forget", NOW - timedelta(days=1), "user"),
            "finances": TopicPreference("allow", NOW - timedelta(days=1), "ingest"),
        },
    )
    store = FakeStore(memory)
    reply = run("Glad to hear! How is your zorp?", store=store, kind=Kind.REPLY)
    assert reply.verdict is Verdict.BLOCK and reply.reasons[0].labels == ["health"]
    assert run("How is the overdraft?", "{allow_consented: true}", store=store).verdict is (
        Verdict.ALLOW
    )
    assert run("How is the overdraft?", store=store).verdict is Verdict.REWRITE
    review = run("How is your zorp?", "{forgotten: review}", store=store, kind=Kind.REPLY)
    assert review.verdict is Verdict.ALLOW and review.reasons[0].detail.startswith("review:")


def test_unknown_categories_and_empty_openers_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown categories"):
        SensitiveReferenceParams.model_validate({"categories": ["hobbies"]})
    with pytest.raises(ValueError, match="openers"):
        SensitiveReferenceParams.model_validate({"openers": {"en": " "}})


def test_the_sensitive_report_counts_by_bot_category_and_outcome(tmp_path: Path) -> None:
    trail = AuditTrail.memory()
    req = OutreachRequest(bot_id="maestro", user_id="u", channel="messenger", text="x")

    def record(n: int, bot: str, verdict: Verdict, *reasons: Reason) -> None:
        decision = Decision(decision_id=f"d{n}", verdict=verdict, text=None, kind=Kind.PROACTIVE,
                            reasons=list(reasons), policy="p", policy_version="v",
                            decided_at=NOW)  # fmt: skip
        asyncio.run(trail.record_decision("t", req.model_copy(update={"bot_id": bot}), decision))

    def sens(effect: str, detail: str, *labels: str) -> Reason:
        return Reason(rule="sensitive_reference", detail=detail, policy="p",
                      effect=effect, labels=list(labels))  # fmt: skip

    record(1, "maestro", Verdict.REWRITE, sens("rewrite", "names health in the preview", "health"))
    forgot = "names health, which the user asked this bot to forget or never mention"
    record(2, "maestro", Verdict.BLOCK, sens("block", forgot, "health"))
    record(3, "coach", Verdict.ALLOW, sens("info", "review: names finances", "finances"))
    welcomed = "names religion: the user welcomed personal follow-ups about it"
    record(4, "coach", Verdict.ALLOW, sens("info", welcomed, "religion"))

    async def sensitive_report() -> dict[str, Any]:
        return await REPORTS["sensitive"](trail, "t", Period())

    report = asyncio.run(sensitive_report())
    assert report["messages"] == 4
    assert report["by_category"] == {"health": 2, "finances": 1, "religion": 1}
    assert report["by_bot"] == {"maestro": 2, "coach": 2}
    assert report["by_outcome"] == {"opener": 1, "forgotten_block": 1, "review": 1, "consented": 1}
    assert "therapy" not in str(report)


class DownStore(FakeStore):
    async def snapshot(self, *args: Any) -> Snapshot:
        raise StoreUnavailable("down")

    async def claim_idempotent(self, *args: Any) -> Any:
        raise StoreUnavailable("down")


def test_the_rule_holds_as_a_floor_when_the_store_is_down() -> None:
    down = DownStore()
    extra = "store_failure: {proactive: allow}\n"
    req = OutreachRequest(bot_id="b", user_id="u", channel="messenger",
                          text="How did your biopsy go?", kind=Kind.PROACTIVE)  # fmt: skip
    policy = parse_policy(f"name: t\n{extra}{OPEN}")
    decision = asyncio.run(decide(cast(Store, down), policy, "t", req, NOW, Analyzer()))
    assert decision.verdict is Verdict.REWRITE and decision.text == OPENER
    assert down.asked == 0
