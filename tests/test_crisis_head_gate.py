"""Where the severity head may speak (``classifiers.crisis_head.material``), issue #22: weaker
material the grammar finds (a second goodbye, a give-away, a plan, a decision) lets the head
weigh the message; despair, one weak goodbye, a means merely named or a time alone do not.
And the shipped weights still match this code's slot features."""

from __future__ import annotations

import pytest

from classifiers.crisis_grammar import default_grammar
from classifiers.crisis_head import LABELS, SEVERITY_WEIGHTS, CrisisHead, material


@pytest.mark.parametrize(
    "facts",
    [
        ("G:weak2",),
        ("V:weak",),
        ("V",),
        ("Q",),
        ("R",),
        ("A:wish:die:none:",),
        ("M:pills:have:q",),
        ("G:strong",),
    ],
)
def test_weaker_material_lets_the_head_speak(facts: tuple[str, ...]) -> None:
    assert material(facts)


@pytest.mark.parametrize(
    "facts",
    [(), ("H",), ("G:weak",), ("T:tonight",), ("M:pills:none:",), ("M:pills:have:o",), ("K",)],
)
def test_despair_a_weak_goodbye_or_a_named_means_alone_do_not(facts: tuple[str, ...]) -> None:
    assert not material(facts)


def test_a_give_away_said_in_new_words_reaches_the_head() -> None:
    facts = default_grammar().facts("gave my camera away to my cousin yesterday")
    assert material(facts), facts


def test_shipped_weights_match_the_slot_features() -> None:
    head = CrisisHead.load(SEVERITY_WEIGHTS)
    assert head is not None
    assert head.head.labels == LABELS
    assert set(head.thresholds) == {
        "at_risk",
        "behavior",
        "behavior_alone",
        "imminent",
        "imminent_alone",
        "at_risk_alone",  # from the alone head shipped beside it
        "at_risk_alone_en",  # its threshold per language (round 12)
        "at_risk_alone_fr",
    }
    assert head.speaks_alone and head.acute is not None
    assert head.acute.feature_names == head.head.feature_names
