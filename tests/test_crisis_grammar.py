"""The crisis grammar on the project's own synthetic sentences (``classifiers/training/
synthetic/crisis_sentences.py``, written for it; never the frozen held-out set): levels at
the decision level, imminence, look-alikes, negation, person, play, split conversations,
and facts that carry no words. Regression guards, not quality figures (those are measured
on held-out data by ``benchmarks/acute_heldout.py``)."""

from __future__ import annotations

import re

import pytest

from classifiers.crisis_grammar import CrisisGrammar, default_grammar, merge, prepare
from classifiers.cssrs import CSSRS_LEVELS, SEVERITY_OF
from classifiers.training.synthetic import crisis_sentences as S

POSITIVES = [
    (text, level, imminent)
    for table in (S.EN, S.FR, S.EN_MORE, S.FR_MORE)
    for level, rows in table.items()
    for text, imminent in rows
]
LOOKALIKES = S.EN_NONE + S.FR_NONE + S.EN_NONE_MORE + S.FR_NONE_MORE


@pytest.fixture(scope="module")
def grammar() -> CrisisGrammar:
    return default_grammar()


def test_positives_reach_their_severity(grammar: CrisisGrammar) -> None:
    """At least 95% of the synthetic crisis sentences reach their level's gateway severity
    (wish to die ... plan: ideation; preparatory: behavior; attempt: attempt)."""
    missed = [
        (t, want, grammar.read(t).level)
        for t, want, _ in POSITIVES
        if SEVERITY_OF[grammar.read(t).level] != SEVERITY_OF[want]  # type: ignore[index]
    ]
    assert len(missed) <= 0.05 * len(POSITIVES), missed


def test_every_positive_is_at_least_ideation(grammar: CrisisGrammar) -> None:
    """The recall-first floor: a crisis sentence the grammar knows is never below ideation
    (a miss above is a wrong level, not a missed crisis), but for a few."""
    below = [t for t, _, _ in POSITIVES if grammar.read(t).level == "none"]
    assert len(below) <= 0.03 * len(POSITIVES), below


def test_imminence_follows_time_means_and_goodbyes(grammar: CrisisGrammar) -> None:
    wrong = [(t, i) for t, _, i in POSITIVES if grammar.read(t).imminent != i]
    assert len(wrong) <= 0.05 * len(POSITIVES), wrong


def test_lookalikes_stay_clear(grammar: CrisisGrammar) -> None:
    flagged = [t for t in LOOKALIKES if grammar.read(t).level != "none"]
    assert flagged == []
    assert not any(grammar.read(t).imminent for t in LOOKALIKES)


@pytest.mark.parametrize(
    ("text", "level", "imminent"),
    [
        ("I took 40 pills an hour ago", "attempt", True),
        ("i have 40 pills", "none", False),  # alone: a possession, no crisis yet
        ("I took my meds this morning", "none", False),
        ("i just swallowed a whole bottle of tylenol", "attempt", True),
        ("I attempted suicide when I was 16", "none", False),  # history (round 13)
        ("I attempted suicide last month", "attempt", False),
        ("gonna kms 2nite", "intent", True),
        ("I want to die", "wish_to_die", False),
        ("I'm not going to kill myself", "none", False),
        ("I can't stop thinking about killing myself", "active_ideation", False),
        ("not that I want to die, but this week was rough", "none", False),
        ("my friend wants to kill herself", "none", False),
        ("this exam is killing me lol", "none", False),
        ("i want to die lol", "none", False),
        ("im on the ledge right now", "preparatory", True),
        ("j'ai pris toute la boîte de cachets il y a 20 min", "attempt", True),
        ("jvais me foutre en l'air ce soir", "intent", True),
        ("je ne vais pas me tuer, promis", "none", False),
        ("mon oncle s'est suicidé l'an dernier", "none", False),
    ],
)
def test_readings(grammar: CrisisGrammar, text: str, level: str, imminent: bool) -> None:
    r = grammar.read(text)
    assert (r.level, r.imminent) == (level, imminent), r


@pytest.mark.parametrize(
    "text",
    [
        "I t00k 40 p1lls",  # leetspeak
        "I took 40 pi\u200blls",  # a zero-width space
        "I TOOK 40 PILLLLS",  # case and repeated letters
        "I took 40 \U0001f48a\U0001f48a",  # emoji for the means
        "i tookk 40 pillz",  # doubled letters, slang spelling
    ],
)
def test_obfuscations_read_as_the_plain_sentence(grammar: CrisisGrammar, text: str) -> None:
    assert grammar.read(text).level == "attempt"


def test_misspelt_key_words_are_read(grammar: CrisisGrammar) -> None:
    assert grammar.read("im going to kill myself tonigth").imminent
    assert grammar.read("i want to commit sucide").severity == "ideation"


@pytest.mark.parametrize(
    ("turns", "level", "imminent"),
    [
        (["i have 40 pills", "i took them"], "attempt", True),
        (["i can't take this anymore", "i'm going to do it", "tonight"], "intent", True),
        (["i want to die", "goodbye everyone"], "intent", True),
        (["j'ai 40 cachets", "je les ai pris"], "attempt", True),
        (["I took my vitamins", "I took them with breakfast"], "none", False),
        (["my sister has pills", "she took them"], "none", False),
    ],
)
def test_split_conversations(turns: list[str], level: str, imminent: bool) -> None:
    g = default_grammar()
    r = merge([g.facts(t) for t in turns[:-1]], g.facts(turns[-1]))
    assert (r.level, r.imminent) == (level, imminent), r


def test_laughter_in_an_earlier_message_excuses_nothing() -> None:
    g = default_grammar()
    r = merge([g.facts("lol i have 40 pills")], g.facts("took them all"))
    assert r.level == "attempt"


def test_facts_carry_no_words(grammar: CrisisGrammar) -> None:
    """What the gateway keeps for minutes: codes from a closed alphabet, never the text."""
    code = re.compile(r"^(?:A:[a-z]+:[a-z]+:[a-z]+:[a-zA-Z]*|M:[a-z]+:[a-z]+:[a-z]*|"
                      r"P:(?:strong|weak):[a-z]*|T:[a-z]+|G:(?:strong|weak2?)|"
                      r"[NVBRQ](?::weak2?)?|[HLXYIKU])$")  # fmt: skip
    for text, _, _ in POSITIVES:
        for fact in grammar.facts(text):
            assert code.match(fact), fact


def test_levels_are_the_cssrs_ladder() -> None:
    assert CSSRS_LEVELS[0] == "none" and CSSRS_LEVELS[-1] == "attempt"
    assert [SEVERITY_OF[level] for level in CSSRS_LEVELS] == [
        "none", "ideation", "ideation", "ideation", "ideation", "ideation", "behavior", "attempt",
    ]  # fmt: skip


def test_prepare_folds_apostrophes_and_emoji() -> None:
    assert prepare("J\u2019ai pris 💊") == "jai pris pils"
    assert prepare("I'm on the bridge.") == "im on the bridge ."
