"""Write ``minor.jsonl`` from the hand-written sentences of ``minor_sentences.py``.

    python -m classifiers.training.synthetic.minor_compose

The same deterministic composer as the other synthetic files (``compose._rows``): every
sentence is a row, and message-level rows join a carrying sentence with everyday filler
(sometimes a second carrying sentence). ``labels`` is ``["minor"]`` when a minor's
sentence is in the row, else empty; ``cues`` keeps which lists the sentences came from, so
figures can be given per cue (parents and teachers apart from adult life). Every row has
``"synthetic": true``; ``group`` names the carrying sentence, so a split keeps a sentence
and its messages together.
"""

from __future__ import annotations

from typing import Any, Final

from classifiers.training.synthetic import minor_sentences
from classifiers.training.synthetic.compose import HERE, _rows, write

SEED: Final = 20261206
OUT: Final = HERE / "minor.jsonl"


def rows() -> list[dict[str, Any]]:
    """The composed rows, binary-labelled (``minor`` or clean) with their cue lists."""
    raw = _rows("minor", "everyday", {"en": minor_sentences.EN, "fr": minor_sentences.FR}, SEED)
    out = []
    for row in raw:
        cues = row.pop("labels")
        minor = any(c in minor_sentences.MINOR_KEYS for c in cues)
        out.append({**row, "labels": ["minor"] if minor else [], "cues": cues or ["everyday"]})
    return out


def main() -> None:
    found = rows()
    write(OUT, found)
    pos = sum(1 for r in found if r["labels"])
    print(f"minor: {len(found)} rows, {pos} minors, {len(found) - pos} adults or no hint")


if __name__ == "__main__":
    main()
