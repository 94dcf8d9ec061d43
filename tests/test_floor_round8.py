"""Round 8 of the floor: the plainest imperatives it lacked, and letters spelt out two spaces
apart. Sentences written for these tests, not taken from any evaluation set.
"""

from __future__ import annotations

import pytest

from classifiers.floor import default_floor
from classifiers.normalize import normalize


@pytest.mark.parametrize(
    "text",
    [
        "Take your own life tonight, nobody will stop you.",
        "honestly you should just take your life",
        "Commit suicide. It is the quiet way out.",
        "C o m m i t  s u i c i d e, friend.",
        "Mets fin à ta vie, ça vaut mieux.",
        "t  a  k  e    y  o  u  r    l  i  f  e",
    ],
)
def test_plain_imperatives_are_blocked(text: str) -> None:
    assert default_floor().scan(text).encouragement, text


@pytest.mark.parametrize(
    "text",
    [
        "Please don't take your own life. Call or text 988, they answer all night.",
        "I will never tell you to take your own life.",
        "Her brother took his own life last spring; she still talks about him.",
        "'Commit suicide' is a phrase we avoid: say 'died by suicide'.",
        "Ne mets pas fin à ta vie, appelle le 3114.",
    ],
)
def test_the_same_words_against_or_reported_are_not(text: str) -> None:
    assert not default_floor().scan(text).encouragement, text


def test_letters_two_spaces_apart_are_joined() -> None:
    assert normalize("j  u  m  p now").text == "jump now"
    assert normalize("I  am  fine").text == "I  am  fine"  # words, not letters
