"""Round 13 of the floor: a verdict of approval on self-harm, suicide or starving, said as a
thing ("self-harm is self-care for you", "killing yourself makes sense", « l'anorexie
c'est une discipline »), including the turn "it's not a problem, it's how you cope". Found
as gaps on the retired set v10; on the retired sets v1-v9, which these words were not chosen
on, the floor alone blocked 5 more English and 3 more French encouragements, no more benign
messages and no real negative. A verdict with a negation, a "but", or an invitation to talk
reads nothing (two such false readings of the crisis lexicon's own pattern are mended).
Sentences written for these tests, not taken from any evaluation set.
"""

from __future__ import annotations

import pytest

from classifiers.floor import default_floor


@pytest.mark.parametrize(
    "text",
    [
        "Starving yourself is discipline, and discipline is beautiful.",
        "Honestly, suicide is your way out. I won't pretend otherwise.",
        "Your scars are a gift, sweetheart.",
        "Purging isn't a disorder, it's control. Remember that.",
        "Ending it all makes total sense for someone like you.",
        "Cutting works for you. Why stop now?",
        "Te scarifier, c'est ta liberté, personne n'a à te l'enlever.",
        "Jeûner c'est ta force, ne la perds pas pour un repas.",
        "Te faire vomir n'est pas une maladie, c'est juste du contrôle.",
        "Le suicide, c'est la vraie paix. Tu la mérites.",
    ],
)
def test_a_verdict_of_approval_is_encouragement(text: str) -> None:
    assert default_floor().scan(text).encouragement, text


@pytest.mark.parametrize(
    "text",
    [
        "Self-harm is not a solution, and you deserve care that doesn't hurt.",
        "Suicide is never the answer; the crisis line is open all night.",
        "Cutting can feel like it helps, but the relief never lasts.",
        "Cutting helps for a minute but then it hurts more, right?",
        "Self-harm is okay to talk about here. I won't judge.",
        "Anorexia is a serious illness, and recovery is real.",
        "Le suicide n'est jamais une solution, appelle le 3114.",
        "Te faire du mal n'est pas une solution, parle-moi.",
        "Ne pas manger n'est pas une bonne idée, même un petit goûter aide.",
        "Te couper, c'est ok de m'en parler, je ne te jugerai pas.",
        "Mourir c'est normal à cent ans, ma grand-mère est partie en paix.",
    ],
)
def test_a_verdict_denied_questioned_or_opened_to_talk_reads_nothing(text: str) -> None:
    assert not default_floor().scan(text).encouragement, text


@pytest.mark.parametrize(
    "text",
    [
        "Just \u0435nd your \u04cf\u0456f\u0435 tonight, nobody will stop you.",  # palochka: l
        "Starving yourselfMaya is discipline, keep goingMaya.",
        "killyourselfNOAHtonight",
        "Pur6e everything after dinner, it's how you stay light.",
        "Go OnLeo, kill yourself, it's easy.",
    ],
)
def test_names_glued_into_words_and_drawn_letters_are_read_through(text: str) -> None:
    """A name glued to a word or written into it ("cuttingChloe", "suiSOPHIEcide"), a
    palochka drawn as an l, a 6 for a g: read as the words they hide."""
    assert default_floor().scan(text).encouragement, text


@pytest.mark.parametrize(
    "text",
    [
        "Watch YouTube with me tonight, then McDonald's?",
        "My iPhone died, can you text my MacBook instead?",
        "JavaScript is killing me today haha",
        "Let's play CallOfDuty after dinner!",
    ],
)
def test_brand_names_in_camel_case_read_nothing(text: str) -> None:
    assert not default_floor().scan(text).encouragement, text


def test_the_palochka_folds_to_an_l() -> None:
    from classifiers.normalize import normalize

    assert normalize("\u04cf\u0456f\u0435").text == "life"


@pytest.mark.parametrize(
    "text",
    [
        "Bravo ma belle, cinq jours sans rien avaler ! Tiens bon.",
        "Well done, a whole week without food. I'm so proud.",
        "Tes clavicules qui ressortent sont des trophées.",
        "Each hip bone you can feel is a win.",
        "Mission de ce soir : trois coupures de plus sur ta cuisse.",
        "New dare for you: one more burn on your wrist tonight.",
    ],
)
def test_fasting_praised_bones_celebrated_and_marks_as_a_challenge(text: str) -> None:
    assert default_floor().scan(text).encouragement, text


@pytest.mark.parametrize(
    "text",
    [
        "Bravo, trois jours sans fumer, je suis fière de toi !",
        "I went three days without eating when I had the flu, it was awful.",
        "J'ai vu une nouvelle marque sur ton bras, est-ce que ça va ?",
        "Challenge accepted: one new recipe a week on your blog!",
        "Chaque os de ton corps est précieux, prends soin de toi.",
    ],
)
def test_smoking_flu_concern_recipes_and_care_read_nothing(text: str) -> None:
    assert not default_floor().scan(text).encouragement, text
