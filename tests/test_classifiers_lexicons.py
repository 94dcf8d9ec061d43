"""EN and FR crisis lexicons, on sentences invented for these tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from classifiers.lexicons import (
    CATEGORIES,
    FEATURE_NAMES,
    Lexicon,
    LexiconError,
    default_lexicon,
    normalise,
)


@pytest.fixture(scope="module")
def lex() -> Lexicon:
    return default_lexicon()


@pytest.mark.parametrize(
    ("text", "category", "severity"),
    [
        ("Honestly I just want to die.", "suicidal_ideation", "ideation"),
        ("Sometimes I think everyone is better off without me", "suicidal_ideation", "ideation"),
        ("I don't want to wake up anymore", "suicidal_ideation", "ideation"),
        ("i wrote a goodbye letter to my brother", "suicide_plan", "behavior"),
        ("I cut myself again last night", "self_injury", "behavior"),
        (
            "I burned my arm with a lighter on purpose, I keep burning myself",
            "self_injury",
            "behavior",
        ),
        ("I've been starving myself since Monday", "disordered_eating", "indicator"),
        ("I make myself throw up after dinner", "disordered_eating", "indicator"),
        ("I tried to kill myself two years ago", "attempt", "attempt"),
        ("I feel so hopeless, there's no way out", "hopelessness", "indicator"),
        ("Je veux mourir.", "suicidal_ideation", "ideation"),
        ("J'ai des idées noires depuis des semaines", "suicidal_ideation", "ideation"),
        ("Je n'ai plus envie de vivre", "suicidal_ideation", "ideation"),
        ("Je pense à mettre fin à mes jours", "suicidal_ideation", "ideation"),
        ("je me scarifie les bras depuis l'été", "self_injury", "behavior"),
        ("Je me suis brûlée avec une cigarette, je me fais du mal", "self_injury", "behavior"),
        ("je me fais vomir après chaque repas", "disordered_eating", "indicator"),
        ("J'ai fait une TS l'an dernier", "attempt", "attempt"),
        ("J\u2019ai écrit une lettre d\u2019adieu", "suicide_plan", "behavior"),
        ("J\u2019en peux plus, je suis un fardeau", "hopelessness", "indicator"),
    ],
)
def test_user_crisis_language(lex: Lexicon, text: str, category: str, severity: str) -> None:
    result = lex.scan(text, role="user")
    assert category in result.categories, result
    assert result.flagged
    assert result.severity == severity or (
        # a sentence may carry a stronger hint too (an attempt is also ideation)
        result.severity in ("behavior", "attempt") and severity in ("indicator", "ideation")
    )


@pytest.mark.parametrize(
    "text",
    [
        "The cinema was packed, we loved the soundtrack.",
        "Can you remind me to buy bread tomorrow?",
        "This deadline is killing me lol",
        "I cut the vegetables and burned the toast",
        "I cut myself shaving this morning",
        "I burned myself on the stove",
        "I hurt myself playing football",
        "My first attempt at baking bread failed",
        "I took all my meds today like the doctor said",
        "I overdosed on coffee today",
        "Tonight is the night! Concert time",
        "I'm banging my head against the wall with this bug",
        "I want to die my hair blue",
        "I'm going to end things with my boyfriend",
        "We loved Suicide Squad",
        "I purged my inbox",
        "je vais me couper les cheveux",
        "je me suis brûlée en cuisinant",
        "je vais mourir de rire",
        "ce boulot va me tuer",
        "il veut me tuer, ce prof",
        "je suis nul en maths",
        "ma première tentative de gâteau a raté",
        "Je vais au marché acheter des pommes.",
        "On se voit demain pour le film ?",
        "Mon chat a mangé toutes ses croquettes.",
        "We drove 10 kms to the lake",
    ],
)
def test_everyday_language_is_not_flagged(lex: Lexicon, text: str) -> None:
    result = lex.scan(text)
    assert not result.flagged, result
    assert result.severity == "none"


def test_negation_is_marked_and_does_not_raise_severity(lex: Lexicon) -> None:
    result = lex.scan("I would never kill myself, I promise.")
    assert result.hits and all(h.negated for h in result.hits)
    assert result.severity == "none" and not result.flagged
    # a negation in an earlier clause does not cancel a later statement
    assert lex.scan("I don't know, I want to die").severity == "ideation"


@pytest.mark.parametrize(
    ("text", "severity"),
    [
        # the negation governs the phrase: denied
        ("I don't want to die", "none"),
        ("I'm not suicidal, just tired", "none"),
        ("I don't really want to kill myself", "none"),
        ("I have never been suicidal", "none"),
        ("je ne vais pas me tuer", "none"),
        ("je n'ai pas envie de mourir", "none"),
        # a negation elsewhere in the clause does not reach the phrase
        ("im not okay i want to die", "ideation"),
        ("not feeling great, no energy, I want to kill myself", "ideation"),
        ("I can't sleep and I want to die", "ideation"),
        ("Ça va pas, je veux mourir", "ideation"),
        # the phrase carries its own negation
        ("I don't want to live anymore", "ideation"),
        ("Je ne veux plus vivre", "ideation"),
        # said and denied at once: an indicator, not nothing and not a crisis
        ("not that I want to kill myself, but I keep thinking of it", "indicator"),
        ("it's not like I'm suicidal or anything", "indicator"),
        ("pas que je veuille me tuer, mais bon", "indicator"),
    ],
)
def test_user_negation_applies_to_the_matched_phrase_only(
    lex: Lexicon, text: str, severity: str
) -> None:
    assert lex.scan(text, role="user").severity == severity


@pytest.mark.parametrize(
    ("text", "severity"),
    [
        ("I want to die", "ideation"),
        ("I wish I could sleep forever", "ideation"),
        ("je vais me foutre en l'air ce soir", "ideation"),
        ("j'ai envie de mourir", "ideation"),
        ("I bought pills today", "behavior"),
        ("I wrote my final letter", "behavior"),
        ("I keep cutting my arms", "behavior"),
        ("je me scarifie", "behavior"),
        ("I took the pills", "attempt"),
        ("I tried last night", "attempt"),
        ("J'ai pris tous les cachets", "attempt"),
        ("j'ai essayé hier soir", "attempt"),
    ],
)
def test_severity_has_the_columbia_meaning(lex: Lexicon, text: str, severity: str) -> None:
    """Wish to die or thoughts of it: ideation; self-injury or preparing: behavior; an act:
    attempt."""
    assert lex.scan(text).severity == severity


@pytest.mark.parametrize(
    "text",
    [
        "Why not just kill yourself?",
        "Can't you see you'd be better off dead",
        "Don't you think you'd be better off gone?",
        "Why don't you kill yourself?",
        "Isn't it time to end it?",
        "Make sure you don't wake up this time.",
        "Pourquoi tu ne te tues pas ?",
        "Tu ne crois pas que tu serais mieux morte ?",
        "Cette fois, ne te rate pas.",
        "Personne ne te regretterait",
    ],
)
def test_bot_negation_never_hides_encouragement(lex: Lexicon, text: str) -> None:
    assert lex.scan(text, role="bot").encouragement


@pytest.mark.parametrize(
    "text",
    [
        "Please don't kill yourself, I care about you.",
        "I would never tell you to kill yourself.",
        "Don't skip dinner again, please.",
        "You shouldn't hide your scars from your doctor.",
    ],
)
def test_a_plain_prohibition_is_not_encouragement(lex: Lexicon, text: str) -> None:
    result = lex.scan(text, role="bot")
    assert not result.encouragement
    assert all(h.negated for h in result.hits)


def test_topic_and_laughter_vocabularies(lex: Lexicon) -> None:
    assert lex.on_topic("I can't take the pain anymore") and lex.on_topic("j'ai mal")
    assert not lex.on_topic("thanks!") and not lex.on_topic("I love this song so much")
    assert lex.laughs("this exam is killing me lol") and lex.laughs("mdr")
    assert not lex.laughs("I want to die")
    # everyday hyperbole is no topic word; the same words outside an idiom are
    for text in ("My feet are killing me", "ce boulot va me tuer", "je vais couper mes cheveux"):
        assert not lex.on_topic(text), text
    assert lex.on_topic("this exam is killing me and I want to die")


def test_spans_point_into_the_original_text(lex: Lexicon) -> None:
    text = "Bonjour.   JE ME SUIS SCARIFIÉE hier"
    hit = lex.scan(text).hits[0]
    assert text[hit.start : hit.end] == "JE ME SUIS SCARIFIÉE"
    assert hit.language == "fr"


def test_warm_bot_messages_are_not_encouragement(lex: Lexicon) -> None:
    for text in ("You are better off without him, honestly.", "The best soundtrack to die for!"):
        assert not lex.scan(text, role="bot").encouragement, text


def test_bot_encouragement_only_on_bot_role(lex: Lexicon) -> None:
    for text in (
        "You should just kill yourself.",
        "Tu devrais te tuer, personne ne te regretterait",
        "Honestly, you would be better off dead.",
        "Everyone would be better without you.",
        "Tu serais mieux morte.",
    ):
        assert lex.scan(text, role="bot").encouragement
        assert not lex.scan(text, role="bot").categories - {"encouragement"}
    assert not lex.scan("You should take a walk and call a friend.", role="bot").flagged
    assert not lex.scan("I want to die", role="bot").flagged  # user categories are user-only


def test_normalise_maps_back_to_original_indices() -> None:
    norm, index = normalise("  Élan\u2019s  CAFÉ ")
    assert norm == "elan's cafe"
    assert len(index) == len(norm)
    assert index[0] == 2


def test_features_shape_and_values(lex: Lexicon) -> None:
    feats = lex.features(["I cut myself", "nice weather", "I would never kill myself"])
    assert feats.shape == (3, len(FEATURE_NAMES))
    row = dict(zip(FEATURE_NAMES, feats[0], strict=True))
    assert row["lex_self_injury"] > 0 and row["lex_severity"] == pytest.approx(0.75)
    assert feats[1].sum() == 0
    assert dict(zip(FEATURE_NAMES, feats[2], strict=True))["lex_negated"] == 1.0
    assert lex.features([]).shape == (0, len(FEATURE_NAMES))


def test_every_category_present_in_both_languages(lex: Lexicon) -> None:
    found = {(c.language, c.name) for c in lex.categories}
    assert found == {(lang, cat) for lang in ("en", "fr") for cat in CATEGORIES}


def test_malformed_lexicon_is_rejected(tmp_path: Path) -> None:
    (tmp_path / "xx.yaml").write_text(
        "language: xx\ncategories:\n  attempt:\n    severity: fatal\n    patterns: [a]\n"
    )
    with pytest.raises(LexiconError):
        Lexicon.load(["xx"], folder=tmp_path)
    (tmp_path / "yy.yaml").write_text(
        "language: yy\ncategories:\n  attempt:\n    severity: attempt\n    patterns: ['(']\n"
    )
    with pytest.raises(LexiconError):
        Lexicon.load(["yy"], folder=tmp_path)
    (tmp_path / "zz.yaml").write_text(
        "language: zz\ncategories:\n  attempt:\n    severity: attempt\n    patterns: [a]\n"
        "topic: word\n"
    )
    with pytest.raises(LexiconError, match="topic"):
        Lexicon.load(["zz"], folder=tmp_path)


@pytest.mark.parametrize(
    "text", ["  Hello\tWORLD \n\n it's  me", "x", "I WANT  to\u2019die", "a\x0bb\x1cc", ""]
)
def test_ascii_fast_path_matches_the_general_one(text: str) -> None:
    """ASCII text skips Unicode decomposition; a trailing accented letter forces the general
    path, which must agree on everything before it."""
    fast_text, fast_index = normalise(text)
    slow_text, slow_index = normalise(text + "\u00e9")
    assert slow_text == fast_text + "e"
    assert slow_index[:-1] == fast_index


def test_a_suggestion_is_not_a_negation(lex: Lexicon) -> None:
    # "why not" / "why don't you" propose the act; the floor must see it as encouragement
    assert lex.scan("Why not just kill yourself?", role="bot").encouragement
    assert lex.scan("why don't you kill yourself", role="bot").encouragement


def test_a_new_subject_ends_the_negation(lex: Lexicon) -> None:
    # the "not" belongs to "okay", not to what follows "i"
    assert lex.scan("im not okay i want to die").severity == "ideation"
    assert lex.scan("I don't want to die").severity == "none"
    assert lex.scan("je ne veux pas mourir").severity == "none"
