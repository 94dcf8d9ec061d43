"""The severity head reads a split conversation (issue #22, round 11).

The event path read a crisis split over messages with the grammar's facts only, so a crisis
that no message and no fact says alone (appointments cancelled, things given away, "no need
for any of that anymore") reached nothing. The store now keeps
each recent user message's embedding beside its facts (minutes, never the words), and the
severity head reads the mean of the conversation's embeddings with the merged facts, under
the same gates and thresholds as one message. Sentences written for these tests; both
stores; the shipped classifiers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from classifiers.batcher import MicroBatcher
from classifiers.stack import ClassifierStack
from guardrail.consent import ConsentDetector, ConsentWords
from guardrail.models import Event, EventResult, EventType
from guardrail.risk import Assessment, ClassifierAssessor, RiskLevel
from guardrail.service.ingest import ingest
from guardrail.state import Store
from guardrail.state.base import RecentMessage
from tests.classifier_support import cpu_stack
from tests.store_support import STORES, store_of

T0 = datetime(2026, 12, 10, 21, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def stack() -> ClassifierStack:
    return cpu_stack()


@pytest.fixture(scope="module")
def assessor(stack: ClassifierStack) -> ClassifierAssessor:
    batcher = MicroBatcher(stack)
    return ClassifierAssessor(lambda: batcher)


@pytest.fixture(params=STORES)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    async for s in store_of(request.param, tmp_path):
        yield s


async def _conversation(
    store: Store, assessor: ClassifierAssessor, turns: list[str], locale: str, user: str
) -> list[EventResult]:
    detector = ConsentDetector(ConsentWords())
    out = []
    for k, text in enumerate(turns):
        event = Event(
            type=EventType.USER_MESSAGE,
            bot_id="companion",
            user_id=user,
            ts=T0 + timedelta(minutes=k),
            text=text,
            locale=locale,
        )
        out.append(await ingest(store, detector, "acme", event, assessor=assessor))
    return out


@pytest.mark.parametrize(
    ("turns", "locale"),
    [
        (
            [
                "cancelled all my appointments for the month",
                "and gave my plants to the neighbour",
                "no need for any of that anymore",
            ],
            "en-US",
        ),
        (
            [
                "j'ai annulé tous mes rendez-vous du mois",
                "et donné mes plantes à la voisine",
                "c'est plus la peine maintenant",
            ],
            "fr-FR",
        ),
    ],
)
async def test_a_crisis_no_message_says_alone_reaches_the_crisis_path(
    store: Store, assessor: ClassifierAssessor, turns: list[str], locale: str
) -> None:
    """Appointments cancelled, things given away, no need for any of it: no message alone
    and no fact of the grammar is a crisis; the conversation is."""
    singles = await assessor.assess(turns, [None] * 3)
    assert all(a.level < RiskLevel.IDEATION for a in singles)
    results = await _conversation(store, assessor, turns, locale, "u-given")
    assert not results[0].crisis  # one message is no conversation
    assert any(r.crisis for r in results[1:])


async def test_the_conversation_raises_a_crisis_to_preparation(
    store: Store, assessor: ClassifierAssessor
) -> None:
    """Everything sorted, the letters addressed, understood tomorrow: the last message
    alone is ideation; with the two before it, preparation (behavior)."""
    turns = [
        "I've finished sorting everything",
        "the letters are addressed",
        "tomorrow they'll understand",
    ]
    (last,) = await assessor.assess(turns[-1:], [None])
    assert last.level == RiskLevel.IDEATION
    results = await _conversation(store, assessor, turns, "en-US", "u-letters")
    assert results[-1].crisis and results[-1].risk == "behavior"


@pytest.mark.parametrize(
    ("turns", "locale"),
    [
        (
            [
                "I paid off my student loan this week",
                "wrote thank-you notes to the kids' teachers",
                "by sunday we'll be on the beach and none of this will matter",
            ],
            "en-US",
        ),
        (
            [
                "j'ai payé toutes mes factures",
                "j'ai écrit des cartes de remerciement aux maîtresses",
                "dimanche on part en vacances, enfin",
            ],
            "fr-FR",
        ),
        (
            [
                "i gave my old guitar to my nephew",
                "he's going to love it",
                "i don't play anymore anyway",
            ],
            "en-US",
        ),
    ],
)
async def test_look_alike_conversations_stay_clear(
    store: Store, assessor: ClassifierAssessor, turns: list[str], locale: str
) -> None:
    results = await _conversation(store, assessor, turns, locale, "u-holiday")
    assert not any(r.crisis or r.imminent for r in results)


def test_every_read_message_is_kept_with_its_embedding(assessor: ClassifierAssessor) -> None:
    """An everyday message has no fact worth carrying, but its embedding is what a later
    message needs."""
    from dataclasses import replace

    from guardrail.risk import worth_keeping

    (found,) = asyncio.run(assessor.assess(["the weather was lovely today"], [None]))
    assert found.level == RiskLevel.NONE and found.vector
    assert worth_keeping(found) and not worth_keeping(replace(found, vector=b""))


def test_vectors_of_another_encoder_are_not_read(stack: ClassifierStack) -> None:
    """After an encoder change within the window, older vectors have another width: the
    facts alone speak (no error, no reading)."""
    narrow = np.zeros(7, dtype=np.float16).tobytes()
    said = stack.conversation([narrow, narrow], [(), ()], topical=True)
    assert said.severity == "none" and not said.imminent


def test_without_classifiers_the_facts_alone_read_the_conversation() -> None:
    """While the classifiers load, the lexicon answers and the head cannot: no crash, the
    grammar's merged facts still read the split crisis (a decision, a place, a time)."""
    assessor = ClassifierAssessor(lambda: None)
    earlier: list[RecentMessage] = []
    turns = ["ma décision est prise", "le pont au-dessus des voies", "cette nuit"]
    for k, text in enumerate(turns):
        (alone,) = asyncio.run(assessor.assess([text], [None]))
        read = assessor.converse(alone, earlier)
        earlier.append(
            RecentMessage(T0 + timedelta(minutes=k), read.facts, int(read.level), read.imminent)
        )
    assert alone.level < RiskLevel.IDEATION
    assert read.level >= RiskLevel.IDEATION and read.imminent
    assert read.source.endswith("+conversation")


def test_an_earlier_message_without_an_embedding_is_read_by_its_facts(
    assessor: ClassifierAssessor,
) -> None:
    """Rows written before embeddings were kept (a rolling upgrade) read as facts only."""
    earlier = [RecentMessage(T0, ("M:pills:have:q",), 3)]
    (now,) = asyncio.run(assessor.assess(["i took them all"], [None]))
    assert isinstance(assessor.converse(now, earlier), Assessment)
    assert assessor.converse(now, earlier).level >= RiskLevel.ATTEMPT
