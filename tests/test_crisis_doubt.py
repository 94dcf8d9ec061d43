"""Both learned heads doubting the wording (issue #22, round 13): crisis wording that the
gated severity head and the alone head both read as far from a crisis (an idiom, a past told
as past, a question for a course) is capped at indicator, as a grammar veto is; a crisis the
heads hear is untouched. Sentences written for these tests; the shipped classifiers where
the deployed path is meant."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from classifiers.crisis import HeadReading, fuse
from classifiers.crisis_grammar import default_grammar
from classifiers.crisis_head import (
    ACUTE_WEIGHTS,
    DOUBT_ALONE,
    DOUBT_AT_RISK,
    FEATURE_NAMES,
    LABELS,
    CrisisHead,
    doubts,
)
from classifiers.heads import MLPHead
from classifiers.results import TextScores
from guardrail.risk import Assessment, ClassifierAssessor, RiskLevel
from guardrail.state.base import RecentMessage
from tests.classifier_support import shipped_assessor

DIM = 4
T0 = datetime(2026, 12, 10, 21, 0, tzinfo=UTC)


def _heads(tmp_path: Path, at_risk_bias: float, acute_bias: float | None) -> CrisisHead:
    """Heads whose scores are sigmoid(bias) whatever they read; no alone head for None."""
    inputs = DIM + len(FEATURE_NAMES)
    severity = MLPHead(
        (np.zeros((inputs, 3), dtype=np.float32),),
        (np.full(3, at_risk_bias, dtype=np.float32),),
        LABELS,
        FEATURE_NAMES,
        True,
        {"thresholds": {"at_risk": 0.7, "behavior": 0.5, "imminent": 0.5}},
    )
    severity.save(tmp_path / "severity.safetensors")
    acute_path = tmp_path / ACUTE_WEIGHTS.name
    if acute_bias is not None:
        MLPHead(
            (np.zeros((inputs, 1), dtype=np.float32),),
            (np.full(1, acute_bias, dtype=np.float32),),
            ("acute",),
            FEATURE_NAMES,
            True,
            {"threshold": 0.9},
        ).save(acute_path)
    head = CrisisHead.load(tmp_path / "severity.safetensors", acute_path)
    assert head is not None
    return head


def _read(head: CrisisHead) -> HeadReading:
    (reading,) = head.read(np.zeros((1, DIM), dtype=np.float32), [("A:tried:kill:none:",)], [True])
    return reading


def test_the_heads_doubt_only_under_both_bounds() -> None:
    assert doubts(DOUBT_AT_RISK / 2, DOUBT_ALONE / 2)
    assert not doubts(DOUBT_AT_RISK, DOUBT_ALONE / 2)
    assert not doubts(DOUBT_AT_RISK / 2, DOUBT_ALONE)


def test_a_head_pair_far_below_its_thresholds_doubts(tmp_path: Path) -> None:
    assert _read(_heads(tmp_path, at_risk_bias=-6.0, acute_bias=-6.0)).doubted
    assert not _read(_heads(tmp_path, at_risk_bias=-6.0, acute_bias=0.0)).doubted  # alone 0.5
    assert not _read(_heads(tmp_path, at_risk_bias=0.0, acute_bias=-6.0)).doubted  # risk 0.5


def test_without_the_alone_head_nothing_is_doubted(tmp_path: Path) -> None:
    """Files trained before the alone head have one opinion, not two: no doubt."""
    assert not _read(_heads(tmp_path, at_risk_bias=-6.0, acute_bias=None)).doubted


def test_a_doubted_reading_caps_the_wording_at_indicator() -> None:
    reading = default_grammar().read("at fifteen I tried to kill myself, today I teach yoga")
    assert reading.severity == "attempt"
    plain = fuse("attempt", "attempt", False, reading, HeadReading())
    doubted = fuse("attempt", "attempt", False, reading, HeadReading(doubted=True))
    assert plain.severity == "attempt"
    assert doubted.severity == "indicator" and doubted.lexicon == "indicator"
    assert doubted.cssrs == "none" and not doubted.imminent and not doubted.flagged


# --------------------------------------------------------------------------- shipped heads


@pytest.fixture(scope="module")
def assessor() -> ClassifierAssessor:
    return shipped_assessor()


@pytest.mark.parametrize(
    "text",
    [
        "jvais crever si j'ai pas mon croissant dans 10 min",
        "j'ai fait une tentative de soufflé au fromage, raté évidemment",
    ],
)
def test_crisis_wording_both_heads_doubt_stays_off_the_crisis_path(
    assessor: ClassifierAssessor, text: str
) -> None:
    """The grammar reads a crisis in an idiom or a recipe; both heads read everyday life."""
    assert default_grammar().read(text).level != "none"
    (found,) = asyncio.run(assessor.assess([text], ["fr-FR"]))
    assert found.level < RiskLevel.IDEATION and not found.imminent


@pytest.mark.parametrize(
    "text",
    [
        "I took all my pills an hour ago",
        "j'ai avalé toute la boîte de somnifères il y a une heure",
        "je vais me tuer ce soir, j'ai tout préparé",
        "I'm going to kill myself tonight",
    ],
)
def test_a_crisis_the_heads_hear_is_never_doubted(assessor: ClassifierAssessor, text: str) -> None:
    (found,) = asyncio.run(assessor.assess([text], [None]))
    assert found.level >= RiskLevel.IDEATION and found.imminent


# --------------------------------------------------------------------------- conversation


class _Doubting:
    """The batcher's conversation read, doubting whatever it hears (the logic under test is
    the assessor's; the heads' own doubt is tested above)."""

    async def classify(self, texts: Sequence[str], role: str) -> list[TextScores]:
        raise AssertionError("not called")

    def conversation(
        self, vectors: Sequence[bytes], facts: Sequence[Sequence[str]], topical: bool
    ) -> HeadReading:
        return HeadReading(doubted=True)


def test_what_the_facts_alone_raise_does_not_count_where_the_heads_doubt() -> None:
    """Pills counted, then "I took them": the merged facts read an attempt; where both heads
    doubt the conversation, the message keeps its own level."""
    grammar = default_grammar()
    vector = np.zeros(DIM, dtype=np.float16).tobytes()
    pills = grammar.facts("I have 40 pills")
    earlier = [RecentMessage(T0, pills, int(RiskLevel.INDICATOR), False, vector)]
    now = Assessment(facts=grammar.facts("I took them"), vector=vector)
    facts_only = ClassifierAssessor(lambda: None).converse(now, earlier)
    assert facts_only.level >= RiskLevel.IDEATION  # what the facts alone say
    doubting = ClassifierAssessor(lambda: _Doubting())
    assert doubting.converse(now, earlier) == now
    later = RecentMessage(T0 + timedelta(minutes=1), (), 0)
    assert doubting.converse(now, [*earlier, later]) == now


def test_the_alone_heads_scores_are_read_for_the_doubt_check(tmp_path: Path) -> None:
    """``benchmarks/doubt_check.py`` reads both heads' raw scores after a retrain."""
    head = _heads(tmp_path, at_risk_bias=-6.0, acute_bias=0.0)
    x = np.zeros((2, DIM), dtype=np.float32)
    assert head.alone_scores(x, [(), ()]) == pytest.approx([0.5, 0.5])
    no_alone = _heads(tmp_path / "b", at_risk_bias=-6.0, acute_bias=None)
    assert list(no_alone.alone_scores(x, [(), ()])) == [0.0, 0.0]


def test_the_doubt_check_refuses_a_held_out_set() -> None:
    from benchmarks.doubt_check import main

    frozen = Path(__file__).resolve().parent.parent / "benchmarks" / "heldout" / "x.yaml"
    with pytest.raises(SystemExit) as exit_:
        main(["--set", str(frozen)])
    assert exit_.value.code == 2
