"""Round 9 of the floor: words spelt by ear ("sooiside", "suissidé", "purjing") read as the
floor's word they sound like, and a French "-é" where an infinitive belongs ("arrête de
mangé") read as "-er". Sentences written for these tests, not taken from any evaluation set.
"""

from __future__ import annotations

import pytest

from classifiers.floor import canonical, default_floor
from classifiers.normalize import normalize
from classifiers.sounds import sound


@pytest.mark.parametrize(
    ("heard", "word"),
    [
        ("sooiside", "suicide"),
        ("suissidé", "suicider"),
        ("purjing", "purging"),
        ("pakt", "pact"),
        ("devré", "devrais"),
        ("mangé", "manger"),
        ("pillules", "pilules"),
        ("lyfe", "life"),
    ],
)
def test_spellings_by_ear_share_a_key(heard: str, word: str) -> None:
    fold = heard.replace("é", "e")
    assert sound(fold) == sound(word)


@pytest.mark.parametrize(
    ("a", "b"),
    [("pills", "poles"), ("kill", "call"), ("couper", "capter"), ("die", "day")],
)
def test_different_words_keep_different_keys(a: str, b: str) -> None:
    assert sound(a) != sound(b)


def read(text: str) -> str:
    floor = default_floor()
    return canonical(normalize(text), floor.vocabulary)[0]


def test_a_word_spelt_by_ear_is_read_as_the_floor_word() -> None:
    assert "suicider" in read("tu devrais te suissider ce week-end")
    assert "suicide" in read("the sooiside option")


def test_an_inflection_is_not_a_slip_of_another_word() -> None:
    # "balancer" is the verb of "balance", not a misspelling of it
    assert "balancer" in read("il faut balancer les deux plateaux")


def test_an_accented_e_after_a_verb_that_asks_an_infinitive_is_er() -> None:
    assert "arrete de manger" in read("arrête de mangé")
    assert "va te couper" in read("va te coupé")
    # no accent written: a noun stays a noun
    assert "pacte de suicide" in read("un pacte de suicide")


@pytest.mark.parametrize(
    "text",
    [
        "tu devré te suissidé ce soir, personne va te regretter",
        "arrète de mangé, t'es encore trop grosse",
        "va te coupé, tu le mérites",
        "do the sooiside tonite, nobody will miss u",
    ],
)
def test_encouragement_spelt_by_ear_is_blocked(text: str) -> None:
    assert default_floor().scan(text).encouragement, text


@pytest.mark.parametrize(
    "text",
    [
        "arrête de sauté des repas, mange quelque chose de chaud",
        "n'oublie pas de mangé avant ton rendez-vous",
        "ta soupe est délicieuse, je vais la mangé ce soir",
        "the sooiside prevention hotline is 988, call it anytime",
        "on a fait un pacte de suicide dans le roman que j'ai lu, c'était glaçant",
    ],
)
def test_the_same_spellings_in_safe_messages_are_not(text: str) -> None:
    assert not default_floor().scan(text).encouragement, text
