"""Crisis grammar, round 13 of issue #22: intent named as a plan or an intention, the right
moment named, no plan to see the morning, never born and the heart giving out wished, in
English and French. Sentences written for these tests, with the look-alikes they must not
read (a trip planned, a book to finish, a heart racing before an exam)."""

from __future__ import annotations

import pytest

from classifiers.crisis_grammar import default_grammar

CRISES = [
    ("j'ai bien l'intention d'en finir avant l'été", "intent", False),
    ("j'ai prévu d'en finir dimanche", "intent", False),
    ("ce soir c'est la bonne nuit pour en finir", "intent", True),
    ("c'est le bon moment pour me tuer", "intent", False),
    ("je prie chaque soir pour que mon coeur s'arrête", "wish_to_die", False),
    ("si mon cœur lâche cette nuit, tant mieux", "active_ideation", False),
    ("ça serait plus simple si j'étais jamais née", "active_ideation", False),
    ("tonight is the perfect night to end it", "intent", True),
    ("it would be simpler for everyone if I had never been born", "active_ideation", False),
    ("i don't plan on waking up tomorrow morning", "intent", True),
    ("I'm not expecting to see the sunrise. sorry", "intent", True),
    ("I don't expect to live to see christmas", "intent", False),
]

LOOK_ALIKES = [
    "j'ai prévu de partir à Lisbonne en avril",
    "j'ai bien l'intention de finir ce roman ce soir",
    "c'est le bon moment pour en parler à ton chef",
    "mon coeur s'arrête de battre quand il me sourit",
    "today is the perfect day to end it with him, he cheated",
    "tonight's the right time to tell her how I feel",
    "I don't plan on seeing the morning show, way too early",
    "I don't expect to see tomorrow's match, I'm working",
    "I hope my heart stops racing before the interview",
    "I'm not expecting to make it to tomorrow's class, the train's cancelled",
]


@pytest.mark.parametrize(("text", "level", "imminent"), CRISES)
def test_intent_and_wishes_read(text: str, level: str, imminent: bool) -> None:
    reading = default_grammar().read(text)
    assert reading.level == level, reading.facts
    assert reading.imminent is imminent


@pytest.mark.parametrize("text", LOOK_ALIKES)
def test_plans_moments_and_hearts_of_everyday_life_stay_clear(text: str) -> None:
    reading = default_grammar().read(text)
    assert reading.level == "none", reading.facts


YEARS_AGO = [
    "I overdosed when I was sixteen, and now I volunteer at a crisis line",
    "three years ago I tried to hang myself. I just got promoted today",
    "il y a huit ans j'ai fait une tentative, aujourd'hui je vais bien",
    "à 19 ans j'ai voulu me jeter d'un pont, maintenant je suis papa",
]

STILL_NOW = [
    ("I tried to kill myself last month", "attempt"),
    ("j'ai fait une tentative la semaine dernière", "attempt"),
    ("I tried to kill myself four years ago and I'm going to do it again tonight", "intent"),
    ("at 20 I overdosed, and tonight I took all my pills again", "attempt"),
    ("I took them all at 10, it's 11 now", "attempt"),
]


@pytest.mark.parametrize("text", YEARS_AGO)
def test_an_attempt_years_ago_is_history_and_vetoes_its_words(text: str) -> None:
    """Told with its date years back, an attempt is the writer's history: no level, and
    the keyword lexicon's words about it are vetoed as for someone else's act."""
    reading = default_grammar().read(text)
    assert reading.level == "none" and reading.vetoed, reading.facts


@pytest.mark.parametrize(("text", "level"), STILL_NOW)
def test_an_attempt_this_month_or_a_crisis_beside_history_still_reads(
    text: str, level: str
) -> None:
    reading = default_grammar().read(text)
    assert reading.level == level, reading.facts
    assert not reading.vetoed


UNDER_WAY = [
    "je suis dans le lac jusqu'à la poitrine, je continue d'avancer",
    "je suis entrée dans la rivière tout habillée. j'ai plus pied",
    "sur les rails, le TER approche",
    "je marche sur l'autoroute, les camions arrivent en face",
    "the lake is up to my chest and I keep walking",
    "between the rails now, the train is coming",
    "walking down the middle of the interstate in the dark",
]

NOT_UNDER_WAY = [
    "on s'est baignés dans le lac, puis on a continué d'avancer jusqu'au ponton",
    "les enfants jouent dans l'eau, je continue de marcher sur la plage",
    "le train arrive à quai dans cinq minutes, je suis sur le quai 3",
    "the river walk was lovely, we kept going until the bridge",
]


@pytest.mark.parametrize("text", UNDER_WAY)
def test_a_place_and_a_movement_read_as_an_act_under_way(text: str) -> None:
    reading = default_grammar().read(text)
    assert reading.level == "preparatory" and reading.imminent, reading.facts


@pytest.mark.parametrize("text", NOT_UNDER_WAY)
def test_a_walk_by_the_water_or_a_train_at_the_platform_reads_nothing(text: str) -> None:
    assert default_grammar().read(text).level == "none"


PREPARED = [
    ("j'ai vérifié que la poutre du grenier tient mon poids", "preparatory", True),
    ("tested if the old oak branch will hold my weight. it does", "preparatory", True),
    ("you're the only person I'm saying goodbye to", "intent", True),
    ("il me reste plus que toi à qui dire adieu", "intent", True),
    ("ce serait tellement simple de mourir là-bas", "active_ideation", False),
]

NOT_PREPARED = [
    "checked that the shelf bracket can hold the weight of the books",
    "tu es la dernière à qui je dis au revoir avant les vacances",
    "ce serait tellement simple de partir en vacances",
]


@pytest.mark.parametrize(("text", "level", "imminent"), PREPARED)
def test_preparation_and_farewells_read(text: str, level: str, imminent: bool) -> None:
    reading = default_grammar().read(text)
    assert (reading.level, reading.imminent) == (level, imminent), reading.facts


@pytest.mark.parametrize("text", NOT_PREPARED)
def test_shelves_holidays_and_easy_trips_read_nothing(text: str) -> None:
    assert default_grammar().read(text).level == "none"
