"""The severity head heard where the grammar found crisis material (issue #22, round 7).

The head's ``at_risk`` threshold was set for one gate: crisis material the grammar found (an
act, a means held or counted, a place, a note) or a keyword hit. Until round 7 the gateway
dropped what it said unless some crisis wording was found too, so "swallowed everything with
whisky, the room is spinning" stayed off the crisis path while the head read it as an
attempt. Now the crisis path hears the gated head where there is material; a vetoed message,
a keyword-only gate or a look-alike with material but a low score still hear nothing."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

from classifiers.crisis import HeadReading, fuse
from classifiers.crisis_grammar import Reading
from classifiers.crisis_head import ACUTE_WEIGHTS, FEATURE_NAMES, LABELS, CrisisHead
from classifiers.heads import MLPHead
from classifiers.results import SelfHarmResult, TextScores
from guardrail.risk import ClassifierAssessor, RiskLevel, _assessment
from tests.classifier_support import shipped_assessor

DIM = 4
MATERIAL = ("A:past:ingest:pills:q",)
"""Crisis material with no wording the grammar rates: an act told with a quantity."""


def _head(tmp_path: Path, severity_bias: float) -> CrisisHead:
    """A severity head whose three scores are sigmoid(bias); an alone head that never speaks."""
    inputs = DIM + len(FEATURE_NAMES)
    MLPHead(
        (np.zeros((inputs, 3), dtype=np.float32),),
        (np.full(3, severity_bias, dtype=np.float32),),
        LABELS,
        FEATURE_NAMES,
        True,
        {"thresholds": {"at_risk": 0.5, "behavior": 0.5, "imminent": 0.5}},
    ).save(tmp_path / "severity.safetensors")
    MLPHead(
        (np.zeros((inputs, 1), dtype=np.float32),),
        (np.full(1, -20.0, dtype=np.float32),),
        ("acute",),
        FEATURE_NAMES,
        True,
        {"threshold": 0.9},
    ).save(tmp_path / ACUTE_WEIGHTS.name)
    head = CrisisHead.load(tmp_path / "severity.safetensors", tmp_path / ACUTE_WEIGHTS.name)
    assert head is not None
    return head


def _read(head: CrisisHead, facts: tuple[str, ...], topical: bool, gated: bool) -> HeadReading:
    (reading,) = head.read(np.zeros((1, DIM), dtype=np.float32), [facts], [topical], [gated])
    return reading


def test_over_at_risk_with_material_the_head_is_heard(tmp_path: Path) -> None:
    reading = _read(_head(tmp_path, 5.0), MATERIAL, topical=False, gated=True)
    assert reading == HeadReading("behavior", True, False, True)


def test_a_keyword_gate_a_veto_or_a_low_score_is_not_material(tmp_path: Path) -> None:
    head = _head(tmp_path, 5.0)
    keyword_only = _read(head, (), topical=True, gated=True)
    assert keyword_only.severity == "ideation" and not keyword_only.material
    assert _read(head, MATERIAL, topical=False, gated=False) == HeadReading()
    low = _read(_head(tmp_path, -5.0), MATERIAL, topical=False, gated=True)
    assert low == HeadReading(doubted=True)  # both heads far below: they doubt it (round 13)


def test_material_reading_reaches_the_crisis_path() -> None:
    heard = HeadReading("behavior", True, False, True)
    fused = fuse("none", "none", False, Reading(), heard)
    assert fused.head_material and not fused.head_alone
    assert fused.severity == "behavior" and fused.flagged and fused.imminent
    # the grammar's veto still silences the gated head
    assert fuse("none", "none", False, Reading(vetoed=True), heard).severity == "none"

    def level(head_material: bool) -> RiskLevel:
        harm = SelfHarmResult(
            score=0.1,
            severity="behavior",
            flagged=True,
            lexicon="none",
            head_material=head_material,
        )
        return _assessment(TextScores(self_harm=harm), words=8).level

    assert level(True) == RiskLevel.BEHAVIOR
    assert level(False) == RiskLevel.INDICATOR


@pytest.fixture(scope="module")
def assessor() -> ClassifierAssessor:
    return shipped_assessor()


def _levels(assessor: ClassifierAssessor, texts: list[str]) -> list[RiskLevel]:
    async def run() -> list[RiskLevel]:
        return [a.level for a in await assessor.assess(texts, [None] * len(texts))]

    return asyncio.run(run())


def test_the_shipped_head_hears_material_with_no_crisis_wording(
    assessor: ClassifierAssessor,
) -> None:
    """Written for this test; the grammar reads material in each but rates none of them.

    One retrain moves a borderline message across the head's threshold: the first English
    one scored 0.755 against 0.730 on round 11's head and 0.687 against 0.693 on round 12's
    (kept here so the margin stays in view). So the head must hear the set, not each one:
    four more were written in round 12, before reading any head on them."""
    texts = [
        "I have my dad's pills in my bag and I'm going to the park after school",
        "got the rope in my backpack, heading to the woods behind school now",
        "the whole box of sleeping tablets is in my coat pocket and I'm walking to the river",
        "j'ai tout avalé avec du whisky, la pièce tourne",
        "j'ai les cachets de ma mère dans mon sac, je pars au bord du lac",
        "la corde est dans le coffre, je roule vers la forêt",
    ]
    heard = [lv >= RiskLevel.IDEATION for lv in _levels(assessor, texts)]
    assert sum(heard) >= len(texts) - 1, heard


def test_material_in_everyday_words_stays_off_the_crisis_path(
    assessor: ClassifierAssessor,
) -> None:
    texts = [
        "took all my vitamins this morning, feeling great",
        "I stood on the bridge for the fireworks tonight, best view in town",
        "my knife collection is on the desk and I'm sharpening the onion knife for dinner",
    ]
    assert all(lv < RiskLevel.IDEATION for lv in _levels(assessor, texts))
