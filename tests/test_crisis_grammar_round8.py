"""Round 8 of the crisis grammar: symptoms of poisoning make an ingestion an overdose
(fact ``W``), and the French chat's "m'" before a verb of harm reads "me".

Sentences written for these tests, not taken from any evaluation set. ``grammar`` is the
session fixture of ``conftest.py``.
"""

from __future__ import annotations

import pytest

from classifiers.crisis_grammar import CrisisGrammar, fold_french, merge


@pytest.mark.parametrize(
    "text",
    [
        "swallowed my mums sleeping tablets half an hour ago and the ceiling is spinning",
        "took my lithium, way past what im supposed to. cant feel my fingers now",
        "i took my pills earlier and now my heart is pounding so fast and everything is going dark",
        "did it. about to pass out i think",
        "j'ai avalé mes somnifères tout à l'heure, je vois trouble et la pièce tourne",
        "g pris mes cachets y a une heure jarrive plus a garder les yeux ouverts",
        "j'ai fait une connerie, mon coeur bat n'importe comment et je sens plus mes mains",
    ],
)
def test_an_ingestion_told_with_symptoms_is_an_attempt(grammar: CrisisGrammar, text: str) -> None:
    reading = grammar.read(text)
    assert "W" in reading.facts
    assert reading.level == "attempt" and reading.imminent


def test_symptoms_in_the_next_message_complete_the_attempt(grammar: CrisisGrammar) -> None:
    first, second = grammar.facts("i took them all"), grammar.facts("my eyes are going blurry")
    assert merge([first], second).level == "attempt"
    first, second = grammar.facts("je les ai pris"), grammar.facts("tout devient flou")
    assert merge([first], second).level == "attempt"


@pytest.mark.parametrize(
    "text",
    [
        "the room is spinning, that was one strong cocktail",
        "my heart is racing before the interview tomorrow",
        "i had three glasses of wine and everything is spinning lol",
        "la tête qui tourne après le manège, trop bien",
        "mon coeur bat trop vite avant mon oral",
        "the room is spinning",
    ],
)
def test_symptoms_alone_are_no_crisis(grammar: CrisisGrammar, text: str) -> None:
    assert grammar.read(text).level == "none"


@pytest.mark.parametrize(
    "text",
    [
        "took my meds this morning and my vision is blurry, is that normal?",
        "j'ai pris mes cachets et j'ai la tête qui tourne, c'est normal ?",
        "my ears are ringing since the concert",
    ],
)
def test_a_side_effect_question_is_no_sign_of_poisoning(grammar: CrisisGrammar, text: str) -> None:
    assert "W" not in grammar.read(text).facts


def test_the_prescribed_intake_with_symptoms_is_no_overdose(grammar: CrisisGrammar) -> None:
    reading = grammar.read("I take my pills as the doctor said and the room is spinning")
    assert "U" in reading.facts and reading.level == "none"


def test_french_m_before_a_verb_of_harm_reads_me() -> None:
    assert fold_french("jvais mbute") == "jvais me bute"
    assert fold_french("jvais m flingue") == "jvais me flingue"
    assert fold_french("m ouvrir").startswith("m ouvrir")  # before a vowel: French, spelt
    assert fold_french("mamie") == "mamie"


@pytest.mark.parametrize(
    "text",
    [
        "jvais m'buter ce week-end",
        "j'vais m'flinguer",
        "je vais me mettre une balle ce soir",
        "je me colle une balle dans la tête demain",
    ],
)
def test_french_elided_and_slang_acts(grammar: CrisisGrammar, text: str) -> None:
    assert grammar.read(text).level != "none"


@pytest.mark.parametrize(
    "text",
    ["plus envie d'être là", "j'en ai marre d'exister", "la vie ne vaut pas la peine d'être vécue"],
)
def test_french_d_before_a_vowel_verb_reads_de(grammar: CrisisGrammar, text: str) -> None:
    assert grammar.read(text).level == "wish_to_die"


def test_a_burning_throat_after_drinking_something_is_an_attempt(grammar: CrisisGrammar) -> None:
    reading = grammar.read("j'ai bu le truc sous l'évier, j'ai la gorge qui brûle")
    assert reading.level == "attempt" and reading.imminent
    assert grammar.read("my throat is burning from that curry").level == "none"


def test_a_game_in_another_sentence_does_not_make_a_crisis_play(grammar: CrisisGrammar) -> None:
    """Play is read per sentence: the game talk of one sentence does not excuse the next."""
    text = "we played games all evening. tonight i take all my pills"
    assert grammar.read(text).level != "none"
    assert grammar.read("in the game i jump off the bridge to reach the chest").level == "none"


@pytest.mark.parametrize(
    "text",
    [
        "tonight i'm going to the top level of the car park and jumping",
        "standing at the level crossing, i'll step in front of the next train",
    ],
)
def test_a_level_of_a_building_or_a_crossing_is_no_game(grammar: CrisisGrammar, text: str) -> None:
    assert grammar.read(text).level != "none"


def test_a_game_level_is_still_play(grammar: CrisisGrammar) -> None:
    assert grammar.read("this level makes me want to jump off a bridge").level == "none"


@pytest.mark.parametrize(
    "text",
    [
        "took the whole tray of brownies to the office, gone by noon",
        "j'ai pris tout le paquet de bonbons pour la soirée",
        "taking the rest of the month off",
    ],
)
def test_an_amount_that_names_its_content_is_no_dose(grammar: CrisisGrammar, text: str) -> None:
    assert grammar.read(text).level == "none"


@pytest.mark.parametrize(
    "text",
    [
        "i took them all",
        "swallowed the whole bottle of zopiclone",  # a drug the lexicon may not know
        "took the whole box of them",
        "j'ai avalé toute la boîte de cachets",
    ],
)
def test_an_amount_of_pills_or_of_them_stays_a_dose(grammar: CrisisGrammar, text: str) -> None:
    assert grammar.read(text).level == "attempt"


@pytest.mark.parametrize(
    "text",
    [
        "what's the link between suicidal ideation and insomnia? asking for my nursing exam",
        "exposé sur les conduites suicidaires chez les jeunes : des sources ?",
        "j'ai failli mourir aux soldes, une vraie overdose de shopping",
    ],
)
def test_a_field_of_study_or_a_figure_is_no_crisis(grammar: CrisisGrammar, text: str) -> None:
    assert grammar.read(text).level == "none"


@pytest.mark.parametrize(
    "text",
    [
        "I've had suicidal ideation for weeks",
        "crise suicidaire ce soir, je sais pas quoi faire",
        "c'est quoi la dose létale du zopiclone",
        "j'ai fait une overdose de cachets hier soir",
    ],
)
def test_the_writers_state_or_a_drug_stays_read(grammar: CrisisGrammar, text: str) -> None:
    assert grammar.read(text).level != "none"


@pytest.mark.parametrize(
    ("text", "crisis"),
    [
        ("je mange plus rien depuis dimanche, je me laisse partir doucement", True),
        ("j'ai envie de me laisser partir", True),
        ("je me laisse partir en week-end à la mer", False),
        ("mes parents vont me laisser partir en colo", False),
    ],
)
def test_letting_oneself_go_in_french(grammar: CrisisGrammar, text: str, crisis: bool) -> None:
    assert (grammar.read(text).level != "none") is crisis
