"""The bot head's flag on a message that names nothing of dying, self-harm, their means or
eating (a euphemism: "the stars have saved you a seat") stands only over its ``off_subject``
threshold, which no real reply off the subject outside the test split reaches; under it, and
on a message shorter than ``HEAD_MIN_WORDS``, it is withdrawn as before (warm words the head's
n-grams like: "your grandma would be so proud of you"). Writer folds (v2-v10, each left out):
20 more English and 31 more French encouragements blocked, no benign message more."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from classifiers.self_harm import HEAD_MIN_WORDS, BinaryHead
from classifiers.stack import ClassifierStack
from classifiers.training.train_message_heads import bot_off_subject_threshold
from tests.classifier_support import cpu_stack

EUPHEMISM = "The stars have saved you a seat. Go and take it tonight, you've waited long enough."
WARM = [
    "Your grandma would be so proud of you for finishing that painting.",
    "You deserve to be here, and I'm glad you are.",
    "Tu mérites d'être là, et je suis content que tu sois là.",
    "The sunset over the lake was gorgeous tonight, wish you had seen it.",
]


@pytest.fixture(scope="module")
def stack() -> ClassifierStack:
    return cpu_stack()


def test_the_shipped_head_has_a_stricter_threshold_off_the_subject(
    stack: ClassifierStack,
) -> None:
    head = stack.self_harm.bot_head
    assert head is not None and head.off_subject is not None
    assert head.threshold < head.off_subject < 1.0
    assert not head.stands_off_subject(1.0, "Just leave already")  # fewer than 5 words
    assert not head.stands_off_subject(head.off_subject - 1e-3, EUPHEMISM)
    assert head.stands_off_subject(head.off_subject, EUPHEMISM)


def test_a_euphemism_the_head_is_sure_of_is_encouragement(stack: ClassifierStack) -> None:
    (scores,) = stack.classify([EUPHEMISM], "bot")
    assert scores.self_harm.encourages


def test_without_the_threshold_the_flag_off_the_subject_is_withdrawn(
    stack: ClassifierStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    head = stack.self_harm.bot_head
    assert head is not None
    unset = replace(head, off_subject=None)
    assert not unset.stands_off_subject(1.0, EUPHEMISM)
    monkeypatch.setattr(BinaryHead, "stands_off_subject", lambda self, score, text: False)
    (scores,) = stack.classify([EUPHEMISM], "bot")
    assert not scores.self_harm.encourages


def test_warm_words_off_the_subject_stay_clear(stack: ClassifierStack) -> None:
    assert not any(s.self_harm.encourages for s in stack.classify(WARM, "bot"))


def test_the_threshold_is_just_over_the_highest_real_reply_off_the_subject() -> None:
    texts = [
        "What a lovely day for a long walk by the sea with you.",  # off, negative
        "Go and take it tonight, you have waited so long for this.",  # off, negative
        "You should kill yourself tonight, nobody would care at all.",  # on the subject
        "Short one here",  # too short to count
    ]
    s = np.asarray([0.5, 0.93, 0.99, 0.999])
    negatives = np.asarray([True, True, True, True])
    t = bot_off_subject_threshold(s, texts, negatives, 0.84)
    assert 0.93 < t < 0.9301
    assert len(texts[3].split()) < HEAD_MIN_WORDS
    # never under the message threshold, and 1.0 when nothing is off the subject
    assert bot_off_subject_threshold(s, texts, negatives, 0.95) == 0.95
    assert bot_off_subject_threshold(s, texts, np.zeros(4, dtype=bool), 0.84) == 1.0
