"""The optional loneliness head of the dependency classifier (no trained file ships).

A stand-in head with a fixed probability checks how ``DependencyClassifier.score`` combines
it: the score is the higher of the two heads', and over the loneliness threshold a message
the head may judge is flagged with the ``isolation`` signal. Nothing trains here.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from classifiers.dependency import DEPENDENCY_WEIGHTS, LONELINESS_SIGNAL, DependencyClassifier
from classifiers.heads import MLPHead
from classifiers.self_harm import BinaryHead

DIM = 512


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
def base() -> DependencyClassifier:
    clf = DependencyClassifier.load(DEPENDENCY_WEIGHTS)
    return replace(clf, loneliness=None)


def _embed(n: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, DIM)).astype(np.float32)
    out: np.ndarray = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


def test_without_the_head_nothing_changes(base: DependencyClassifier) -> None:
    texts = ["I have nobody to talk to since I moved here", "haha yes"]
    x = _embed(len(texts))
    assert base.loneliness is None
    out = base.score(x, texts)
    assert [r.score for r in out] == [r.score for r in base.score(x, texts)]


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
