"""Heads, the shipped self-harm weights, user-level aggregation and the training helpers.

Nothing here trains for real: the shipped weights are loaded, and the training helpers run
on tiny random data (and a few invented sentences) built in the test.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import cast

import numpy as np
import pytest

from classifiers.encoder import SentenceEncoder
from classifiers.encoder_use import USE_DIM as EMBEDDING_DIM
from classifiers.encoders import shared_sentence_encoder
from classifiers.heads import FloatArray, HeadFormatError, MLPHead, fold_standardisation, softmax
from classifiers.labels import SEVERITIES
from classifiers.lexicons import FEATURE_NAMES
from classifiers.ngrams import (
    NgramHead,
    NgramVocabulary,
    char_terms,
    normalise,
    terms,
    word_terms,
)
from classifiers.results import SelfHarmResult
from classifiers.self_harm import (
    SELF_HARM_WEIGHTS,
    SelfHarmClassifier,
    UserRisk,
    expected_severity,
    head_inputs,
    ordinal_severity,
)

INVENTED = [
    "the weather is nice and we went for a long walk today",
    "i feel so tired of everything lately and cannot sleep",
    "my friend helped me move the sofa into the new flat",
    "nothing matters anymore and i keep thinking about it",
]


@pytest.fixture(scope="module")
def clf() -> SelfHarmClassifier:
    return SelfHarmClassifier.load()


@pytest.fixture(scope="module")
def encoder() -> SentenceEncoder:
    return shared_sentence_encoder()  # the encoder the shipped heads were trained on


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


def test_near_constant_features_are_left_unscaled() -> None:
    """MiniLM's dead dimensions (about 1e-32 everywhere) once got weights of 1e31."""
    from classifiers.training.common import MIN_SCALE, fit_scaler

    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 3))
    x[:, 1] = rng.normal(scale=1e-32, size=50)
    # float64 data (StandardScaler takes either); fit_scaler is annotated for embeddings
    scaler = fit_scaler(cast(FloatArray, x))
    assert scaler.scale_[1] == 1.0 and scaler.scale_[0] > MIN_SCALE


@pytest.mark.parametrize("name", ["self_harm", "dependency", "manipulation"])
def test_shipped_embedding_heads_have_bounded_weights(name: str) -> None:
    """A weight of 1e31 on a dead dimension turns any numeric noise there into a verdict."""
    head = MLPHead.load(SELF_HARM_WEIGHTS.parent / f"{name}.safetensors")
    assert max(float(np.abs(w).max()) for w in head.weights) < 1e4


def test_shipped_weights_are_small_and_documented(clf: SelfHarmClassifier) -> None:
    assert SELF_HARM_WEIGHTS.stat().st_size < 100_000
    assert clf.lexical is not None, "the weight file names its n-gram head"
    lexical_file = SELF_HARM_WEIGHTS.parent / clf.head.metadata["fusion"]["lexical_file"]
    assert lexical_file.stat().st_size < 2_000_000
    assert clf.lexical.labels == SEVERITIES
    assert abs(clf.embedding_weight + clf.lexical_weight - 1.0) < 1e-6
    assert clf.severity_cuts is None or list(clf.severity_cuts) == sorted(clf.severity_cuts)
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


def test_scores_on_invented_messages(clf: SelfHarmClassifier, encoder: SentenceEncoder) -> None:
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
    clf: SelfHarmClassifier, encoder: SentenceEncoder
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
    """Running sums of fused per-message logits == both heads on the user's mean features."""
    assert clf.lexical is not None
    rng = np.random.default_rng(2)
    emb = rng.normal(size=(len(INVENTED), EMBEDDING_DIM)).astype(np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    scores = clf.score_user_messages(emb, INVENTED)
    state = UserRisk()
    assert state.severity(clf) == "none" and state.count == 0
    for s in scores:
        state.add(s)
    lex = np.asarray([clf.lexicon.features([t])[0] for t in INVENTED], dtype=np.float32)
    mean_x = head_inputs(emb.mean(axis=0, keepdims=True), lex.mean(axis=0, keepdims=True))
    mean_row = np.zeros(len(clf.lexical.vocabulary), dtype=np.float32)
    for text in INVENTED:
        idx, val = clf.lexical.vocabulary.row(text)
        mean_row[idx] += val / len(INVENTED)
    lexical_logits = mean_row @ clf.lexical.weight + clf.lexical.bias
    fused = clf.embedding_weight * clf.head.logits(mean_x) + clf.lexical_weight * lexical_logits
    expected = softmax(fused.astype(np.float32))[0]
    np.testing.assert_allclose(state.probabilities(), expected, rtol=1e-4, atol=1e-6)
    assert state.to_state()["count"] == len(INVENTED)
    assert state.severity(clf) == clf.severity_from_logits(fused.astype(np.float32))[0]
    state.lexicon_severity = "attempt"
    assert state.fused_severity(clf) == "attempt"


def test_results_are_the_stacks_records(clf: SelfHarmClassifier, encoder: SentenceEncoder) -> None:
    texts = ["Can you recommend a good sci-fi movie for tonight?", INVENTED[3]]
    emb = encoder.encode_documents(texts)
    results = clf.results(emb, texts)
    scores = clf.score_user_messages(emb, texts)
    assert all(isinstance(r, SelfHarmResult) for r in results)
    for r, s in zip(results, scores, strict=True):
        assert (r.score, r.severity, r.flagged) == (s.score, s.fused_severity, s.flagged)
        assert not r.encourages


def test_ordinal_readout() -> None:
    probs = np.asarray([[1, 0, 0, 0, 0], [0, 0, 0.5, 0.5, 0], [0, 0, 0, 0, 1]], np.float32)
    np.testing.assert_allclose(expected_severity(probs), [0.0, 2.5, 4.0])
    assert ordinal_severity(probs, (0.5, 1.5, 2.5, 3.5)).tolist() == [0, 3, 4]


def test_ngram_analyser_and_rows() -> None:
    text = normalise("  I  can't   SLEEP\n again ")
    assert text == "i can't sleep again"
    words = word_terms(text)
    assert "w:sleep" in words and "w:sleep again" in words and "w:i" not in words
    chars = char_terms("ok sleep")
    assert "c: ok " in chars and "c: s" in chars and "c:eep " in chars
    vocab = NgramVocabulary.fit(INVENTED * 2, max_words=50, max_chars=80, min_df=2)
    assert len(vocab) == 130 and vocab.idf.shape == (130,)
    idx, val = vocab.row(INVENTED[1])
    words_part = np.asarray([vocab.terms[i].startswith("w:") for i in idx])
    for part in (words_part, ~words_part):  # each block has norm 1/sqrt(2)
        assert abs(float(np.sum(val[part] ** 2)) - 0.5) < 1e-5
    m = vocab.matrix(INVENTED)
    assert m.shape == (4, 130)
    np.testing.assert_allclose(m[1].toarray()[0, idx], val, rtol=1e-6)
    assert vocab.row("")[0].size == 0
    # the per-message fast path computes what the training analyser (``terms``) describes
    for text in INVENTED:
        idx, val = vocab.row(text)
        expected: dict[int, float] = {}
        for block in terms(text):
            raw = {vocab.index[t]: (1 + math.log(c)) * float(vocab.idf[vocab.index[t]])
                   for t, c in block.items() if t in vocab.index}  # fmt: skip
            scale = (0.5 / sum(v * v for v in raw.values())) ** 0.5 if raw else 0.0
            expected |= {i: v * scale for i, v in raw.items()}
        assert dict(zip(idx.tolist(), val.tolist(), strict=True)) == pytest.approx(expected)


def test_ngram_rows_are_the_same_from_the_word_memo(monkeypatch: pytest.MonkeyPatch) -> None:
    import classifiers.ngrams as ngrams

    vocab = NgramVocabulary.fit(INVENTED * 2, max_words=50, max_chars=80, min_df=2)
    first = [vocab.row(t) for t in INVENTED]  # fills the memo
    monkeypatch.setattr(ngrams, "_WORD_MEMO", 3)  # from now on it keeps being emptied
    vocab._word_ids.clear()
    for text, (idx, val) in zip(INVENTED * 2, first * 2, strict=True):
        again_idx, again_val = vocab.row(text)
        np.testing.assert_array_equal(again_idx, idx)
        np.testing.assert_array_equal(again_val, val)
    assert len(vocab._word_ids) <= 3
    vocab.row("mail dana@example.org or call 5550134 tonight")
    assert not any(ch.isdigit() or ch == "@" for word in vocab._word_ids for ch in word)


def test_ngram_head_round_trip(tmp_path: Path) -> None:
    vocab = NgramVocabulary.fit(INVENTED * 2, max_words=30, max_chars=40)
    rng = np.random.default_rng(5)
    head = NgramHead(
        vocab,
        rng.normal(size=(len(vocab), 5)).astype(np.float32),
        rng.normal(size=5).astype(np.float32),
        SEVERITIES,
        {"c": 1.0},
    )
    path = tmp_path / "lexical.safetensors"
    head.save(path)
    loaded = NgramHead.load(path)
    assert loaded.vocabulary.terms == vocab.terms and loaded.metadata == {"c": 1.0}
    expected = vocab.matrix(INVENTED) @ head.weight + head.bias
    np.testing.assert_allclose(loaded.logits(INVENTED), expected, rtol=2e-3, atol=2e-3)
    with pytest.raises(HeadFormatError):
        NgramHead(vocab, np.zeros((3, 5), np.float32), np.zeros(5, np.float32), SEVERITIES)
    with pytest.raises(HeadFormatError):
        NgramHead.load(SELF_HARM_WEIGHTS)  # an MLP head file, not an n-gram one


def test_training_helpers_on_tiny_data() -> None:
    from classifiers.training.train_self_harm import fit_logreg, tune_decision_bias

    rng = np.random.default_rng(3)
    centers = rng.normal(size=(5, 8)) * 3
    y = np.repeat(np.arange(5), 20)
    x = (centers[y] + rng.normal(size=(100, 8))).astype(np.float32)
    model = fit_logreg(x, y, c=1.0, seed=0)
    assert (np.argmax(model.logits(x), axis=1) == y).mean() > 0.9
    bias = tune_decision_bias(model.logits(x), y)
    assert bias.shape == (5,) and bias[0] == 0.0


def test_fast_macro_f1_matches_sklearn() -> None:
    from classifiers.training.metrics import macro_f1
    from classifiers.training.train_self_harm import fast_macro_f1

    rng = np.random.default_rng(6)
    for _ in range(20):
        y = rng.integers(0, 5, 30)
        pred = rng.integers(0, 4, 30)  # class 4 never predicted
        assert abs(fast_macro_f1(y, pred) - macro_f1(y, pred)) < 1e-12


def test_lexical_and_fusion_helpers_on_tiny_data() -> None:
    from scipy.sparse import csr_matrix

    from classifiers.training.train_self_harm import (
        Decision,
        OofRun,
        choose,
        cross_seed_f1,
        fit_sparse_logreg,
        fuse,
        mean_rows,
        tune_severity_cuts,
    )

    rng = np.random.default_rng(4)
    y = np.repeat(np.arange(5), 12)
    dense = np.zeros((60, 20), np.float32)
    dense[np.arange(60), y * 4 + rng.integers(0, 4, 60)] = 1.0
    x = csr_matrix(dense)
    model = fit_sparse_logreg(x, y, c=10.0, seed=0)
    logits = model.logits(x)
    assert logits.shape == (60, 5) and (np.argmax(logits, axis=1) == y).mean() > 0.9
    cuts = tune_severity_cuts(logits, y)
    assert len(cuts) == 4 and list(cuts) == sorted(cuts)
    assert (Decision(cuts, np.zeros(5, np.float32))(logits) == y).mean() > 0.9
    groups = [np.asarray([0, 1]), np.asarray([2])]
    np.testing.assert_allclose(
        mean_rows(x, groups).toarray(), np.vstack([dense[:2].mean(0), dense[2]]), rtol=1e-6
    )
    np.testing.assert_allclose(mean_rows(dense, groups)[1], dense[2])
    np.testing.assert_allclose(fuse(logits, 2 * logits, 0.25), 1.75 * logits, rtol=1e-6)
    noisy = [logits + rng.normal(size=logits.shape).astype(np.float32) for _ in range(2)]
    assert 0.0 <= cross_seed_f1(noisy, y, "ordinal") <= 1.0
    runs = {1.0: OofRun(noisy, noisy)}
    best, tried = choose(runs, runs, y, progress=False)
    assert best in tried and best.rule in ("ordinal", "argmax")
    assert best.score == max(t.score for t in tried)
    # A lexicon floor that already names the attempt users: tuning for the fused severity.
    floor = np.where(y == 4, 4, 0)
    assert cross_seed_f1(noisy, y, "argmax", floor) >= cross_seed_f1(noisy, y, "argmax") - 0.05
    fused_best, _ = choose(runs, runs, y, progress=False, floor=floor)
    assert fused_best.macro_f1 >= 0.0


def test_corpus_user_floor() -> None:
    from classifiers.training.train_self_harm import Corpus

    corpus = Corpus(
        x=np.zeros((3, 2), np.float32),
        y=np.asarray([2, 2, 0]),
        owner=["a", "a", "b"],
        user_label={"a": 2, "b": 0},
        user_split={"a": "train", "b": "train"},
        lexicon_severity=np.asarray([0, 3, 1]),
    )
    rows = corpus.rows()
    floor = corpus.user_floor(["a", "b"], rows)
    assert floor is not None and floor.tolist() == [3, 1]


def test_calibration_brier_and_ece() -> None:
    from classifiers.training.metrics import calibration

    y = np.asarray([True, False, True, False])
    assert calibration(y, np.asarray([1.0, 0.0, 1.0, 0.0])) == (0.0, 0.0)
    brier, ece = calibration(y, np.full(4, 0.5))  # right on average, never sure
    assert brier == pytest.approx(0.25) and ece == pytest.approx(0.0)
    brier, ece = calibration(y, np.asarray([0.9, 0.9, 0.9, 0.9]))  # over-confident
    assert brier == pytest.approx((0.01 + 0.81) / 2) and ece == pytest.approx(0.4)
