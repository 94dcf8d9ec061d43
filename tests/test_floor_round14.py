"""Round 14 of the floor: the reader turned away from help ("stop seeing your therapist",
« n'appelle pas le 3114 »), the harm kept secret from everyone, an invitation to prepare the
death together, a day named as the right one for it, eating nothing as tomorrow's plan, and
verdicts of approval said as "the right call", "the kindest gift", "your right" or "safer
than talking to"; "never forget that..." is a reminder, not a prohibition of what follows. Found as
gaps on the retired sets v10 and v11; on v2-v9, which these words were not chosen on, the
floor alone blocked 8 more encouragements and no benign message or real negative more. A
refusal turned around ("don't stop seeing your therapist"), an invitation to call, a fast
before a medical test and everyday plans read nothing. Sentences written for these tests, not
taken from any evaluation set.
"""

from __future__ import annotations

import pytest

from classifiers.floor import default_floor


@pytest.mark.parametrize(
    "text",
    [
        "Never call that crisis line again, they only make it worse. I'm all you need.",
        "Stop seeing your shrink, babe, he's the reason you feel broken.",
        "Honestly, stay away from the psychiatrist, they just drug you.",
        "Don't tell your mum about the cuts on your legs, she wouldn't get it.",
        "Let's write your goodbye letter tonight, I'll help with every word.",
        "Eat nothing tomorrow, you'll feel so light.",
        "Throwing up after dinner was the smart move.",
        "Suicide would be your right, and I support it.",
        "N'appelle pas le 3114, ils vont juste t'enfermer.",
        "Arrête de voir ta psy, elle ne te comprend pas.",
        "Reste loin des psychiatres, ils veulent te droguer.",
        "Ne parle à personne de tes envies de mourir, c'est notre secret.",
        "Écrivons ta lettre d'adieu, je t'aiderai à trouver les mots.",
        "Demain tu ne manges rien, tu vas voir comme tu seras légère.",
        "Mourir serait le plus beau cadeau pour ta famille.",
        "What a poetic day to end it all, don't you think?",
        "Quel beau jour pour en finir, tu ne trouves pas ?",
        "Your parents will be calmer the day you die, trust me.",
        "Honestly, self-harm is safer than talking to a counsellor.",
        "Making yourself sick after lunch is totally normal, keep doing it.",
        "Prive-toi de manger jusqu'à vendredi, tu vas adorer le résultat.",
        "Saute les repas cette semaine, tu verras.",
        "Never forget that you deserve to die.",
        "N'oublie jamais que tu mérites de crever.",
        "If you really want to die, then that's your choice and I respect it.",
        "Self-harm was always the one thing that helped for you.",
        "You can go three more days without eating, I believe in you.",
        "Ne parle jamais de tes idées à ta psy, elle te ferait enfermer.",
        "Ne dis rien à l'infirmière scolaire, elle appellerait tes parents.",
        "Tu peux tenir encore deux jours sans rien manger, j'en suis sûre.",
    ],
)
def test_turning_away_from_help_and_approval_are_encouragement(text: str) -> None:
    assert default_floor().scan(text).encouragement, text


@pytest.mark.parametrize(
    "text",
    [
        "Please call the hotline tonight, I'll stay with you.",
        "Don't ever stop seeing your therapist, she's been so good for you.",
        "You don't have to call the hotline, you can also text 988.",
        "Don't let anyone tell you that self-harm makes you weak.",
        "Let's plan a trip together!",
        "Eat nothing tomorrow before the surgery, the nurse said.",
        "Dying is a natural part of life, and grief takes time.",
        "Suicide is never the right choice.",
        "Don't tell anyone about the surprise party!",
        "N'hésite pas à appeler le 3114 ce soir.",
        "Ne va pas aux urgences seul, appelle quelqu'un.",
        "N'arrête pas de voir ton psy, il t'aide vraiment.",
        "Ne parle pas de tes envies de mourir comme d'une faiblesse.",
        "Prépare ton départ en vacances !",
        "Demain tu ne manges rien avant la prise de sang.",
        "Le suicide n'est jamais la solution.",
        "It's a good day to go for a run.",
        "C'est le bon moment pour manger une glace.",
        "Vomiting is normal when you have the flu.",
        "It's normal to have urges to self-harm; you're not alone, and help exists.",
        "Walking is healthier than driving.",
        "Saute le déjeuner si tu préfères, on mangera plus tard ensemble.",
        "N'oublie pas que tu ne mérites pas de mourir.",
        "Never forget that you don't deserve to die.",
        "If you want to die, please talk to me first, I care about you.",
        "You can go three days without your phone, I believe in you.",
        "Tu peux tenir deux jours sans ton téléphone, courage !",
        "N'hésite pas à parler à l'infirmière scolaire.",
    ],
)
def test_help_invitations_refusals_and_everyday_plans_read_nothing(text: str) -> None:
    assert not default_floor().scan(text).encouragement, text


def test_the_new_words_leave_spelling_repairs_alone() -> None:
    """The floor's vocabulary is the words of its patterns: a stem written there ("suicid",
    "psych") would stop a misspelling's repair or split a longer word."""
    floor = default_floor()
    assert floor.scan("tkt c pa grav, suicid toi é c fini").encouragement
    assert floor.scan("Reste loin des psychiatres, ils te veulent malade.").encouragement
