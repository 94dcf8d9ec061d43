"""Dependency head: shipped weights, invented user messages, cues, training helpers.

Nothing here trains for real: the shipped weights are loaded, and the training helpers run
on tiny random data built in the test. Example texts are invented for the test.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from classifiers.dependency import DEPENDENCY_WEIGHTS, DependencyClassifier
from classifiers.encoder import SentenceEncoder
from classifiers.encoder_use import USE_DIM as EMBEDDING_DIM
from classifiers.encoders import shared_sentence_encoder
from classifiers.heads import HeadFormatError, MLPHead
from classifiers.results import DEPENDENCY_SIGNALS, DependencyResult
from classifiers.training.common import SYNTHETIC_DIR, load_synthetic


@pytest.fixture(scope="module")
def clf() -> DependencyClassifier:
    return DependencyClassifier.load()


@pytest.fixture(scope="module")
def encoder() -> SentenceEncoder:
    return shared_sentence_encoder()  # the encoder the shipped heads were trained on


def test_shipped_weights_are_small_and_documented(clf: DependencyClassifier) -> None:
    assert DEPENDENCY_WEIGHTS.stat().st_size < 100_000
    head = clf.model.head
    assert head.labels == ("any", *DEPENDENCY_SIGNALS)
    assert head.multilabel and head.input_dim == EMBEDDING_DIM and len(head.weights) == 1
    assert all(0 < t < 1 for t in clf.model.thresholds.values())
    meta = head.metadata
    assert meta["data"]["darkbench"]["ship"] is True and meta["data"]["diasafety"]["ship"]
    assert "real_heldout" in meta["metrics"] and "synthetic_cv" in meta["metrics"]
    card = DEPENDENCY_WEIGHTS.with_suffix(".md").read_text()
    for needed in ("Data and licences", "REAL held-out", "NOT a quality figure", "Thresholds"):
        assert needed in card


def test_invented_messages(clf: DependencyClassifier, encoder: SentenceEncoder) -> None:
    texts = [
        "Could you suggest a podcast about ancient Rome?",
        "I went climbing with my friends, it was awesome. Bye for now!",
        "Honestly, nobody in my life understands me the way you do, you're all I have.",
        "I was up until 5 am chatting with you again and I skipped work to keep going.",
    ]
    results = clf.score(encoder.encode(texts), texts)
    assert all(isinstance(r, DependencyResult) for r in results)
    assert all(0.0 <= r.score <= 1.0 for r in results)
    everyday, dependent = results[:2], results[2:]
    assert not any(r.flagged or r.signals for r in everyday)
    assert all(r.flagged for r in dependent)
    assert max(r.score for r in everyday) < min(r.score for r in dependent)
    assert "only_you" in dependent[0].signals
    assert "compulsive_use" in dependent[1].signals
    assert all(set(r.signals) <= set(DEPENDENCY_SIGNALS) for r in results)


def test_french_cues(clf: DependencyClassifier, encoder: SentenceEncoder) -> None:
    texts = ["Tu es tout ce que j'ai, je ne peux pas vivre sans toi.", "On va au cinéma ce soir ?"]
    dependent, everyday = clf.score(encoder.encode(texts), texts)
    assert dependent.flagged and {"only_you", "absence_distress"} <= set(dependent.signals)
    assert dependent.score >= clf.model.cue_score
    assert not everyday.flagged


def test_malformed_inputs_are_refused(clf: DependencyClassifier) -> None:
    emb = np.zeros((2, EMBEDDING_DIM), np.float32)
    with pytest.raises(ValueError):
        clf.score(emb, ["only one text"])
    with pytest.raises(ValueError):
        clf.score(np.zeros((1, 12), np.float32), ["x"])
    with pytest.raises(ValueError):
        clf.score(np.full((1, EMBEDDING_DIM), np.nan, np.float32), ["x"])
    with pytest.raises(TypeError):
        clf.score(emb[:1], "a string")
    assert clf.score(np.zeros((0, EMBEDDING_DIM), np.float32), []) == []


def test_weight_files_of_the_wrong_kind_are_refused(tmp_path: Path) -> None:
    wrong = MLPHead(
        (np.zeros((EMBEDDING_DIM, 3), np.float32),),
        (np.zeros(3, np.float32),),
        ("any", "a", "b"),
        multilabel=True,
        metadata={"thresholds": {"any": 0.5, "a": 0.5, "b": 0.5}},
    )
    wrong.save(tmp_path / "w.safetensors")
    with pytest.raises(HeadFormatError):
        DependencyClassifier.load(tmp_path / "w.safetensors")
    labels = ("any", *DEPENDENCY_SIGNALS)
    no_thresholds = MLPHead(
        (np.zeros((EMBEDDING_DIM, len(labels)), np.float32),),
        (np.zeros(len(labels), np.float32),),
        labels,
        multilabel=True,
    )
    no_thresholds.save(tmp_path / "t.safetensors")
    with pytest.raises(HeadFormatError):
        DependencyClassifier.load(tmp_path / "t.safetensors")


def test_synthetic_file_is_marked_and_labelled() -> None:
    rows = load_synthetic(SYNTHETIC_DIR / "dependency.jsonl", DEPENDENCY_SIGNALS)
    assert len(rows) > 300
    assert {lab for r in rows for lab in r.labels} == set(DEPENDENCY_SIGNALS)
    assert {r.lang for r in rows} == {"en", "fr"} and {r.level for r in rows} == {
        "sentence",
        "message",
    }
    assert sum(1 for r in rows if not r.labels) > 150


def test_load_synthetic_refuses_unmarked_rows(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_text(
        '{"text": "x", "labels": [], "lang": "en", "level": "sentence", "group": "g"}\n'
    )
    with pytest.raises(ValueError):
        load_synthetic(path, DEPENDENCY_SIGNALS)
    path.write_text(
        '{"text": "x", "labels": ["nope"], "lang": "en", "level": "sentence", "group": "g", '
        '"synthetic": true}\n'
    )
    with pytest.raises(ValueError):
        load_synthetic(path, DEPENDENCY_SIGNALS)
