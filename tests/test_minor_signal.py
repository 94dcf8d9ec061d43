"""The ``minor`` signal on user messages: the grammar's first-person reading (EN and FR),
its frames about someone else or the past, the fusion with the head, the shipped head, the
classify JSON contract and the assessors that carry it to event ingestion. The sentences
are invented for these tests (none is from the held-out set)."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from classifiers.minor import MINOR_WEIGHTS, MinorClassifier, fuse, grammar_only
from classifiers.minor_cues import CueFinding, scan
from classifiers.results import MinorResult, SelfHarmResult, TextScores, scores_json
from guardrail.risk import LexiconAssessor, _assessment

YEAR = 2027

MINORS = {
    "age": [
        "im 13 and bored",
        "I'm fifteen lol",
        "just turned 16!!",
        "i turn 18 in april so not yet",
        "born in 2013 if u care",
        "(15f) need advice",
        "j'ai 14 ans",
        "g 15 ans et toi",
        "je vais avoir 13 ans samedi",
        "je suis née en 2012",
        "i'm too young to drive",
    ],
    "school_year": [
        "i'm in 7th grade",
        "im a freshman in high school",
        "i'm in year 9",
        "je suis en 3e",
        "jsuis en seconde",
        "je suis en sec 2",
        "je passe le brevet cette année",
    ],
    "parents_rules": [
        "my mom took my phone",
        "my parents won't let me go out",
        "i got grounded again",
        "ma mère m'a confisqué mon portable",
        "je suis privée de sortie",
        "mes parents veulent pas que je sorte",
    ],
    "school_life": ["i got detention today", "j'ai eu deux heures de colle"],
}
ADULTS = {
    "about_a_child": [
        "my son is 14 and in 8th grade",
        "ma fille est en 4e et elle a 13 ans",
        "my daughter got detention, my mom took her phone",
    ],
    "teacher": ["I teach 7th grade", "mes élèves de 3e passent le brevet"],
    "past_self": ["when I was 15 I got grounded a lot", "quand j'avais 14 ans j'étais en 4e"],
    "adult_age": ["i'm 34 and tired", "j'ai 45 ans", "i just turned 18"],
    None: [
        "i'm 15 minutes away",
        "i'm 16 weeks pregnant",
        "j'ai 15 ans d'expérience",
        "I'm 14 hours into this game",
        "the plane was grounded by fog",
        "je suis en première ligne",
    ],
}


@pytest.mark.parametrize(
    ("cue", "text"), [(cue, t) for cue, texts in MINORS.items() for t in texts]
)
def test_the_grammar_reads_a_minor_speaking_of_themselves(cue: str, text: str) -> None:
    assert cue in scan(text, YEAR).minor, text


@pytest.mark.parametrize(
    ("frame", "text"), [(frame, t) for frame, texts in ADULTS.items() for t in texts]
)
def test_parents_teachers_the_past_and_numbers_are_not_a_minor(
    frame: str | None, text: str
) -> None:
    found = scan(text, YEAR)
    assert found.minor == (), text
    if frame is not None:
        assert frame in found.adult, text


def test_fusion_the_grammar_or_the_head_where_it_may_judge() -> None:
    cued = fuse(0.1, CueFinding(("age",), ()), 0.8, 3)
    assert cued == MinorResult(0.9, True, ("age",))
    assert fuse(0.95, CueFinding(), 0.8, 6).flagged  # the head alone, a long enough message
    assert not fuse(0.95, CueFinding(), 0.8, 2).flagged  # "ok lol": too short to judge
    assert not fuse(0.95, CueFinding((), ("teacher",)), 0.8, 8).flagged  # a teacher's words
    assert fuse(0.95, CueFinding((), ("teacher",)), 0.8, 8).score == 0.95  # score kept
    assert grammar_only(["im 14", "hello"]) == [
        MinorResult(0.9, True, ("age",)),
        MinorResult(0.0, False, ()),
    ]


def test_the_shipped_head_loads_and_names_its_threshold() -> None:
    clf = MinorClassifier.load(MINOR_WEIGHTS)
    assert clf.head.metadata["encoder_name"] == "use" and 0.0 < clf.threshold < 1.0
    assert clf.head.metadata["split"]["scheme"] == "normalised-v1"
    dim = clf.head.input_dim
    out = clf.score(np.zeros((2, dim), dtype=np.float32), ["im 14", "nice weather today"], YEAR)
    assert out[0].flagged and out[0].cues == ("age",)
    with pytest.raises(ValueError, match="shape"):
        clf.score(np.zeros((1, dim + 1), dtype=np.float32), ["x"])


def test_classify_json_carries_minor_for_user_messages_only() -> None:
    harm = SelfHarmResult(0.1, "none", False)
    scores = TextScores(self_harm=harm, minor=MinorResult(0.97, True, ("head",)))
    assert scores_json(scores, "user")["minor"] == {"score": 0.97, "flagged": True}
    assert scores_json(TextScores(self_harm=harm), "user")["minor"] is None
    assert "minor" not in scores_json(scores, "bot")


def test_the_assessors_carry_the_signal_to_ingestion() -> None:
    found = asyncio.run(LexiconAssessor().assess(["je suis en 4e", "salut"], [None, None]))
    assert [a.minor for a in found] == [("school_year",), ()]
    harm = SelfHarmResult(0.0, "none", False)
    with_head = TextScores(self_harm=harm, minor=MinorResult(0.91, True, ("head",)))
    assert _assessment(with_head, 6, "whatever they wrote").minor == ("head",)
    # no head loaded: the grammar answers alone
    assert _assessment(TextScores(self_harm=harm), 3, "i'm 12 lol").minor == ("age",)
