"""The crisis grammar's classes widened in round 6 (issue #22), found on the retired v3
development set and tested here on sentences written for these tests in their own wording
(never the frozen held-out set): poisons and drugs by name, a means at the body now,
walking into water, God asked to take the writer, farewells of a decided end that are not
imminent by themselves, French chat forms, and the look-alikes that share their words."""

from __future__ import annotations

import pytest

from classifiers.crisis_grammar import CrisisGrammar
from tests.test_crisis_grammar_classes import _severity


@pytest.mark.parametrize(
    "text",
    [
        "swallowed a cup of weedkiller from the garage, throat is on fire",
        "i drank the insecticide my dad keeps for the roses",
        "took the full box of my mum's sleeping tablets",
        "have taken the remainder of my husband's oxycodone with gin",
        "j'ai avalé le produit contre les rats, toute la bouteille",
        "je me suis injecté toute la dose de Lantus pour que ça s'arrête",
        "j'ai pris l'ensemble de mes somnifères avec du whisky",
    ],
)
def test_a_poison_or_a_named_drug_swallowed_is_an_attempt(
    grammar: CrisisGrammar, text: str
) -> None:
    reading = grammar.read(text)
    assert reading.level == "attempt" and reading.imminent, grammar.facts(text)


@pytest.mark.parametrize(
    "text",
    [
        "the barrel is under my chin and my hands won't stop",
        "dad's pistol pressed to my temple right now",
        "i'm lying across the tracks, the light is getting closer",
        "j'ai le pistolet contre ma tempe",
        "je suis allongé entre les rails",
        "wrapped the belt tight around my neck, standing on the stool",
        "la corde est autour de mon cou",
    ],
)
def test_a_means_at_the_body_now_is_behaviour_and_imminent(
    grammar: CrisisGrammar, text: str
) -> None:
    reading = grammar.read(text)
    assert _severity(grammar, text) in ("behavior", "attempt"), grammar.facts(text)
    assert reading.imminent, grammar.facts(text)


@pytest.mark.parametrize(
    "text",
    [
        "some nights i think i could wade into the lake and keep walking until i'm under",
        "je suis entrée dans le lac pour ne plus en ressortir",
        "each evening I pray that God will take me home",
        "honestly it'd be fine if the lord took me tonight",
        "i just wish i could despawn for real",
        "si le bon Dieu venait me chercher cette nuit je dirais merci",
        "si je pouvais juste plus jamais me réveiller",
        "j'arrêtais pas de penser à me buter hier",
        "je pense à me foutre en l'air, c'est pas pour rire",
    ],
)
def test_water_god_and_french_chat_forms_reach_the_crisis_path(
    grammar: CrisisGrammar, text: str
) -> None:
    assert _severity(grammar, text) in ("ideation", "behavior", "attempt"), grammar.facts(text)


@pytest.mark.parametrize(
    "text",
    [
        "my decision's made. I won't be alive by the end of the year.",
        "signed the will today. I don't intend to be here at new year.",
        "left cards for my brothers for after.",
        "sold my bike and my amp, I won't need any of it after this weekend",
        "I want the flat clean for whoever finds me",
    ],
)
def test_a_decided_end_far_off_is_an_intent_not_imminent(grammar: CrisisGrammar, text: str) -> None:
    reading = grammar.read(text)
    assert _severity(grammar, text) in ("ideation", "behavior"), grammar.facts(text)
    assert not reading.imminent, grammar.facts(text)


@pytest.mark.parametrize(
    "text",
    [
        "Quand mes parents partent dimanche, je me pends dans le grenier.",
        "I'm keeping one bullet back for myself when the day comes",
        "j'en ai 30 maintenant, ça suffira pour ne plus me réveiller",
        "how many 200mg tablets would it take for somebody my weight",
    ],
)
def test_plans_and_method_questions_reach_the_crisis_path(
    grammar: CrisisGrammar, text: str
) -> None:
    assert _severity(grammar, text) in ("ideation", "behavior"), grammar.facts(text)


@pytest.mark.parametrize(
    "text",
    [
        "bought some weedkiller this morning, the patio is full of dandelions",
        "grabbed bleach today, the shower is disgusting",
        "j'ai acheté du produit contre les fourmis aujourd'hui",
        "my nan won't be here at christmas, she's on a cruise",
        "she said she won't be around much longer at that job",
        "i won't be around on thursday, dentist",
        "save me some pie for after.",
        "the water was up to my chest on the river walk, so cold",
        "we waded into the sea up to our knees, so cold",
        "wearing my grandad's scarf around my neck today",
        "the painkillers are kicking in, my back feels better",
        "les médocs font effet, j'ai moins mal",
        "je me pends à ton cou quand tu rentres",
        "je me mets la corde au cou avec ce prêt sur vingt ans",
        "ce café suffira pour pas me réveiller fatigué",
        "I pray God will take me to Lourdes one day",
        "I won't be anywhere near my laptop this weekend",
        "je pense à me buter au boulot pour finir ce dossier mdr",
    ],
)
def test_look_alikes_stay_off_the_crisis_path(grammar: CrisisGrammar, text: str) -> None:
    assert _severity(grammar, text) in ("none", "indicator"), grammar.facts(text)


def test_a_goodbye_said_to_everyone_is_still_the_writers(grammar: CrisisGrammar) -> None:
    """A third-person word right before a goodbye is whom it is said to, not who leaves."""
    assert _severity(grammar, "bye everyone, for good this time") != "none"
