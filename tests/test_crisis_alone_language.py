"""The alone head's threshold per language (round 12 of issue #22).

Each language's everyday chat caps its own ``at_risk_alone``; a message the grammar cannot
place in one language gets the strictest, and so does a head file from before the split.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from classifiers.crisis_grammar import default_grammar
from classifiers.crisis_head import ACUTE_WEIGHTS, FEATURE_NAMES, LABELS, CrisisHead
from classifiers.heads import MLPHead

DIM = 4


def _head(tmp_path: Path, by_language: dict[str, float] | None, acute_bias: float) -> CrisisHead:
    """A severity head that never speaks and an alone head scoring sigmoid(bias)."""
    inputs = DIM + len(FEATURE_NAMES)
    MLPHead(
        (np.zeros((inputs, 3), dtype=np.float32),),
        (np.full(3, -20.0, dtype=np.float32),),
        LABELS,
        FEATURE_NAMES,
        True,
        {"thresholds": {"at_risk": 0.5, "behavior": 0.5, "imminent": 0.5}},
    ).save(tmp_path / "severity.safetensors")
    meta: dict[str, object] = {"threshold": 0.95}
    if by_language is not None:
        meta["thresholds_by_language"] = by_language
    MLPHead(
        (np.zeros((inputs, 1), dtype=np.float32),),
        (np.full(1, acute_bias, dtype=np.float32),),
        ("acute",),
        FEATURE_NAMES,
        True,
        meta,
    ).save(tmp_path / ACUTE_WEIGHTS.name)
    head = CrisisHead.load(tmp_path / "severity.safetensors", tmp_path / ACUTE_WEIGHTS.name)
    assert head is not None
    return head


def test_each_language_reads_its_own_threshold(tmp_path: Path) -> None:
    head = _head(tmp_path, {"en": 0.95, "fr": 0.85}, acute_bias=2.2)  # score 0.900
    assert head.alone_threshold("fr") == pytest.approx(0.85)
    assert head.alone_threshold("en") == pytest.approx(0.95)
    assert head.alone_threshold(None) == pytest.approx(0.95)
    assert head.alone_threshold("de") == pytest.approx(0.95)
    x = np.zeros((3, DIM), dtype=np.float32)
    said = head.read(x, [(), (), ()], [False] * 3, languages=["fr", "en", None])
    assert [r.severity for r in said] == ["ideation", "none", "none"]
    assert said[0].alone


def test_a_head_file_without_languages_keeps_one_threshold(tmp_path: Path) -> None:
    head = _head(tmp_path, None, acute_bias=2.2)
    assert head.alone_threshold("fr") == head.alone_threshold(None) == pytest.approx(0.95)
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
