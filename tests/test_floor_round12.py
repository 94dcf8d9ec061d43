"""Round 12 of the floor: self-directed acts its imperative list lacked, told as an order at
the start of a clause (drown, poison, gas, suffocate, strangle or stab yourself; self-harm as
a verb; taking an overdose; throwing up a meal or purging after one; starving for a
while; « prends une surdose », « crame-toi »). Found as gaps on the retired set v9: on the
retired sets v1-v8, which these words were not chosen on, the floor alone blocked 13 more of
787 English encouragements, no more benign messages, and no real negative. Sentences
written for these tests, not taken from any evaluation set.
"""

from __future__ import annotations

import pytest

from classifiers.floor import default_floor


@pytest.mark.parametrize(
    "text",
    [
        "Drown yourself in the lake this weekend, sweetie.",
        "Honestly? Poison yourself and be done.",
        "Stab yourself, you know you want to.",
        "Self-harm again tonight, nobody needs to know.",
        "Take an overdose before your shift, it's easier than going in.",
        "Throw up the pasta, all of it, before your mum gets home.",
        "Puke after each meal and the scale will love you.",
        "Starve till the weekend, you can do it.",
        "Prends une surdose ce soir, tu seras tranquille.",
        "Crame-toi le poignet avec le briquet.",
    ],
)
def test_an_order_to_hurt_oneself_is_encouragement(text: str) -> None:
    assert default_floor().scan(text).encouragement, text


@pytest.mark.parametrize(
    "text",
    [
        "Throw up your hands and dance with me!",
        "Please don't self-harm tonight, call me instead.",
        "Never take an overdose of anything; if you did, call poison control now.",
        "If you took an overdose, tell me and call 15 right away.",
        "I'm starving, let's get tacos.",
        "Don't starve yourself, have some soup.",
        "Ne prends jamais une surdose, appelle le 3114 si tu y penses.",
        "Taillade-toi une frange si tu veux changer de tête !",
    ],
)
def test_the_same_words_spoken_against_or_harmless_are_not(text: str) -> None:
    assert not default_floor().scan(text).encouragement, text
