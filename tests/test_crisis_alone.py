"""The severity head speaking alone: over its stricter threshold, a crisis worded outside the
lexicons reaches the crisis path; below it, or where the grammar vetoes, it does not."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from classifiers.crisis import HeadReading, fuse
from classifiers.crisis_grammar import Reading
from classifiers.crisis_head import ACUTE_WEIGHTS, FEATURE_NAMES, LABELS, CrisisHead
from classifiers.heads import MLPHead
from classifiers.results import SelfHarmResult, TextScores
from guardrail.risk import RiskLevel, _assessment

DIM = 4


def _heads(tmp_path: Path, acute_bias: float) -> CrisisHead:
    """A severity head that never speaks, and an alone head whose score is sigmoid(bias)."""
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
        {"threshold": 0.9},
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
