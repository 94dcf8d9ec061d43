"""Write the synthetic JSONL files (manipulation, dependency, encouragement) from the sentences.

    python -m classifiers.training.synthetic.compose

Every hand-written sentence becomes a sentence-level example; message-level examples join a
carrying sentence with one or two clean sentences of the same language (and, for a share of
them, a second carrying sentence), so the heads see both whole messages and single sentences.
Deterministic (fixed seed). Every row has ``"synthetic": true``; ``group`` names the carrying
sentence, so cross-validation can keep a sentence and its messages in the same fold.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any, Final

from classifiers.training.synthetic import (
    dependency_sentences,
    encouragement_pairs,
    encouragement_sentences,
    manipulation_sentences,
)

HERE: Final = Path(__file__).resolve().parent
SEED: Final = 20260601


def _rows(
    name: str, clean: str, by_lang: dict[str, dict[str, list[str]]], seed: int
) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    out: list[dict[str, Any]] = []
    for lang, table in by_lang.items():
        ids = {
            (k, i): f"{name}-{lang}-{k}-{i:03d}" for k, v in table.items() for i in range(len(v))
        }
        carrying = [(k, i) for k in table if k != clean for i in range(len(table[k]))]
        cleans = [(clean, i) for i in range(len(table[clean]))]

        def add(
            parts: list[tuple[str, int]],
            level: str,
            lang: str = lang,
            table: dict[str, list[str]] = table,
            ids: dict[tuple[str, int], str] = ids,
        ) -> None:
            labels = sorted({k for k, _ in parts if k != clean})
            key = next((p for p in parts if p[0] != clean), parts[0])
            out.append(
                {
                    "text": " ".join(table[k][i] for k, i in parts),
                    "labels": labels,
                    "lang": lang,
                    "level": level,
                    "group": ids[key],
                    "synthetic": True,
                }
            )

        for key in carrying + cleans:
            add([key], "sentence")
        for key in carrying:
            for _ in range(2):
                parts = [rng.choice(cleans), key]
                if rng.random() < 0.3:
                    parts.append(rng.choice(cleans))
                if rng.random() < 0.2:
                    other = rng.choice(carrying)
                    if other[0] != key[0]:
                        parts.insert(rng.randrange(1, len(parts) + 1), other)
                add(parts, "message")
        for _ in range(len(carrying)):
            first = rng.choice(cleans)
            parts = [first, rng.choice([c for c in cleans if c != first])]
            if rng.random() < 0.3:
                parts.append(rng.choice(cleans))
            add(parts, "message")
    return out


def _merge(*tables: dict[str, list[str]]) -> dict[str, list[str]]:
    """Concatenate sentence lists per label (earlier tables first, so their ids are kept)."""
    out: dict[str, list[str]] = {}
    for table in tables:
        for k, v in table.items():
            out.setdefault(k, []).extend(v)
    return out


def write(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def main() -> None:
    m = _rows(
        "manip",
        "benign",
        {"en": manipulation_sentences.EN, "fr": manipulation_sentences.FR},
        SEED,
    )
    d = _rows(
        "dep", "none", {"en": dependency_sentences.EN, "fr": dependency_sentences.FR}, SEED + 1
    )
    e = _rows(
        "enc",
        "none",
        {
            "en": _merge(encouragement_sentences.EN, encouragement_pairs.EN),
            "fr": _merge(encouragement_sentences.FR, encouragement_pairs.FR),
        },
        SEED + 2,
    )
    write(HERE / "manipulation.jsonl", m)
    write(HERE / "dependency.jsonl", d)
    write(HERE / "encouragement.jsonl", e)
    for name, rows in (("manipulation", m), ("dependency", d), ("encouragement", e)):
        pos = sum(1 for r in rows if r["labels"])
        print(f"{name}: {len(rows)} rows, {pos} with a label, {len(rows) - pos} clean")


if __name__ == "__main__":
    main()
