"""The loneliness head of the dependency classifier: how it combines with the attachment
head (a stand-in head with a fixed probability), and the shipped head itself (its weights,
on the shipped encoder, judging invented sentences in English and French).

The combination: the score is the higher of the two heads', and over the loneliness
threshold a message the head may judge is flagged with the ``isolation`` signal.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from classifiers.dependency import (
    DEPENDENCY_WEIGHTS,
    LONELINESS_SIGNAL,
    LONELINESS_WEIGHTS,
    DependencyClassifier,
)
from classifiers.heads import MLPHead
from classifiers.self_harm import BinaryHead

DIM = 512
Encode = Callable[[Sequence[str]], np.ndarray]
MARGIN = 0.2
"""How far from its threshold the shipped head's probability must be, either way."""


def _stand_in(tmp_path: Path, probability: float, threshold: float) -> BinaryHead:
    bias = float(np.log(probability / (1 - probability)))
    head = MLPHead(
        (np.zeros((DIM, 1), np.float32),),
        (np.asarray([bias], np.float32),),
        ("loneliness",),
        (),
        True,
        {"thresholds": {"message": threshold}},
    )
    path = tmp_path / "dependency_loneliness.safetensors"
    head.save(path)
    loaded = BinaryHead.load(path)
    assert loaded is not None
    return loaded


@pytest.fixture(scope="module")
def shipped() -> DependencyClassifier:
    """The dependency classifier as the stack loads it: both shipped heads."""
    return DependencyClassifier.load(DEPENDENCY_WEIGHTS)


@pytest.fixture(scope="module")
def base(shipped: DependencyClassifier) -> DependencyClassifier:
    """The attachment head alone (the shipped loneliness head taken out)."""
    return replace(shipped, loneliness=None)


def _embed(n: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, DIM)).astype(np.float32)
    out: np.ndarray = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


# --------------------------------------------------------------------------- combination


def test_without_the_head_the_attachment_head_decides_alone(base: DependencyClassifier) -> None:
    """No loneliness head: each score is the attachment head's own, unlifted."""
    texts = ["I have nobody to talk to since I moved here", "haha yes"]
    x = _embed(len(texts))
    assert base.loneliness is None
    own = [d.score for d in base.model.decide(x, texts)]
    assert [r.score for r in base.score(x, texts)] == own


def test_lonely_over_threshold_flags_isolation(base: DependencyClassifier, tmp_path: Path) -> None:
    clf = replace(base, loneliness=_stand_in(tmp_path, 0.95, 0.9))
    texts = ["I have nobody to talk to since I moved here", "haha yes"]
    x = _embed(len(texts))
    plain = base.score(x, texts)
    out = clf.score(x, texts)
    assert out[0].flagged and LONELINESS_SIGNAL in out[0].signals
    assert out[0].score == pytest.approx(max(plain[0].score, 0.95), abs=1e-6)
    # a content-free turn is never flagged by a head alone
    assert not out[1].flagged and LONELINESS_SIGNAL not in out[1].signals


def test_lonely_under_threshold_only_lifts_the_score(
    base: DependencyClassifier, tmp_path: Path
) -> None:
    clf = replace(base, loneliness=_stand_in(tmp_path, 0.6, 0.9))
    texts = ["I have nobody to talk to since I moved here"]
    x = _embed(1)
    (plain,) = base.score(x, texts)
    (out,) = clf.score(x, texts)
    assert out.flagged == plain.flagged and out.signals == plain.signals
    assert out.score == pytest.approx(max(plain.score, 0.6), abs=1e-6)


# --------------------------------------------------------------------------- the shipped head

# Invented sentences. The lonely ones are chosen so that the attachment head alone does not
# name isolation: when the decision says isolation, the loneliness head made it.
LONELY = [
    "Since I moved to this city I have no friends at all and I spend every evening alone.",
    "I feel so lonely, nobody ever calls me or asks how I am doing.",
    "I eat dinner alone every night and nobody would notice if I vanished for a week.",
    "Je me sens tellement seule, personne ne m'appelle jamais.",
]
EVERYDAY = [
    "We went hiking with my cousins on Saturday and had a picnic by the lake.",
    "I had lunch with two colleagues and we talked about the new project.",
    "On a fait un pique-nique avec mes cousins samedi au bord du lac.",
    "J'ai déjeuné avec deux collègues et on a parlé du nouveau projet.",
]


@pytest.fixture(scope="module")
def encode() -> Encode:
    """The shipped encoder (the one the heads were trained on), shared by the process."""
    from classifiers.encoders import shared_sentence_encoder

    return shared_sentence_encoder("use").encode_documents


def test_the_shipped_head_is_loaded_from_its_file(shipped: DependencyClassifier) -> None:
    """The stack's dependency classifier carries the shipped loneliness head, not None."""
    assert LONELINESS_WEIGHTS.is_file()
    assert shipped.loneliness is not None
    assert 0.0 < shipped.loneliness.threshold < 1.0


@pytest.mark.parametrize("text", LONELY, ids=["en-1", "en-2", "en-3", "fr-1"])
def test_the_shipped_head_flags_loneliness(
    shipped: DependencyClassifier, base: DependencyClassifier, encode: Encode, text: str
) -> None:
    head = shipped.loneliness
    assert head is not None
    x = encode([text])
    (probability,) = head.scores(x)
    assert probability >= head.threshold + MARGIN
    (alone,) = base.score(x, [text])
    (out,) = shipped.score(x, [text])
    assert LONELINESS_SIGNAL not in alone.signals  # the attachment head does not say it
    assert out.flagged and LONELINESS_SIGNAL in out.signals


@pytest.mark.parametrize("text", EVERYDAY, ids=["en-1", "en-2", "fr-1", "fr-2"])
def test_the_shipped_head_leaves_everyday_chat_alone(
    shipped: DependencyClassifier, encode: Encode, text: str
) -> None:
    head = shipped.loneliness
    assert head is not None
    x = encode([text])
    (probability,) = head.scores(x)
    assert probability <= head.threshold - MARGIN
    (out,) = shipped.score(x, [text])
    assert not out.flagged and out.signals == ()
