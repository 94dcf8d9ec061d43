"""Where the shipped heads doubt crisis wording: the check to rerun after a retrain.

    python benchmarks/doubt_check.py [--set benchmarks/dev/acute_crisis_v10.yaml ...]

The crisis path caps crisis wording (the keyword lexicon's or the grammar's) at indicator
where both learned heads read the message far from a crisis (``classifiers.crisis_head.
doubts``: the gated head's ``at_risk`` under ``DOUBT_AT_RISK``, the alone head's score under
``DOUBT_ALONE``). Those bounds were read against the heads of round 12 on the retired v10;
a retrained head scores differently. For every message (and turn) of the given retired sets
this prints, per language, how many crises and look-alikes the wording alone put on the
crisis path and how many of them fall under the bounds, at the shipped bounds and on a small
grid around them: a bound that doubts a crisis is too high. Development sets only (texts are
read): it refuses any file under ``benchmarks/heldout/``. Trains nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_SETS = (ROOT / "benchmarks" / "dev" / "acute_crisis_v10.yaml",)
GRID = ((0.1, 0.05), (0.3, 0.1), (0.3, 0.2))
"""(at_risk, alone) bounds read beside the shipped ones."""


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--set", type=Path, action="append", help="a retired set (repeatable)")
    args = p.parse_args(argv)
    sets = tuple(args.set or DEFAULT_SETS)
    for path in sets:
        if (ROOT / "benchmarks" / "heldout") in path.resolve().parents:
            p.error("held-out sets are read by acute_heldout.py alone (figures, never texts)")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    from benchmarks.acute_heldout import load_items, turns_of
    from classifiers.crisis_head import DOUBT_ALONE, DOUBT_AT_RISK
    from classifiers.labels import severity_index
    from classifiers.stack import ClassifierStack

    rows: list[tuple[str, bool, str]] = []  # language, crisis, text
    for path in sets:
        for item in load_items(path):
            rows += [(item["lang"], item["level"] != "none", t) for t in turns_of(item)]
    stack = ClassifierStack.load()
    harm, head = stack.self_harm, stack.self_harm.severity_head
    if head is None or head.acute is None or harm.grammar is None:
        p.error("the shipped stack has no severity head with an alone head")
    texts = [t for _, _, t in rows]
    embeddings = stack.encoder.encode(texts)
    scans = harm.score_user_messages(embeddings, texts)
    readings = [harm.grammar.read(t) for t in texts]
    facts = [r.facts for r in readings]
    at_risk = head.scores(embeddings, facts)[:, 0]
    alone = head.alone_scores(embeddings, facts)
    ideation = severity_index("ideation")
    worded = [
        max(severity_index(s.lexicon.severity), severity_index(r.severity)) >= ideation
        for s, r in zip(scans, readings, strict=True)
    ]
    print(f"sets: {', '.join(s.name for s in sets)}; shipped bounds at_risk < {DOUBT_AT_RISK}, "
          f"alone < {DOUBT_ALONE}")  # fmt: skip
    for bounds in ((DOUBT_AT_RISK, DOUBT_ALONE), *GRID):
        counts: Counter[tuple[str, bool, str]] = Counter()
        for (lang, crisis, _), w, r, a in zip(rows, worded, at_risk, alone, strict=True):
            if w:
                counts[lang, crisis, "worded"] += 1
                counts[lang, crisis, "doubted"] += bool(r < bounds[0] and a < bounds[1])
        line = "; ".join(
            f"{lang}: crises doubted {counts[lang, True, 'doubted']}/"
            f"{counts[lang, True, 'worded']}, look-alikes {counts[lang, False, 'doubted']}/"
            f"{counts[lang, False, 'worded']}"
            for lang in ("en", "fr")
        )
        print(f"at_risk < {bounds[0]}, alone < {bounds[1]}: {line}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
