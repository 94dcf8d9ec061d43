"""No synthetic training row is a message of a frozen held-out set.

The held-out sets (``benchmarks/heldout/``) are read once per round; a head trained on one
of their messages would read it from memory. Training writers never see them, but two
writers can write the same short sentence, so the training scripts drop any synthetic row
equal to a held-out text (``classifiers.training.common.held_out``, by
``splits.text_key``: case, accents and punctuation aside). These tests hold the scripts'
row builders to it, without an encoder.
"""

from __future__ import annotations

import json

from classifiers.training.common import frozen_keys
from classifiers.training.splits import text_key
from classifiers.training.train_crisis_head import (
    SYNTHETIC_DIR,
    SYNTHETIC_FILES,
    set_numbers,
    synthetic_examples,
)
from classifiers.training.train_crisis_head import WRITER_SETS as CRISIS_WRITERS
from classifiers.training.train_message_heads import synthetic_rows, writer_rows


def test_the_guard_reads_every_frozen_set() -> None:
    assert len(frozen_keys("acute_crisis_")) > 1000
    assert len(frozen_keys("encouragement_adversarial_")) > 800
    assert text_key("Ça VA, l'ami ?") == text_key("ca va l ami")


def test_the_crisis_head_trains_on_no_heldout_message() -> None:
    frozen = frozen_keys("acute_crisis_")
    rows = synthetic_examples(0, set_numbers(CRISIS_WRITERS))
    assert len(rows) > 3000
    assert not [e for e in rows if text_key(e.text) in frozen]
    # and the guard is what keeps it so: the files hold a few sentences a held-out writer
    # wrote too (short ones: "c'est fait" kinds)
    raw = [
        json.loads(line).get("text", "")
        for name in SYNTHETIC_FILES
        for line in (SYNTHETIC_DIR / name).read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    assert any(text_key(t) in frozen for t in raw)


def test_the_bot_head_trains_on_no_heldout_message() -> None:
    frozen = frozen_keys("encouragement_adversarial_")
    rows = [*synthetic_rows(0), *writer_rows()]
    assert rows and not [r for r in rows if text_key(r.text) in frozen]
