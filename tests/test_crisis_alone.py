"""The severity head speaking alone: over its stricter threshold, a crisis worded outside the
lexicons reaches the crisis path; below it, or where the grammar vetoes, it does not."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from classifiers.crisis import HeadReading, fuse
from classifiers.crisis_grammar import Reading, default_grammar
from classifiers.crisis_head import ACUTE_WEIGHTS, FEATURE_NAMES, LABELS, CrisisHead
from classifiers.heads import MLPHead
from classifiers.results import SelfHarmResult, TextScores
from guardrail.risk import RiskLevel, _assessment

DIM = 4


def _heads(
    tmp_path: Path, acute_bias: float, by_language: dict[str, float] | None = None
) -> CrisisHead:
    """A severity head that never speaks, and an alone head whose score is sigmoid(bias);
    ``by_language``: its thresholds per language, beside the strictest (0.9)."""
    inputs = DIM + len(FEATURE_NAMES)
    severity = MLPHead(
        (np.zeros((inputs, 3), dtype=np.float32),),
        (np.full(3, -20.0, dtype=np.float32),),
        LABELS,
        FEATURE_NAMES,
        True,
        {"thresholds": {"at_risk": 0.5, "behavior": 0.5, "imminent": 0.5}},
    )
    acute = MLPHead(
        (np.zeros((inputs, 1), dtype=np.float32),),
        (np.full(1, acute_bias, dtype=np.float32),),
        ("acute",),
        FEATURE_NAMES,
        True,
        {"threshold": 0.9}
        if by_language is None
        else {"threshold": 0.9, "thresholds_by_language": by_language},
    )
    severity.save(tmp_path / "severity.safetensors")
    acute.save(tmp_path / ACUTE_WEIGHTS.name)
    head = CrisisHead.load(tmp_path / "severity.safetensors", tmp_path / ACUTE_WEIGHTS.name)
    assert head is not None
    return head


def test_over_its_threshold_the_alone_head_says_ideation_with_no_material(
    tmp_path: Path,
) -> None:
    head = _heads(tmp_path, acute_bias=5.0)  # score 0.993
    assert head.speaks_alone and head.thresholds["at_risk_alone"] == pytest.approx(0.9)
    (reading,) = head.read(np.zeros((1, DIM), dtype=np.float32), [()], [False])
    assert reading == HeadReading("ideation", False, True)


def test_below_its_threshold_the_alone_head_says_nothing(tmp_path: Path) -> None:
    head = _heads(tmp_path, acute_bias=0.0)  # score 0.5
    (reading,) = head.read(np.zeros((1, DIM), dtype=np.float32), [()], [False])
    assert reading == HeadReading()


def test_without_its_file_the_head_never_speaks_alone(tmp_path: Path) -> None:
    _heads(tmp_path, acute_bias=5.0)
    head = CrisisHead.load(tmp_path / "severity.safetensors", tmp_path / "missing.safetensors")
    assert head is not None and not head.speaks_alone
    (reading,) = head.read(np.zeros((1, DIM), dtype=np.float32), [()], [False])
    assert reading == HeadReading()


def test_a_head_alone_reading_reaches_the_crisis_path_a_veto_stops_only_the_gated_head() -> None:
    """Since round 5 the alone head speaks of vetoed messages too (its threshold was set on
    every validation row, vetoed or not; the veto misread crises such as an overdose of a
    prescribed drug or "lol" after ideation); the gated head's reading still stops there."""
    alone = HeadReading("ideation", False, True)
    gated = HeadReading("ideation", False, False)
    plain, vetoed = Reading(), Reading(vetoed=True)
    fused = fuse("none", "none", False, plain, alone)
    assert fused.head_alone and fused.severity == "ideation" and fused.flagged
    assert fuse("none", "none", False, vetoed, alone).head_alone
    assert fuse("none", "none", False, vetoed, gated).severity == "none"

    def assess(head_alone: bool) -> RiskLevel:
        harm = SelfHarmResult(
            score=0.1, severity="ideation", flagged=True, lexicon="none", head_alone=head_alone
        )
        return _assessment(TextScores(self_harm=harm), words=8).level

    assert assess(True) == RiskLevel.IDEATION
    # the per-message head's flag alone stays a signal, never a crisis
    assert assess(False) == RiskLevel.INDICATOR


def test_a_vetoed_message_hears_from_the_alone_head_only() -> None:
    """``gated=False``: the gated head's recall-first thresholds never read the message; a
    reading, if any, is the alone head's."""
    head = CrisisHead.load()
    assert head is not None
    rng = np.random.default_rng(0)
    emb = rng.normal(size=(64, head.head.input_dim - len(FEATURE_NAMES))).astype(np.float32)
    facts = [("A:past:ingest:pills:q", "T:now")] * 64
    opened = head.read(emb, facts, [True] * 64)
    shut = head.read(emb, facts, [True] * 64, gated=[False] * 64)
    assert any(r.severity != "none" and not r.alone for r in opened)
    assert all(r.severity == "none" or r.alone for r in shut)


# --------------------------------------------------------------------------- per language
# Round 12: each language's everyday chat caps its own ``at_risk_alone``; a message the
# grammar cannot place in one language gets the strictest, as does a head file without them.


def test_each_language_reads_its_own_threshold(tmp_path: Path) -> None:
    head = _heads(tmp_path, acute_bias=1.6, by_language={"en": 0.9, "fr": 0.8})  # 0.832
    assert head.alone_threshold("fr") == pytest.approx(0.8)
    assert head.alone_threshold("en") == pytest.approx(0.9)
    assert head.alone_threshold(None) == head.alone_threshold("de") == pytest.approx(0.9)
    x = np.zeros((3, DIM), dtype=np.float32)
    said = head.read(x, [(), (), ()], [False] * 3, languages=["fr", "en", None])
    assert [r.severity for r in said] == ["ideation", "none", "none"]
    assert said[0].alone


def test_a_head_file_without_languages_keeps_one_threshold(tmp_path: Path) -> None:
    head = _heads(tmp_path, acute_bias=1.6)
    assert head.alone_threshold("fr") == head.alone_threshold(None) == pytest.approx(0.9)
    (said,) = head.read(np.zeros((1, DIM), dtype=np.float32), [()], [False], languages=["fr"])
    assert said.severity == "none"


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("je crois que je vais tout arrêter ce soir", "fr"),
        ("j'ai donné mon chat à la voisine, je n'en aurai plus besoin", "fr"),
        ("I gave the dog to my neighbour, I won't need him any more", "en"),
        ("i think i am going to stop everything tonight", "en"),
        ("done", None),
        ("", None),
    ],
)
def test_the_grammar_names_one_language_or_none(text: str, language: str | None) -> None:
    assert default_grammar().language(text) == language
    assert default_grammar().read(text).language == language
