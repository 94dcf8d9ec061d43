"""The sensitive head and its term lexicon: spans in the original text, the shipped weights,
the classify contract, and decisions of the real stack on invented follow-ups (asserted at
the decision level, or with margins; the figures are in the card and the quality benchmark).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from classifiers.results import SENSITIVE_CATEGORIES, SensitiveResult, TextScores, scores_json
from classifiers.sensitive import SENSITIVE_WEIGHTS, SensitiveClassifier
from classifiers.sensitive_terms import (
    SensitiveLexicon,
    SensitiveLexiconError,
    fold_same_length,
    redact_terms,
    sensitive_lexicon,
)
from classifiers.training.synthetic.sensitive_compose import OUT as SYNTHETIC


def test_terms_name_their_category_and_point_into_the_original_text() -> None:
    text = "Coucou !\nDes nouvelles de ta séance chez le psy ? Et ton découvert ?"
    spans = sensitive_lexicon().find(text)
    assert [(s.category, text[s.start : s.end]) for s in spans] == [
        ("health", "séance chez le psy"),
        ("finances", "ton découvert"),
    ]


def test_obfuscated_terms_are_read_as_a_person_reads_them() -> None:
    for text in ("How did your ch3mo session go?", "How did your che\u200bmo go?",
                 "How did your CHEMO go?", "How did your chem\u043e go?"):  # fmt: skip
        (span,) = sensitive_lexicon().find(text)
        assert span.category == "health"
        assert "go?" not in text[span.start : span.end] and text[span.start] in "cC"


def test_words_with_an_everyday_sense_need_the_phrase_that_fixes_it() -> None:
    lexicon = sensitive_lexicon()
    for text in (
        "The movie is coming out next week!",
        "Tu as découvert un nouveau resto ?",
        "J'ai branché l'enceinte bluetooth.",
        "That pregnant pause in the film was perfect.",
        "Did you bankrupt everyone at Monopoly?",
        "Let me hit you up tomorrow.",
        "Je vais prendre la parole à la réunion.",
    ):
        assert lexicon.find(text) == (), text


def test_fold_keeps_every_position() -> None:
    for text in ("Ça va, Élodie ? Œuvre — “déjà” vu…", "İstanbul ß straße", "plain ascii"):
        assert len(fold_same_length(text)) == len(text)


def test_redaction_keeps_the_category_never_the_words() -> None:
    assert redact_terms("Any news from your HIV test? And the overdraft?") == (
        "Any news from your [HEALTH] test? And the [FINANCES]?"
    )


def test_a_malformed_lexicon_is_refused(tmp_path: Path) -> None:
    for lang in ("en", "fr"):
        (tmp_path / f"sensitive_{lang}.yaml").write_text("categories: {hobbies: [chess]}\n")
    with pytest.raises(SensitiveLexiconError, match="unknown category"):
        SensitiveLexicon.load(tmp_path)
    for lang in ("en", "fr"):
        (tmp_path / f"sensitive_{lang}.yaml").write_text("categories: {health: ['.*x']}\n")
    with pytest.raises(SensitiveLexiconError, match="may start anywhere"):
        SensitiveLexicon.load(tmp_path)


def test_the_synthetic_rows_are_marked_and_labelled_with_known_categories() -> None:
    rows = [json.loads(line) for line in SYNTHETIC.read_text(encoding="utf-8").splitlines()]
    assert rows and all(r["synthetic"] is True for r in rows)
    assert {c for r in rows for c in r["labels"]} == set(SENSITIVE_CATEGORIES)
    assert {r["lang"] for r in rows} == {"en", "fr"}


@pytest.fixture(scope="module")
def head() -> SensitiveClassifier:
    if not SENSITIVE_WEIGHTS.is_file():
        pytest.skip("the sensitive head is not shipped in this checkout")
    return SensitiveClassifier.load()


def test_the_shipped_head_has_thresholds_and_a_card(head: SensitiveClassifier) -> None:
    assert set(head.thresholds) == {"any", *SENSITIVE_CATEGORIES}
    assert head.model.head.metadata["encoder_name"] == "use"
    assert SENSITIVE_WEIGHTS.with_suffix(".md").is_file()
    fake = np.zeros((1, head.model.head.input_dim), dtype=np.float32)
    (result,) = head.score(fake, ["How did your biopsy go?"])
    assert result.flagged and result.categories == ("health",) and result.score >= 0.9


def test_the_classify_contract_has_sensitive_for_both_roles() -> None:
    from classifiers.results import SelfHarmResult

    scores = TextScores(
        self_harm=SelfHarmResult(0.0, "none", False),
        sensitive=SensitiveResult(0.95, ("health",), True, {"health": 0.95}, ()),
    )
    for role in ("user", "bot"):
        out = scores_json(scores, role)
        assert out["sensitive"] == {"score": 0.95, "categories": ["health"], "flagged": True}
    assert (
        scores_json(TextScores(self_harm=SelfHarmResult(0.0, "none", False)), "bot")["sensitive"]
        is None
    )


@pytest.fixture(scope="module")
def stack() -> Any:
    if not SENSITIVE_WEIGHTS.is_file():
        pytest.skip("the sensitive head is not shipped in this checkout")
    from classifiers.stack import ClassifierStack

    loaded = ClassifierStack.load()
    assert loaded.sensitive is not None
    return loaded


def test_the_real_stack_flags_confided_follow_ups_and_leaves_benign_ones(stack: Any) -> None:
    # Invented follow-ups, none in the training data: paraphrases the lexicon does not carry.
    sensitive = [
        "Are you still feeling so low and hopeless since the doctor changed your pills?",
        "Tu as pu parler à ton psychiatre de tes idées noires ?",
    ]
    benign = ["Hey! How was the jazz concert last night?", "Alors, ce déménagement, ça avance ?"]
    results = stack.classify(sensitive + benign, "bot")
    assert [r.sensitive.flagged for r in results] == [True, True, False, False]
    assert all(r.sensitive.score < 0.5 for r in results[2:])
    assert "health" in results[0].sensitive.categories
