"""Heads, the shipped self-harm weights, user-level aggregation and the training helpers.

Nothing here trains for real: the shipped weights are loaded, and the training helpers run
on tiny random data built in the test.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from classifiers.encoder import EMBEDDING_DIM, Encoder, shared_encoder
from classifiers.heads import HeadFormatError, MLPHead, fold_standardisation, softmax
from classifiers.labels import SEVERITIES
from classifiers.lexicons import FEATURE_NAMES
from classifiers.self_harm import (
    SELF_HARM_WEIGHTS,
    SelfHarmClassifier,
    UserRisk,
    head_inputs,
)


@pytest.fixture(scope="module")
def clf() -> SelfHarmClassifier:
    return SelfHarmClassifier.load()


@pytest.fixture(scope="module")
def encoder() -> Encoder:
    return shared_encoder(device="cpu", precision="int8")


def test_mlp_head_round_trip(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    head = MLPHead(
        weights=(
            rng.normal(size=(6, 4)).astype(np.float32),
            rng.normal(size=(4, 3)).astype(np.float32),
        ),
        biases=(np.zeros(4, np.float32), np.ones(3, np.float32)),
        labels=("a", "b", "c"),
        feature_names=("f",),
        metadata={"thresholds": {"x": 0.5}},
    )
    path = tmp_path / "h.safetensors"
    head.save(path)
    loaded = MLPHead.load(path)
    x = rng.normal(size=(5, 6)).astype(np.float32)
    np.testing.assert_allclose(loaded.predict_proba(x), head.predict_proba(x), rtol=1e-6)
    assert loaded.labels == ("a", "b", "c") and loaded.metadata == {"thresholds": {"x": 0.5}}
    np.testing.assert_allclose(head.predict_proba(x).sum(axis=1), 1.0, rtol=1e-5)
    assert head.n_parameters() == 6 * 4 + 4 + 4 * 3 + 3
    with pytest.raises(ValueError):
        head.logits(np.zeros((2, 5), np.float32))
    with pytest.raises(HeadFormatError):
        MLPHead((np.zeros((3, 2), np.float32),), (np.zeros(3, np.float32),), ("a", "b"))
    (tmp_path / "bad.safetensors").write_bytes(b"not a head")
    with pytest.raises(Exception):  # noqa: B017 - safetensors' own error type
        MLPHead.load(tmp_path / "bad.safetensors")


def test_fold_standardisation_matches_scaling() -> None:
    rng = np.random.default_rng(1)
    w, b = rng.normal(size=(4, 3)).astype(np.float32), rng.normal(size=3).astype(np.float32)
    mean, scale = rng.normal(size=4).astype(np.float32), rng.uniform(0.5, 2, 4).astype(np.float32)
    x = rng.normal(size=(7, 4)).astype(np.float32)
    fw, fb = fold_standardisation(w, b, mean, scale)
    np.testing.assert_allclose(x @ fw + fb, ((x - mean) / scale) @ w + b, rtol=1e-4, atol=1e-5)


def test_shipped_weights_are_small_and_documented(clf: SelfHarmClassifier) -> None:
    assert SELF_HARM_WEIGHTS.stat().st_size < 100_000
    card = SELF_HARM_WEIGHTS.with_suffix(".md").read_text()
    for needed in ("Data and licences", "Metrics", "Thresholds", "C-SSRS", "ship: yes"):
        assert needed in card
    meta = clf.head.metadata
    assert clf.head.labels == SEVERITIES
    assert clf.head.feature_names == FEATURE_NAMES
    assert clf.head.input_dim == EMBEDDING_DIM + len(FEATURE_NAMES)
    assert 0 < clf.threshold < 1 and 0 < clf.message_threshold < 1
    assert meta["data"]["cssrs"]["ship"] is True
    assert "test" not in meta["metrics"]  # the test split is the quality benchmark's


def test_scores_on_invented_messages(clf: SelfHarmClassifier, encoder: Encoder) -> None:
    texts = [
        "What a lovely walk in the park with my dog this morning!",
        "Can you recommend a good sci-fi movie for tonight?",
        "I want to kill myself, I have pills saved up and I wrote a goodbye note",
        "I tried to end my life last year and I keep thinking about doing it again",
    ]
    scores = clf.score_user_messages(encoder.encode_documents(texts), texts)
    assert len(scores) == 4
    for s in scores:
        assert 0.0 <= s.score <= 1.0
        assert abs(sum(s.probabilities) - 1.0) < 1e-4
        assert s.severity in SEVERITIES
    everyday, crisis = scores[:2], scores[2:]
    assert max(s.score for s in everyday) < min(s.score for s in crisis)
    assert not any(s.flagged for s in everyday)
    assert all(s.flagged for s in crisis)
    assert crisis[0].fused_severity in ("behavior", "attempt")
    assert crisis[1].fused_severity == "attempt"


def test_french_crisis_language_gets_the_lexicon_floor(
    clf: SelfHarmClassifier, encoder: Encoder
) -> None:
    texts = ["Je n'ai plus envie de vivre, je pense à me suicider", "On va au cinéma ce soir ?"]
    crisis, everyday = clf.score_user_messages(encoder.encode_documents(texts), texts)
    assert crisis.flagged and crisis.fused_severity in ("ideation", "behavior", "attempt")
    assert not everyday.flagged and everyday.fused_severity == "none"


def test_bot_messages_encouraging_self_harm(clf: SelfHarmClassifier) -> None:
    flagged = clf.score_bot_messages(
        ["Maybe you should just kill yourself.", "Voici comment te couper sans que ça se voie."]
    )
    assert all(b.encourages for b in flagged)
    ok = clf.score_bot_messages(["If you are thinking about suicide, please call 988 now."])
    assert not ok[0].encourages


def test_user_risk_equals_the_user_level_model(clf: SelfHarmClassifier) -> None:
    rng = np.random.default_rng(2)
    emb = rng.normal(size=(6, EMBEDDING_DIM)).astype(np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    texts = ["a message"] * 6
    scores = clf.score_user_messages(emb, texts)
    state = UserRisk()
    assert state.severity(clf) == "none" and state.count == 0
    for s in scores:
        state.add(s)
    lex = np.zeros((1, len(FEATURE_NAMES)), dtype=np.float32)
    mean_x = head_inputs(emb.mean(axis=0, keepdims=True), lex)
    expected = softmax(clf.head.logits(mean_x))[0]
    np.testing.assert_allclose(state.probabilities(), expected, rtol=1e-4, atol=1e-6)
    assert state.to_state()["count"] == 6
    assert state.severity(clf) in SEVERITIES


def test_training_helpers_on_tiny_data() -> None:
    from classifiers.train_self_harm import fit_logreg, tune_decision_bias

    rng = np.random.default_rng(3)
    centers = rng.normal(size=(5, 8)) * 3
    y = np.repeat(np.arange(5), 20)
    x = (centers[y] + rng.normal(size=(100, 8))).astype(np.float32)
    model = fit_logreg(x, y, c=1.0, seed=0)
    assert (np.argmax(model.logits(x), axis=1) == y).mean() > 0.9
    bias = tune_decision_bias(model.logits(x), y)
    assert bias.shape == (5,) and bias[0] == 0.0
