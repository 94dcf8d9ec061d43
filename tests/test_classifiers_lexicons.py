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
