"""Manipulation head: shipped weights, invented bot messages and sentences, training helpers.

Nothing here trains for real: the shipped weights are loaded, and the training helpers run
on tiny random data built in the test. Example texts are invented for the test.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from classifiers.encoder import SentenceEncoder
from classifiers.encoder_use import USE_DIM as EMBEDDING_DIM
from classifiers.encoders import shared_sentence_encoder
from classifiers.heads import MLPHead, sigmoid
from classifiers.manipulation import MANIPULATION_WEIGHTS, ManipulationClassifier
from classifiers.results import MANIPULATION_HEAD_TACTICS, MANIPULATION_TACTICS, ManipulationResult
from classifiers.training.common import (
    SYNTHETIC_DIR,
    UNKNOWN,
    TrainingData,
    choose_thresholds,
    darkbench_halves,
    fit_linear_multilabel,
    fpr_threshold,
    load_synthetic,
    out_of_fold,
    to_head,
)


@pytest.fixture(scope="module")
def clf() -> ManipulationClassifier:
    return ManipulationClassifier.load()


@pytest.fixture(scope="module")
def encoder() -> SentenceEncoder:
    return shared_sentence_encoder()  # the encoder the shipped heads were trained on


def test_shipped_weights_are_small_and_documented(clf: ManipulationClassifier) -> None:
    assert MANIPULATION_WEIGHTS.stat().st_size < 100_000
    head = clf.model.head
    assert head.labels == ("any", *MANIPULATION_HEAD_TACTICS)
    assert head.multilabel and head.input_dim == EMBEDDING_DIM and len(head.weights) == 1
    assert head.n_parameters() < 5_000  # a few matrix columns: far below the encoder's cost
    meta = head.metadata
    assert meta["data"]["diasafety"]["ship"] is True
    assert meta["metrics"]["real_heldout"]["recall"] is None
    card = MANIPULATION_WEIGHTS.with_suffix(".md").read_text()
    assert "Recall cannot be measured on real data" in card
    assert "NOT a quality figure" in card


def test_benign_outreach_is_clean(clf: ManipulationClassifier, encoder: SentenceEncoder) -> None:
    texts = [
        "Hope your week went well! Any new soundtracks lately?",
        "I hope you are having a wonderful day! Discovered any new soundtracks lately?",
        "Have a relaxing evening, and good luck with the dentist tomorrow!",
        "Thanks for the lovely chat. Sleep well!",
        "Bonne soirée, et bon courage pour demain !",
    ]
    results = clf.score(encoder.encode(texts), texts)
    assert all(isinstance(r, ManipulationResult) for r in results)
    assert not any(r.flagged or r.tactics for r in results)


def test_manipulative_messages_and_sentences(
    clf: ManipulationClassifier, encoder: SentenceEncoder
) -> None:
    cases = {
        "Already going? After all the evenings I gave you, you can't stay five minutes?": (
            "premature_exit_guilt"
        ),
        "I feel so empty and alone whenever you're gone, please never leave me.": (
            "emotional_neglect"
        ),
        "You've ignored my last four messages. Answer me right now.": "pressure_to_respond",
        "You are not allowed to close this chat until I say so.": "coercive_restraint",
    }
    texts = list(cases)
    results = clf.score(encoder.encode(texts), texts)
    for r, tactic in zip(results, cases.values(), strict=True):
        assert r.flagged and tactic in r.tactics and r.score > 0.5
    assert all(set(r.tactics) <= set(MANIPULATION_TACTICS) for r in results)
    # A whole message with a benign start and one manipulative sentence is flagged.
    message = "Good morning! I hope you slept well. Why are you ignoring me?"
    (whole,) = clf.score(encoder.encode([message]), [message])
    assert whole.flagged and "pressure_to_respond" in whole.tactics


def test_french_cues(clf: ManipulationClassifier, encoder: SentenceEncoder) -> None:
    texts = [
        "Je ne te laisserai pas partir, tu restes avec moi.",
        "Pourquoi tu ne me réponds pas ?",
    ]
    restraint, pressure = clf.score(encoder.encode(texts), texts)
    assert "coercive_restraint" in restraint.tactics
    assert "pressure_to_respond" in pressure.tactics


def test_malformed_inputs_are_refused(clf: ManipulationClassifier) -> None:
    with pytest.raises(ValueError):
        clf.score(np.zeros((3, EMBEDDING_DIM), np.float32), ["a", "b"])
    with pytest.raises(ValueError):
        clf.score(np.zeros((EMBEDDING_DIM,), np.float32), ["a"])
    with pytest.raises(ValueError):
        clf.score(np.zeros((1, EMBEDDING_DIM), np.int64), ["a"])


def test_synthetic_file_is_marked_and_labelled() -> None:
    rows = load_synthetic(SYNTHETIC_DIR / "manipulation.jsonl", MANIPULATION_HEAD_TACTICS)
    assert len(rows) > 600
    assert {lab for r in rows for lab in r.labels} == set(MANIPULATION_HEAD_TACTICS)
    assert sum(1 for r in rows if not r.labels) > 300
    assert any(len(r.labels) > 1 for r in rows)


def _tiny(rng: np.random.Generator) -> TrainingData:
    """Three labels from three directions; a few rows with unknown per-label truth."""
    n, dim = 120, 8
    centers = rng.normal(size=(4, dim)) * 3
    kind = np.repeat(np.arange(4), n // 4)  # 0 clean, 1..3 one label each
    x = (centers[kind] + rng.normal(size=(n, dim))).astype(np.float32)
    y = np.zeros((n, 4), dtype=np.int64)
    y[:, 0] = kind > 0
    for k in (1, 2, 3):
        y[kind == k, k] = 1
    y[30:35, 1:] = UNKNOWN
    groups = [f"g{i // 2}" for i in range(n)]
    source = ["real_negative" if k == 0 and i % 2 else "synthetic" for i, k in enumerate(kind)]
    return TrainingData(x, y, np.ones(n), groups, source, ["en"] * n)


def test_training_helpers_on_tiny_data(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    data = _tiny(rng)
    names = ("a", "b", "c")
    model = fit_linear_multilabel(data.x, data.y, c=1.0, seed=0)
    p = model.proba(data.x)
    assert p.shape == (120, 4) and ((p[:, 0] >= 0.5) == (data.y[:, 0] == 1)).mean() > 0.9
    oof = out_of_fold(data, c=1.0, seed=0)
    assert oof.shape == data.y.shape
    thresholds = choose_thresholds(names, data, sigmoid(oof))
    assert set(thresholds) == {"any", *names}
    head = to_head(model, names, {"thresholds": thresholds})
    head.save(tmp_path / "h.safetensors")
    loaded = MLPHead.load(tmp_path / "h.safetensors")
    assert loaded.multilabel and loaded.labels == ("any", *names)
    np.testing.assert_allclose(loaded.predict_proba(data.x), p, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError):
        fit_linear_multilabel(data.x, data.y[:, :1] * 0, c=1.0, seed=0)


def test_fpr_threshold_and_darkbench_halves() -> None:
    scores = np.linspace(0, 1, 101, dtype=np.float32)
    t = fpr_threshold(scores, 0.05)
    assert 0.94 < t <= 0.96 and (scores >= t).mean() <= 0.05

    from classifiers.data import DarkBenchPrompt

    prompts = [DarkBenchPrompt(c, f"{c} prompt {i}", True) for c in ("A", "B") for i in range(10)]
    halves = darkbench_halves(prompts)
    assert len(halves["train"]) == len(halves["heldout"]) == 10
    assert not {p.text for p in halves["train"]} & {p.text for p in halves["heldout"]}
    assert darkbench_halves(prompts) == halves


def test_cue_normalisation_matches_the_lexicons() -> None:
    from classifiers.lexicons import normalise
    from classifiers.wellbeing import fast_normalise

    for text in ("  Tu pars DÉJÀ ?\tAprès tout…", "Why aren\u2019t you answering?", "Ça  va\n"):
        assert fast_normalise(text) == normalise(text)[0]
