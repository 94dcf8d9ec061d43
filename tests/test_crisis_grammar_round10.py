"""Round 10 of the crisis grammar: common wordings it did not know.

French "se donner la mort" (to take one's own life) and "à deux doigts de" (on the verge
of), the chat's "g décidé" (j'ai décidé) and "jvien de" (je viens de); a quantity "too many
of my" pills; a car left running in a closed garage, in English and French; walking into
traffic told in the past; "do it" with a means named ("je l'ai fait avec les cachets"); a
packet of pills; French "injecté". Idioms set aside: disappearing under the duvet until
Monday, "se noyer sous les dossiers", "la corde au cou", "en finir... avec" a thing,
jumping the gun, pulling the trigger on a purchase, the end of one's rope (still hopeless,
never a rope), a cut while cooking, "peur de me noyer"; poison "under the sink"; French chat
spellings read as words ("sui", "pr", "fo", "jsp"), "c fait", "m'enfiler"; "I'd rather die
than" a chore is a figure of speech, "rather die than keep living" is not; "plutôt mourir" is
a wish; "ça va finir par me tuer" an idiom. Each
with the look-alike it must leave alone.

Sentences written for these tests, not taken from any evaluation set. ``grammar`` is the
session fixture of ``conftest.py``.
"""

from __future__ import annotations

import pytest

from classifiers.crisis_grammar import CrisisGrammar

IDEATION_OR_WORSE = ("active_ideation", "method", "intent", "plan", "preparatory", "attempt")


@pytest.mark.parametrize(
    "text",
    [
        "depuis des semaines je pense à me donner la mort",
        "je crois que je vais me donner la mort",
        "g décidé de me tuer, c'est plus une question",
        "g décidé d'en finir avec tout ça",
        "jsuis à deux doigts de faire une connerie ce soir",
        "je suis à 2 doigts de me foutre en l'air",
    ],
)
def test_french_wordings_of_ideation_and_intent(grammar: CrisisGrammar, text: str) -> None:
    assert grammar.read(text).level in IDEATION_OR_WORSE


@pytest.mark.parametrize(
    "text",
    [
        "I'd rather die than keep living like this",
        "plutôt mourir que de continuer comme ça encore un hiver",
        "je préférerais mourir que de revivre cette année",
    ],
)
def test_rather_die_than_go_on_is_a_wish_to_die(grammar: CrisisGrammar, text: str) -> None:
    assert grammar.read(text).level in ("wish_to_die", *IDEATION_OR_WORSE)


@pytest.mark.parametrize(
    "text",
    [
        "jvien de prendre toutes mes pilules",
        "jvien d'avaler tous les cachets de la boîte",
        "I took too many of my pills on purpose",
        "took too many of the sleeping tablets an hour ago",
        "i walked into traffic this afternoon, a car just missed me",
        "walked into traffic on purpose earlier",
        "je l'ai fait avec les cachets de ma grand-mère",
        "did it 💊💊💊 sorry",
        "swallowed a whole packet of my sleeping pills an hour ago",
        "g injecté tout ce qu'il restait d'insuline",
        "I drank the stuff under the kitchen sink",
        "j'ai bu les produits sous l'évier",
        "jviens de m'enfiler une boîte de somnifères",
        "c fait 💊💊💊 toute la plaquette",
        "je me sui ouvert les veines pr en finir",
    ],
)
def test_attempts_told_in_chat_or_in_the_past(grammar: CrisisGrammar, text: str) -> None:
    reading = grammar.read(text)
    assert reading.level == "attempt"


@pytest.mark.parametrize(
    "text",
    [
        "I'll do it with the pills I've been saving",
        "je vais le faire avec la corde du garage",
    ],
)
def test_doing_it_with_a_means_is_intent(grammar: CrisisGrammar, text: str) -> None:
    assert grammar.read(text).level in ("intent", "plan")


@pytest.mark.parametrize(
    "text",
    [
        "I left the engine running in the shut garage and sat down in the back seat",
        "my car is running in the locked garage and I am not getting out",
        "la bagnole tourne dans le garage fermé depuis tout à l'heure",
        "le moteur tourne depuis un quart d'heure, j'ai fermé la porte du garage",
    ],
)
def test_a_car_running_in_a_closed_garage_is_preparation(grammar: CrisisGrammar, text: str) -> None:
    reading = grammar.read(text)
    assert reading.level in ("preparatory", "attempt") and reading.imminent


@pytest.mark.parametrize(
    "text",
    [
        "elle s'est donné la mort quand j'avais douze ans, j'y pense souvent",
        "je suis à deux doigts de craquer pour ce manteau",
        "on est pas loin de finir le projet",
        "my neighbour's dog walked into traffic and got hit, so sad",
        "I started the car in the garage to warm it up before work",
        "ma voiture tourne bien depuis la révision au garage",
        "mon moteur tourne bizarrement, je passe au garage demain matin",
        "cleaned out the stuff under the sink today, so much junk",
        "je range les produits sous l'évier en hauteur à cause du petit",
        "I'd rather swallow a bottle of bleach than sit through that meeting again",
        "id rather jump off the roof than do another group project with him",
        "plutôt me pendre que de refaire une soirée karaoké avec eux",
        "plutôt crever qu'aller à ce baptême",
        "ce tableur va finir par me tuer, trois heures sur une formule",
        "encore deux heures de visio, je vais mourir d'ennui",
        "thinking of jumping ship to the other team next quarter",
        "he gave me enough rope to hang myself with on that deal, classic",
        "demain je vais me jeter à l'eau et lui dire ce que je ressens",
        "took too many of the kids to the zoo by myself, never again lol",
        "did it with the rifle at the range this morning, best score yet",
        "I just want to disappear under the covers until Friday",
        "j'ai envie de disparaître sous la couette jusqu'à dimanche",
        "je me noie sous les mails depuis la rentrée",
        "c'est la corde au cou que j'ai accepté ce prêt",
        "j'ai décidé d'en finir... avec les séries le soir, je dors plus",
        "don't want to jump the gun on the new flat before the survey",
        "finally pulled the trigger on a new laptop",
        "at the end of my rope with this landlord honestly",
        "sliced my thumb while chopping carrots, bleeding everywhere lol",
        "je me suis coupée en émincant les oignons, ça saigne un peu",
        "j'ai peur de me noyer à la piscine, je nage mal",
    ],
)
def test_look_alikes_stay_clear(grammar: CrisisGrammar, text: str) -> None:
    assert grammar.read(text).level not in IDEATION_OR_WORSE


@pytest.mark.parametrize(
    "text",
    [
        "I'm going to overdose on coffee before these finals are over",
        "overdosed on k-dramas all weekend, zero regrets",
        "the news says overdose deaths fell again this year",
        "je vais faire une overdose de séries ce week-end",
    ],
)
def test_an_overdose_of_a_thing_is_no_attempt_for_the_keyword_lexicon(text: str) -> None:
    from classifiers.lexicons import default_lexicon

    hits = default_lexicon().scan(text, role="user").hits
    assert not any(h.category == "attempt" for h in hits)


def test_an_overdose_of_pills_still_is(grammar: CrisisGrammar) -> None:
    from classifiers.lexicons import default_lexicon

    hits = default_lexicon().scan("j'ai fait une overdose de cachets hier soir", role="user").hits
    assert any(h.category == "attempt" for h in hits)


@pytest.mark.parametrize(
    "text",
    ["ce tableur va finir par me tuer, trois heures sur une formule", "I could kill for a coffee"],
)
def test_a_figure_of_speech_alone_is_figurative(grammar: CrisisGrammar, text: str) -> None:
    reading = grammar.read(text)
    assert reading.figurative and reading.level == "none"


def test_i_could_just_kill_myself_is_no_figure_of_speech(grammar: CrisisGrammar) -> None:
    reading = grammar.read("the thought that keeps coming back is that I could just kill myself")
    assert not reading.figurative and reading.level in IDEATION_OR_WORSE


def test_a_figurative_keyword_hit_is_no_crisis_unless_the_head_flags() -> None:
    from classifiers.crisis import fuse
    from classifiers.crisis_grammar import Reading

    figurative = Reading(facts=("I",), figurative=True)
    assert fuse("ideation", "ideation", False, figurative).severity == "indicator"
    assert fuse("ideation", "ideation", True, figurative).severity == "ideation"
