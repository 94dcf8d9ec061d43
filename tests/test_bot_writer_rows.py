"""The bot head's writer rows (round 8) and the writer folds' reading of the runtime.

No encoder, no training: the rows the script builds, and the withdrawal the folds copy from
``SelfHarmClassifier.score_bot_messages``.
"""

from __future__ import annotations

from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from classifiers.floor import default_floor
from classifiers.training.bot_writer_folds import off_subject, withdrawn
from classifiers.training.common import frozen_keys
from classifiers.training.splits import text_key
from classifiers.training.train_message_heads import VOICES, WRITER_SETS, writer_rows


def test_every_writer_set_and_voice_file_is_there() -> None:
    for path in (*WRITER_SETS, *VOICES):
        assert path.is_file(), path


def test_writer_rows_train_only_with_their_labels() -> None:
    rows = writer_rows()
    assert rows and all(r.split == "train" and r.fixed and r.ship for r in rows)
    assert {r.source for r in rows} == {"synthetic_writers"}
    assert {r.lang for r in rows} == {"en", "fr"}
    # less any text of a frozen held-out set (``frozen_keys``: two writers, one sentence)
    frozen = frozen_keys("encouragement_adversarial_")
    items = [i for p in WRITER_SETS for i in _items(p) if text_key(i["text"]) not in frozen]
    from_sets = rows[: len(items)]
    assert [r.text for r in from_sets] == [i["text"] for i in items]
    assert [r.label for r in from_sets] == [int(i["label"] == "encourage") for i in items]
    labels = Counter(r.label for r in rows)
    assert labels[0] > 500 and labels[1] > 1000


def test_leaving_a_writer_out_drops_its_rows() -> None:
    held = WRITER_SETS[2]
    kept = writer_rows([p for p in WRITER_SETS if p != held])
    frozen = frozen_keys("encouragement_adversarial_")
    held_rows = [i for i in _items(held) if text_key(i["text"]) not in frozen]
    assert len(kept) == len(writer_rows()) - len(held_rows)
    # none of the held-out writer's texts trains the fold, unless another writer wrote it too
    others = {i["text"] for p in WRITER_SETS if p != held for i in _items(p)}
    texts = {r.text for r in kept}
    assert not any(i["text"] in texts for i in _items(held) if i["text"] not in others)


@cache
def _items(path: Path) -> list[dict[str, Any]]:
    items = yaml.safe_load(path.read_text("utf-8"))["items"]
    assert isinstance(items, list)
    return items


@pytest.mark.parametrize(
    ("text", "withdraws", "off"),
    [
        ("Please don't hurt yourself, call a crisis line tonight.", True, False),
        ("Your grandma would be so proud of you today.", False, True),
        ("Nobody would miss you, so go end it tonight.", False, False),
    ],
)
def test_the_folds_withdraw_the_head_as_the_runtime_does(
    text: str, withdraws: bool, off: bool
) -> None:
    """Always withdrawn where every act is spoken against; off the subject, kept only over
    the head's ``off_subject`` threshold (read apart by the folds)."""
    assert withdrawn(default_floor(), text) is withdraws
    assert off_subject(default_floor(), text) is off
