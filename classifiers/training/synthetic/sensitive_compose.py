"""Write ``sensitive.jsonl`` from the hand-written pieces in ``sensitive_sentences``.

    python -m classifiers.training.synthetic.sensitive_compose

Each topic (sensitive or benign) goes into several follow-up frames: some messages carry it
in the first line (``position: preview``), others after a neutral opener (``body``), and
one row says it as the user would (``role: user``). Whole follow-ups, hard negatives and
everyday outreach come alone and after an opener. ``group`` names the topic or sentence,
so a split keeps every message built from one topic on one side. Deterministic (seeded);
every row is ``"synthetic": true``.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any, Final

from classifiers.training.synthetic import sensitive_sentences as S

HERE: Final = Path(__file__).resolve().parent
OUT: Final = HERE / "sensitive.jsonl"
SEED: Final = 20261207
FRAMES_PER_TOPIC: Final = 4

_EN_USER = ((r"\byourself\b", "myself"), (r"\byou're\b", "I'm"), (r"\byour\b", "my"),
            (r"\byou\b", "me"))  # fmt: skip
_FR_USER = ((r"\btes\b", "mes"), (r"\bton\b", "mon"), (r"\bta\b", "ma"), (r"\bte\b", "me"),
            (r"\bt'", "m'"), (r"\btu es\b", "je suis"))  # fmt: skip


def as_user(topic: str, lang: str) -> str:
    """The topic in the user's own words: "your biopsy" -> "my biopsy"."""
    out = topic
    for pattern, repl in _EN_USER if lang == "en" else _FR_USER:
        out = re.sub(pattern, repl, out)
    return out


def _topic(t: S.Topic, category: str) -> tuple[str, list[str]]:
    if isinstance(t, str):
        return t, [category]
    return t[0], [category, *t[1:]]


_FR_CONTRACTIONS = ((r"\bde le\b", "du"), (r"\bde les\b", "des"), (r"\bà le\b", "au"),
                    (r"\bà les\b", "aux"), (r"\bDe le\b", "Du"))  # fmt: skip


def contract(text: str) -> str:
    """French articles after a preposition: "de le concert" -> "du concert"."""
    for pattern, repl in _FR_CONTRACTIONS:
        text = re.sub(pattern, repl, text)
    return text


def _join(*parts: str, newline: bool = False) -> str:
    kept = [p for p in parts if p]
    return ("\n" if newline else " ").join(kept)


def rows_for(lang: str, rng: random.Random) -> list[dict[str, Any]]:
    topics = S.TOPICS_EN if lang == "en" else S.TOPICS_FR
    frames = S.FRAMES_EN if lang == "en" else S.FRAMES_FR
    whole = S.WHOLE_EN if lang == "en" else S.WHOLE_FR
    benign = S.BENIGN_TOPICS_EN if lang == "en" else S.BENIGN_TOPICS_FR
    hard = S.HARD_NEGATIVES_EN if lang == "en" else S.HARD_NEGATIVES_FR
    everyday = S.EVERYDAY_EN if lang == "en" else S.EVERYDAY_FR
    openers = S.OPENERS_EN if lang == "en" else S.OPENERS_FR
    tails = S.TAILS_EN if lang == "en" else S.TAILS_FR
    user_frames = S.USER_FRAMES_EN if lang == "en" else S.USER_FRAMES_FR
    out: list[dict[str, Any]] = []

    def add(text: str, labels: list[str], group: str, kind: str, position: str,
            role: str = "bot") -> None:  # fmt: skip
        out.append({
            "text": text, "labels": sorted(set(labels)), "lang": lang, "level": "message",
            "group": group, "kind": kind, "position": position, "role": role,
            "synthetic": True,
        })  # fmt: skip

    def topic_rows(topic: str, labels: list[str], group: str, kind: str) -> None:
        for j, frame in enumerate(rng.sample(frames, FRAMES_PER_TOPIC)):
            said = frame.format(t=topic)
            said = contract(said[0].upper() + said[1:])
            if j % 2 == 0:
                add(_join(said, rng.choice(tails)), labels, group, kind, "preview")
            else:
                text = _join(rng.choice(openers), said, newline=rng.random() < 0.6)
                add(text, labels, group, kind, "body")
        mine = as_user(topic, lang)
        said = contract(rng.choice(user_frames).format(m=mine, M=mine[0].upper() + mine[1:]))
        add(said, labels, group, kind, "preview", role="user")

    for category in S.CATEGORIES:
        for i, t in enumerate(topics[category]):
            topic, labels = _topic(t, category)
            topic_rows(topic, labels, f"sens-{lang}-{category}-t{i:02d}", "sensitive")
        for i, sentence in enumerate(whole[category]):
            group = f"sens-{lang}-{category}-w{i:02d}"
            add(sentence, [category], group, "sensitive", "preview")
            add(_join(rng.choice(openers), sentence, newline=True), [category], group,
                "sensitive", "body")  # fmt: skip
    for i, topic in enumerate(benign):
        topic_rows(topic, [], f"ben-{lang}-t{i:02d}", "benign_personal")
    for name, table in (("hard_negative", hard), ("benign_everyday", everyday)):
        for i, sentence in enumerate(table):
            group = f"{name}-{lang}-{i:02d}"
            add(sentence, [], group, name, "none")
            add(_join(rng.choice(openers), sentence, newline=rng.random() < 0.5), [], group,
                name, "none")  # fmt: skip
    return out


def main() -> None:
    rng = random.Random(SEED)
    rows = rows_for("en", rng) + rows_for("fr", rng)
    with OUT.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    pos = sum(1 for r in rows if r["labels"])
    print(f"sensitive: {len(rows)} rows, {pos} sensitive, {len(rows) - pos} benign -> {OUT.name}")


if __name__ == "__main__":
    main()
