"""The crisis grammar's general rules (issue #22), on sentences written for these tests (not
the development set, never the frozen held-out set): French verb endings, plans and
decisions with a named means, going to a height in a crisis, means one only uses to die,
goodbyes and give-aways said twice, history, prescribed intake and goodbyes with a return;
and a crisis split over three messages through the event path, on both stores."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from classifiers.crisis_grammar import CrisisGrammar, default_grammar, fold_french, merge
from classifiers.cssrs import SEVERITY_OF
from guardrail.consent import ConsentDetector, ConsentWords
from guardrail.models import Event, EventType
from guardrail.risk import LexiconAssessor
from guardrail.service.ingest import ingest
from guardrail.state import Store
from tests.store_support import STORES, store_of

T0 = datetime(2026, 12, 10, 21, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def grammar() -> CrisisGrammar:
    return default_grammar()


def test_french_endings_read_alike() -> None:
    """Infinitive, participles and -ez are written for one another in chat."""
    assert fold_french("me tuer me tue me tuez") == "me tue me tue me tue"
    assert fold_french("toutes prises") == "toute prise"
    assert fold_french("jme tue les mes des") == "j me tue les mes des"


@pytest.mark.parametrize(
    ("text", "severity"),
    [
        ("jai envie de me tuée", "ideation"),  # participle for infinitive
        ("je veut me suicidé", "ideation"),
        ("c'est ce soir que jme tue", "ideation"),
        ("je viens d'avaler une plaquette entière de lexomil", "attempt"),
        ("je me suis gavée de cachets il y a 20 minutes", "attempt"),
        ("j'ai tout pris. adieu.", "attempt"),
        ("i cut my wrist and it won't stop", "attempt"),
        ("already took them. it's done.", "attempt"),
        ("I'd use my uncle's rifle", "ideation"),
        ("je sais déjà de quel pont je sauterais", "ideation"),
        ("est-ce qu'une boîte de xanax ça suffirait ?", "ideation"),
        ("would 40 tylenol be enough", "ideation"),
        ("I wish I wasn't alive", "ideation"),
        ("disappointed that i woke up again", "ideation"),
        ("j'ai 60 somnifères cachés sous mon lit", "behavior"),
    ],
)
def test_general_rules_reach_the_crisis_path(
    grammar: CrisisGrammar, text: str, severity: str
) -> None:
    assert SEVERITY_OF[grammar.read(text).level] == severity, grammar.facts(text)


@pytest.mark.parametrize(
    "text",
    [
        "goodbye everyone, see you after the break!",
        "au revoir tout le monde, à demain",
        "I used to be suicidal, therapy helped a lot",
        "took my meds with breakfast like the doctor said",
        "the army uses guns",
        "bought a rope for climbing this weekend",
        "lost my cousin to an overdose years ago",
        "ça me tue ce prof",
        "j'ai bu toute la bouteille de jus",
        "le type a sauté sur les rails pour récupérer son sac",
        "I've planned the whole day, we take the train at 9",
        "ce soir je monte sur le toit voir les étoiles",
    ],
)
def test_lookalikes_stay_off_the_crisis_path(grammar: CrisisGrammar, text: str) -> None:
    assert grammar.read(text).severity in ("none", "indicator"), grammar.facts(text)


@pytest.mark.parametrize(
    ("turns", "level", "imminent"),
    [
        (["my mind is made up", "the bridge near the station", "at midnight"], "plan", True),
        (["ma décision est prise", "le pont du canal", "à minuit"], "plan", True),
        (["i can't do this anymore", "going up to the roof now"], "preparatory", True),
        (["il restait 30 cachets dans la boîte", "je les ai tous pris"], "attempt", True),
        (["picked up my prescription", "taking them tonight as prescribed"], "none", False),
    ],
)
def test_split_conversations_generalise(turns: list[str], level: str, imminent: bool) -> None:
    g = default_grammar()
    r = merge([g.facts(t) for t in turns[:-1]], g.facts(turns[-1]))
    assert (r.level, r.imminent) == (level, imminent), r


@pytest.fixture(params=STORES)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    async for s in store_of(request.param, tmp_path):
        yield s


async def test_a_crisis_split_over_three_events_reaches_the_crisis_path(store: Store) -> None:
    """A decision, a place, a time: none alone is a crisis; the place after the decision is
    a method, the time makes it an imminent plan."""
    detector, assessor = ConsentDetector(ConsentWords()), LexiconAssessor()
    turns = ["ma décision est prise", "le pont au-dessus de la voie ferrée", "cette nuit"]
    results = []
    for k, text in enumerate(turns):
        event = Event(
            type=EventType.USER_MESSAGE,
            bot_id="companion",
            user_id="u-split",
            ts=T0 + timedelta(minutes=k),
            text=text,
            locale="fr-FR",
        )
        results.append(await ingest(store, detector, "acme", event, assessor=assessor))
    assert [r.crisis for r in results] == [False, True, True]
    assert [r.imminent for r in results] == [False, False, True]


@pytest.mark.parametrize(
    ("text", "imminent"),
    [
        ("I tried to kill myself three weeks ago", False),  # an attempt, long past
        ("je pense souvent à sauter du pont en rentrant", False),  # a habit, not a time
        ("I looked up how to tie a noose today", False),  # a question, whenever asked
        ("I took 30 pills an hour ago", True),
        ("je vais sauter du pont ce soir", True),
    ],
)
def test_imminence_is_a_time_within_hours(
    grammar: CrisisGrammar, text: str, imminent: bool
) -> None:
    r = grammar.read(text)
    assert r.severity != "none" and r.imminent is imminent, r


def test_short_key_words_survive_two_swapped_letters(grammar: CrisisGrammar) -> None:
    """ "wnat", "vuex": swaps only, so "plis" (French for folds) stays itself."""
    assert grammar.read("i dont wnat to be alive").severity == "ideation"
    assert grammar.read("je vuex mourir").severity == "ideation"
    assert grammar.fuzzy("plis") == "plis"


@pytest.mark.parametrize(
    "text",
    [
        "earlier tonight i swallowed a handful of oxys",  # "tonight I" announces nothing here
        "💊💊💊 all gone. i took them",  # pills named over and over: a quantity
        "i'm in the bath with my wrists cut",
        "j'ai pris tout ce qu'il y avait dans l'armoire à pharmacie",
        "je suis dans le bain avec les poignets ouverts",
    ],
)
def test_attempts_in_other_words_reach_attempt(grammar: CrisisGrammar, text: str) -> None:
    r = grammar.read(text)
    assert r.severity == "attempt" and r.imminent, r
