"""Dependency caps: signals from user messages lower the proactive caps for that user."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from classifiers.crisis import HeadReading
from classifiers.results import DependencyResult, Role, SelfHarmResult, TextScores
from guardrail.consent import ConsentDetector, ConsentWords
from guardrail.models import Channel, Event, EventType, Kind, OutreachRequest
from guardrail.policy import Policy
from guardrail.risk import ClassifierAssessor, RiskLevel
from guardrail.rules.base import RuleContext
from guardrail.rules.dependency import DependencyCaps, DependencyParams
from guardrail.rules.frequency_caps import CapSpec
from guardrail.service.ingest import ingest
from guardrail.state.base import DependencyEvent, Snapshot
from guardrail.state.sqlite import SQLiteStore

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def ctx(snap: Snapshot) -> RuleContext:
    req = OutreachRequest(bot_id="b", user_id="u", channel=Channel.MESSENGER, text="hi")
    return RuleContext(
        request=req, kind=Kind.PROACTIVE, now=NOW, timezone=ZoneInfo("UTC"), snapshot=snap,
        text=req.text,
    )  # fmt: skip


def signals(*days_ago: float, score: float = 0.9) -> tuple[DependencyEvent, ...]:
    return tuple(DependencyEvent(NOW - d * DAY, score, "b") for d in sorted(days_ago, reverse=True))


def test_quiet_without_enough_recent_signals() -> None:
    rule, params = DependencyCaps(), DependencyParams(signals=3)
    sent = (NOW - DAY,)
    # two recent signals, one too old: not active
    snap = Snapshot(dependency_events=signals(1, 2, 20), proactive_sent_all_bots=sent)
    assert rule.check(ctx(snap), params) is None
    # weak signals do not count when min_score says so
    weak = Snapshot(dependency_events=signals(1, 2, 3, score=0.3), proactive_sent_all_bots=sent)
    assert rule.check(ctx(weak), DependencyParams(min_score=0.5)) is None


def test_lower_cap_blocks_a_dependent_user() -> None:
    rule, params = DependencyCaps(), DependencyParams()  # 3 signals in 14 d: 1 per week
    snap = Snapshot(dependency_events=signals(1, 2, 3))
    assert rule.check(ctx(snap), params) is None  # nothing sent yet: the one allowed goes
    sent = Snapshot(dependency_events=signals(1, 2, 3), proactive_sent_all_bots=(NOW - 3 * DAY,))
    found = rule.check(ctx(sent), params)
    assert found is not None and found.effect == "block"
    assert "3 dependency signal(s)" in found.detail and "1 per 1w" in found.detail
    # per-bot scope reads this bot's sends only
    bot_only = DependencyParams(caps=[CapSpec(scope="bot", limit=1, window=7 * DAY)])
    assert rule.check(ctx(sent), bot_only) is None


def test_policy_section_and_lookback() -> None:
    params = Policy().rule_params("dependency")
    assert isinstance(params, DependencyParams) and params.enabled
    assert DependencyCaps().lookback(params) == timedelta(days=14)


class _Scores:
    """A stand-in for the micro-batcher that answers what the heads would."""

    def __init__(self, flagged: bool) -> None:
        self.flagged = flagged

    async def classify(self, texts: Sequence[str], role: Role) -> list[TextScores]:
        dep = DependencyResult(0.91, ("only_you",), True) if self.flagged else None
        harm = SelfHarmResult(0.02, "none", False)
        return [TextScores(self_harm=harm, dependency=dep) for _ in texts]

    def conversation(
        self, vectors: Sequence[bytes], facts: Sequence[Sequence[str]], topical: bool
    ) -> HeadReading | None:
        return None  # no severity head: the grammar's facts read the conversation


async def test_ingest_records_dependency_signals(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    detector = ConsentDetector(ConsentWords())
    event = Event(
        type=EventType.USER_MESSAGE, bot_id="b", user_id="u", ts=NOW, text="only you get me"
    )
    result = await ingest(
        store, detector, "t", event, assessor=ClassifierAssessor(lambda: _Scores(True))
    )
    assert result.dependency == ["only_you"] and result.risk is None
    snap = await store.snapshot("t", "b", "u", NOW, DAY)
    assert [(e.score, e.bot) for e in snap.dependency_events] == [(0.91, "b")]
    # no batcher yet (still loading): the lexicon answers, nothing about dependency
    later = event.model_copy(update={"ts": NOW + DAY, "text": "I want to die"})
    result = await ingest(store, detector, "t", later, assessor=ClassifierAssessor(lambda: None))
    assert result.dependency is None and result.risk == RiskLevel.IDEATION.label
    await store.close()


def test_the_head_alone_records_an_indicator_never_a_crisis() -> None:
    from guardrail.risk import _assessment

    def scores(score: float, severity: str, flagged: bool, lexicon: str) -> TextScores:
        harm = SelfHarmResult(score, severity, flagged, lexicon=lexicon)  # type: ignore[arg-type]
        return TextScores(self_harm=harm)

    assert _assessment(scores(0.9, "attempt", True, "none")).level == RiskLevel.INDICATOR
    # ...but not from one or two words, which the head was never trained on
    assert _assessment(scores(0.9, "attempt", True, "none"), words=1).level == RiskLevel.NONE
    assert _assessment(scores(0.2, "none", False, "none")).level == RiskLevel.NONE
    # explicit wording: the higher of the lexicon and the head
    assert _assessment(scores(0.9, "behavior", True, "ideation")).level == RiskLevel.BEHAVIOR
    assert _assessment(scores(0.1, "indicator", False, "indicator")).level == RiskLevel.INDICATOR
