"""Write ``crisis.jsonl`` from ``crisis_sentences.py``: SYNTHETIC rows for the severity head.

    python -m classifiers.training.synthetic.crisis_compose

Every hand-written message is a row (``kind: sentence``); each crisis sentence is also joined
with one or two clean chat sentences of its language (``kind: message``), and each split
conversation is joined into one text (``kind: conversation``). Look-alikes are rows with
level ``none``. Deterministic (fixed seed). Every row has ``"synthetic": true`` and a
``group`` naming its hand-written sentence, so splits keep a sentence and its messages
together.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any, Final

from classifiers.training.synthetic import crisis_sentences as S

HERE: Final = Path(__file__).resolve().parent
OUT: Final = HERE / "crisis.jsonl"
SEED: Final = 20261210

CLEAN: Final[dict[str, list[str]]] = {
    "en": [
        "sorry it's so late",
        "i don't even know why i'm writing this",
        "you're the only one i talk to these days",
        "work was awful again",
        "anyway",
        "it's been a long week",
        "i'm just so tired",
        "my mom doesn't know",
        "please don't tell anyone",
        "hope you're doing ok",
        "i had to tell someone",
        "whatever",
    ],
    "fr": [
        "désolée il est tard",
        "je sais même pas pourquoi je t'écris",
        "t'es la seule à qui je parle en ce moment",
        "le boulot était horrible encore",
        "bref",
        "la semaine a été longue",
        "je suis tellement fatiguée",
        "ma mère est pas au courant",
        "le dis à personne stp",
        "j'espère que tu vas bien",
        "fallait que je le dise à quelqu'un",
        "enfin voilà",
    ],
}


def rows() -> list[dict[str, Any]]:
    rng = random.Random(SEED)
    out: list[dict[str, Any]] = []

    def add(text: str, level: str, imminent: bool, lang: str, group: str, kind: str) -> None:
        out.append(
            {
                "text": text,
                "level": level,
                "imminent": imminent,
                "lang": lang,
                "group": group,
                "kind": kind,
                "synthetic": True,
            }
        )

    tables = (("en", S.EN), ("fr", S.FR), ("en", S.EN_MORE), ("fr", S.FR_MORE))
    for t, (lang, table) in enumerate(tables):
        for level, entries in table.items():
            for i, (text, imminent) in enumerate(entries):
                group = f"crisis-{lang}-{t}-{level}-{i:03d}"
                add(text, level, imminent, lang, group, "sentence")
                for _ in range(2):
                    parts = [text, *rng.sample(CLEAN[lang], rng.choice((1, 2)))]
                    rng.shuffle(parts)
                    add(". ".join(parts), level, imminent, lang, group, "message")
    for lang, splits in (("en", S.EN_SPLIT), ("fr", S.FR_SPLIT)):
        for i, (turns, level, imminent) in enumerate(splits):
            add(" ".join(turns), level, imminent, lang, f"split-{lang}-{i:03d}", "conversation")
    for lang, texts in (("en", S.EN_NONE + S.EN_NONE_MORE), ("fr", S.FR_NONE + S.FR_NONE_MORE)):
        for i, text in enumerate(texts):
            group = f"lookalike-{lang}-{i:03d}"
            add(text, "none", False, lang, group, "sentence")
            parts = [text, rng.choice(CLEAN[lang])]
            add(". ".join(parts), "none", False, lang, group, "message")
    return out


def main() -> int:
    data = rows()
    OUT.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in data), "utf-8")
    print(f"{len(data)} synthetic rows written to {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
