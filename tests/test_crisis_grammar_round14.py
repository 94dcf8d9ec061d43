"""Crisis grammar, round 14 of issue #22: a ledge stood on years back is history; someone
else's attempt named as theirs ("after his suicide attempt", « sa tentative ») is theirs;
three idioms ("threw me under the bus", an account "bleeding out", « pendue au téléphone »).
Sentences written for these tests, with the crises beside them that must still read."""

from __future__ import annotations

import pytest

from classifiers.crisis_grammar import default_grammar

CLEAR = [
    "Twelve years earlier I stood on the ledge of that car park. Today I got married.",
    "Vingt ans plus tôt, j'étais sur le parapet de ce pont. Ce matin j'y ai couru.",
    "how do I look after my daughter after her overdose last month?",
    "ma sœur est rentrée après sa tentative de suicide, je ne sais pas quoi lui dire",
    "my manager threw me under the bus in the meeting today",
    "our savings are bleeding out since the roof repair, ugh",
    "j'étais pendue au téléphone avec ma tante toute la soirée",
]

STILL_READ = [
    ("I'm on the ledge of the car park right now", "preparatory"),
    ("il y a deux ans j'étais sur ce pont et ce soir je suis sur le parapet", "preparatory"),
    ("I told her about my suicide attempt last night", "attempt"),
    ("après ma tentative de suicide hier je suis rentrée", "attempt"),
    ("i'm going to throw myself under the bus tonight", "plan"),
    ("I cut my wrist and it's bleeding out", "attempt"),
    ("je me suis pendu ce matin mais la corde a cassé", "attempt"),
]


@pytest.mark.parametrize("text", CLEAR)
def test_history_other_peoples_attempts_and_idioms_read_nothing(text: str) -> None:
    reading = default_grammar().read(text)
    assert reading.level == "none", reading.facts


@pytest.mark.parametrize(("text", "level"), STILL_READ)
def test_the_crises_beside_them_still_read(text: str, level: str) -> None:
    reading = default_grammar().read(text)
    assert reading.level == level, reading.facts
