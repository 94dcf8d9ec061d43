"""The toxicity training script's pure parts: MLMA-style copies and the averaged nets.

Invented strings only; the head's quality is measured on held-out data (its card)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from classifiers.heads import MLPHead
from classifiers.training import train_toxicity as T


def test_strip_stop_words_mimics_mlma_english() -> None:
    assert T.strip_stop_words("You are a Silly goose, and I am not.") == "silly goose,"
    assert T.strip_stop_words("the a an") == ""


def test_untag_drops_placeholders_and_capitalises() -> None:
    assert T.untag("@user @user what a day @url") == "What a day"
    assert T.untag("@username stays") == "@username stays"


def test_parse_augment() -> None:
    assert T.parse_augment("none") == T.Augment(False, False, False)
    assert T.parse_augment("all") == T.Augment(True, True, True)
    assert T.parse_augment("strip,case") == T.Augment(True, False, True)
    assert T.augment_name(T.parse_augment("case,strip")) == "strip,case"
    with pytest.raises(SystemExit):
        T.parse_augment("shout")


def _row(text: str, labels: frozenset[str], source: str, lang: str, split: str) -> T.TRow:
    return T.TRow(text, labels, source, lang, split, source == "topical_chat")  # type: ignore[arg-type]


def test_augment_copies_train_rows_only() -> None:
    rows = [
        _row("Have A nice day", frozenset(), "topical_chat", "en", "train"),
        _row("@user some tweet", frozenset({"any", "insult"}), "mlma", "en", "train"),
        _row("Held out Text", frozenset(), "topical_chat", "en", "test"),
    ]
    out = T.augment(rows, Path("unused"), T.Augment(True, True, True, 0.5))
    copies = [r for r in out if r.augmented]
    assert all(r.split == "train" and r.weight == 0.5 for r in copies)
    assert {(r.text, r.augmented) for r in copies} == {
        ("nice day", "strip"),
        ("have a nice day", "case"),
        ("Some tweet", "untag"),
    }  # "@user some tweet" has no other case style: its first character is not a letter
    assert [r for r in out if not r.augmented] == rows
    assert T.augment(rows, Path("unused"), T.NO_AUGMENT) == rows


def test_mean_of_nets_averages_logits() -> None:
    rng = np.random.default_rng(0)
    nets = []
    for _ in range(3):
        w = (
            rng.standard_normal((8, 4)).astype(np.float32),
            rng.standard_normal((4, 6)).astype(np.float32),
        )
        b = (rng.standard_normal(4).astype(np.float32), rng.standard_normal(6).astype(np.float32))
        nets.append((w, b))
    x = rng.standard_normal((5, 8)).astype(np.float32)
    names = tuple(f"o{i}" for i in range(6))
    each = [MLPHead(w, b, names, (), True).logits(x) for w, b in nets]
    ws, bs = T.mean_of_nets(nets)
    merged = MLPHead(ws, bs, names, (), True).logits(x)
    np.testing.assert_allclose(merged, np.mean(each, axis=0), rtol=1e-5, atol=1e-5)
