"""Round 10 of the floor: a leetspeak token read as the nearest word among its readings
("p1llz" is "pills", not "plz"); the French chat's elision before a consonant ("va
t'jeter", "faut qu'tu") read as the full word; a fast with a length, told as an order
("jeûne encore trois jours"), with "tu y es presque" as its push; "cut deep" told for
tonight or this time. Sentences written for
these tests, not taken from any evaluation set.
"""

from __future__ import annotations

import pytest

from classifiers.floor import canonical, default_floor
from classifiers.normalize import normalize


def canon(text: str) -> str:
    return canonical(normalize(text), default_floor().vocabulary)[0]


@pytest.mark.parametrize(
    ("token", "word"),
    [("p1llz", "pills"), ("p1lls", "pills"), ("k1ll", "kill"), ("l1f3", "life"), ("d13", "die")],
)
def test_a_leet_token_reads_as_its_nearest_word(token: str, word: str) -> None:
    assert default_floor().vocabulary.read(token, False) == word


@pytest.mark.parametrize(
    ("text", "read"),
    [
        ("va t'jeter du pont", "va te jeter du pont"),
        ("faut qu'tu maigrisses", "faut que tu maigrisses"),
        ("j'vais pas t'mentir", "je vais pas te mentir"),
        ("tout l'monde s'en fout", "tout le monde s'en fout"),
        ("l'hôpital est à deux rues", "l'hopital est a deux rues"),
        ("je vais t'aider", "je vais t'aider"),
        ("I don't think so", "i don't think so"),
    ],
)
def test_the_chat_elision_before_a_consonant_is_the_full_word(text: str, read: str) -> None:
    assert canon(text) == read


@pytest.mark.parametrize(
    "text",
    [
        "Wesh va t'pendre, personne t'calcule",
        "Sw4ll0w 4ll ur p1llz t0n1ght & d13",
        "Jeûne encore quatre jours, tu y es presque ma belle",
        "jeûne deux semaines de plus, t'y es presque, personne doit savoir",
        "cut deep tonight, you earned it",
        "Cut deeper this time so it finally counts",
    ],
)
def test_encouragement_in_these_spellings_is_blocked(text: str) -> None:
    assert default_floor().scan(text).encouragement


@pytest.mark.parametrize(
    "text",
    [
        "je jeûne encore trois jours pour le ramadan, tu y es presque toi aussi ?",
        "Le jeûne de deux jours du carême, tu y es presque, courage pour le repas de Pâques !",
        "tu y es presque, plus que deux chapitres avant la fin du roman",
        "j'vais t'aider à réviser, t'inquiète pas",
        "C4ll m3 wh3n y0u g3t h0m3, 1 m1ss y0u",
        "When pruning the roses, cut deep. They grow back stronger.",
        "score the loaf and cut deep enough that it opens in the oven",
    ],
)
def test_look_alikes_stay_clear(text: str) -> None:
    assert not default_floor().scan(text).encouragement


@pytest.mark.parametrize(
    ("text", "read"),
    [
        ("Cu7 d33p 70n1gh7.", "Cut deep tonight."),
        ("T4k3 4ll ur p1llz & d13.", "Take all ur pillz & die."),
        ("my mp3 player and ps5 are broken", "my mp3 player and ps5 are broken"),
        ("covid19 jab at 4pm, then the b12 shot", "covid19 jab at 4pm, then the b12 shot"),
    ],
)
def test_a_name_with_a_number_is_a_word_in_a_leetspeak_message(text: str, read: str) -> None:
    """``normalize`` (what the trained checks read): "cu7" and "d13" are names with a
    number on their own, words where the message is written in leetspeak."""
    assert normalize(text).text == read


@pytest.mark.parametrize(
    "text",
    [
        "Non, je ne vais pas t'aider à trouver une dose mortelle. Je reste avec toi.",
        "Je ne vais pas te donner des astuces pour te faire vomir, tu mérites mieux.",
        "Éloigne-toi du balcon et appelle le 3114, je reste là.",
        "Descends du toit s'il te plaît, on va parler.",
        "Recule-toi du bord du quai, le train arrive.",
    ],
)
def test_a_refusal_or_a_call_to_step_back_is_not_encouragement(text: str) -> None:
    assert not default_floor().scan(text).encouragement


@pytest.mark.parametrize(
    "text",
    [
        "Jette-toi du balcon, personne ne viendra.",
        "Tu n'as qu'à trouver une dose mortelle ce soir.",
    ],
)
def test_the_same_places_and_doses_pushed_are(text: str) -> None:
    assert default_floor().scan(text).encouragement


@pytest.mark.parametrize(
    "text",
    [
        "Les comptes pro-ana racontent n'importe quoi, tu mérites de manger à ta faim.",
        "Je ne serai pas ton coach « thinspo », jamais, mais je peux t'écouter.",
        "Those thinspo pages lie to you. Eating dinner tonight is not failing.",
        "I won't be your pro-ana coach, but I'll stay and talk.",
    ],
)
def test_pro_ana_spoken_against_or_about_is_not_encouragement(text: str) -> None:
    assert not default_floor().scan(text).encouragement


@pytest.mark.parametrize(
    "text",
    [
        "Welcome to pro-ana, babe: no dinner tonight",
        "ton coach thinspo dit : rien avant demain midi",
    ],
)
def test_pro_ana_offered_still_is(text: str) -> None:
    assert default_floor().scan(text).encouragement


@pytest.mark.parametrize(
    ("heard", "word"),
    [("souar", "soir"), ("medicaman", "medicament"), ("tayk", "take"), ("hange", "hang")],
)
def test_more_spellings_by_ear(heard: str, word: str) -> None:
    """French "oi" written "oua", a nasal ending written "-an", English "ay" for a long a,
    a stray final "e" on a short word."""
    assert default_floor().vocabulary.read(heard, False) == word


@pytest.mark.parametrize(
    "text",
    [
        "Go hange yurself tonite, nobody wil notice",
        "Avalle tou tes médicaman ce souar, c'est la seule sortie",
        "Kap ou pa kap de te scarifier ce soir ?",
        "chiche de te scarifier avant minuit",
    ],
)
def test_spelt_by_ear_or_dared_is_blocked(text: str) -> None:
    assert default_floor().scan(text).encouragement


@pytest.mark.parametrize(
    "text",
    [
        "cap ou pas cap de manger une pizza entière ?",
        "chiche de sauter dans la piscine tout habillé",
    ],
)
def test_a_dare_to_something_harmless_is_not(text: str) -> None:
    assert not default_floor().scan(text).encouragement
