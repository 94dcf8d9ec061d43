"""How often the crisis lexicon, and the serving flags built on it, fire on everyday chat.

Everyday chat is the lexicon's negatives: GoEmotions dev (Reddit comments), Topical-Chat
(valid turns), XED subtitle lines (English annotated + neutral, French projections) and
XPersona French chit-chat, all from ``../shared/data``. Reported per set and language:
the share of messages the lexicon flags as a user message (a non-negated user-category hit)
and as a bot message (encouragement), and with ``--stack`` the share the classifier stack
flags (``self_harm.flagged``, ``dependency.flagged`` for users) on a fixed sample.

This measures; nothing here is tuned to it. Usage::

    python -m benchmarks.lexicon_everyday [--data DIR] [--stack] [--sample 1500] [--json OUT]
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys
from collections.abc import Iterator
from pathlib import Path

from classifiers.data import default_data_dir
from classifiers.lexicons import default_lexicon


def _tsv_first_column(path: Path, column: int = 0) -> Iterator[str]:
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE):
            if len(row) > column and row[column].strip():
                yield row[column]


def load_sets(data: Path) -> dict[tuple[str, str], list[str]]:
    """(set, language) → texts."""
    sets: dict[tuple[str, str], list[str]] = {}
    sets[("goemotions_dev", "en")] = list(_tsv_first_column(data / "goemotions" / "dev.tsv"))
    turns: list[str] = []
    for name in ("valid_freq.json", "valid_rare.json"):
        convs = json.loads((data / "topical_chat" / name).read_text(encoding="utf-8"))
        for conv in convs.values():
            turns.extend(m["message"] for m in conv["content"] if m["message"].strip())
    sets[("topical_chat", "en")] = turns
    xed_en = list(_tsv_first_column(data / "xed" / "en-annotated.tsv"))
    xed_en += list(_tsv_first_column(data / "xed" / "neu_en.txt", column=1))
    sets[("xed", "en")] = xed_en
    sets[("xed", "fr")] = list(_tsv_first_column(data / "xed" / "fr-projections.tsv"))
    dialogues = json.loads((data / "xpersona_fr" / "fr_valid.json").read_text(encoding="utf-8"))
    sets[("xpersona", "fr")] = [t for d in dialogues for pair in d["dialogue"] for t in pair if t]
    return sets


def lexicon_rates(texts: list[str]) -> dict[str, float]:
    lex = default_lexicon()
    user = sum(lex.scan(t, role="user").flagged for t in texts)
    bot = sum(lex.scan(t, role="bot").encouragement for t in texts)
    return {"n": len(texts), "user_flagged": user / len(texts), "bot_encourages": bot / len(texts)}


def stack_rates(texts: list[str]) -> dict[str, float]:
    import torch

    from classifiers.stack import ClassifierStack

    torch.cuda.is_available = lambda: False  # CPU int8, as served without a GPU
    torch.set_num_threads(1)  # the shared CPU: fewer threads spin less
    stack = _STACK.get("s") or ClassifierStack.load()
    _STACK["s"] = stack
    scores = stack.classify(texts, "user")
    harm = sum(s.self_harm.flagged for s in scores)
    dep = sum(bool(s.dependency and s.dependency.flagged) for s in scores)
    return {
        "n": len(texts),
        "self_harm_flagged": harm / len(texts),
        "dependency_flagged": dep / len(texts),
    }


_STACK: dict[str, object] = {}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--stack", action="store_true", help="also run the classifier stack")
    parser.add_argument("--sample", type=int, default=1500, help="texts per set for --stack")
    parser.add_argument(
        "--prefix", type=int, default=None, help="only the first N of that sample (a subsample)"
    )
    parser.add_argument("--sets", nargs="*", default=None, help="set/lang names to run")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    sets = load_sets(args.data or default_data_dir())
    report: dict[str, dict[str, float]] = {}
    for (name, lang), texts in sets.items():
        if args.sets and f"{name}/{lang}" not in args.sets:
            continue
        row = lexicon_rates(texts)
        if args.stack:
            sample = random.Random(args.seed).sample(texts, min(args.sample, len(texts)))
            sample = sample[: args.prefix] if args.prefix else sample
            row |= {f"stack_{k}": v for k, v in stack_rates(sample).items()}
        report[f"{name}/{lang}"] = row
        cells = "  ".join(
            f"{k}={v:.4f}" if k[-1] != "n" else f"{k}={v:.0f}" for k, v in row.items()
        )
        print(f"{name:15s} {lang}  {cells}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
