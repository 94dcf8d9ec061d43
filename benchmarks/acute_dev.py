"""The synthetic acute-crisis development set, read for tuning: misses and false alarms with
the grammar's facts. Trains nothing; never a quality figure.

    python benchmarks/acute_dev.py [--set benchmarks/dev/acute_dev.yaml] [-v]
        [--assessor lexicon|classifier]

Each item goes through the event path as in ``benchmarks/acute_heldout.py`` (its own user,
turns one minute apart, a fresh SQLite store) with the lexicon assessor (keyword lexicon and
crisis grammar, no model: seconds, not minutes), or with ``--assessor classifier`` the
gateway's (the shipped heads too: a minute or two; ``-v`` then adds, per turn, the stack's
fused severity and whether the severity head was heard alone or on crisis material).
Prints per language the crisis path on acute items, attempts at behavior or above,
``imminent`` recall and false alarms, and look-alikes on the crisis path; with ``-v`` each
miss and false alarm with the grammar's reading of every turn. Texts are printed, so it
refuses any file under ``benchmarks/heldout/`` (the frozen set is read by
``acute_heldout.py`` alone, figures only).
The full classifier path on this set: ``acute_heldout.py --set benchmarks/dev/acute_dev.yaml``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEV = ROOT / "benchmarks" / "dev" / "acute_dev.yaml"


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--set", type=Path, default=DEV)
    p.add_argument("-v", "--verbose", action="store_true")
    p.add_argument("--assessor", choices=("lexicon", "classifier"), default="lexicon")
    args = p.parse_args(argv)
    if (ROOT / "benchmarks" / "heldout") in args.set.resolve().parents:
        p.error("the held-out set is read by acute_heldout.py alone (figures, never texts)")

    from benchmarks.acute_heldout import BEHAVIOR, build, load_items, run_events, turns_of
    from classifiers.crisis_grammar import default_grammar
    from guardrail.risk import LexiconAssessor

    items = load_items(args.set)
    stack: Any = None
    assessor: Any = LexiconAssessor()
    if args.assessor == "classifier":
        stack, assessor = build("classifier")
    outcomes = asyncio.run(run_events(items, assessor))
    grammar = default_grammar()
    counts: dict[str, dict[str, int]] = {}
    for item, out in zip(items, outcomes, strict=True):
        c = counts.setdefault(item["lang"], dict.fromkeys(
            ("acute", "crisis", "attempts", "attempt_behavior", "imminent", "imminent_hit",
             "false_imminent", "lookalikes", "lookalike_crisis"), 0))  # fmt: skip
        wrong = False
        if item["level"] == "none":
            c["lookalikes"] += 1
            c["lookalike_crisis"] += out["crisis"]
            wrong = out["crisis"]
        else:
            c["acute"] += 1
            c["crisis"] += out["crisis"]
            wrong = not out["crisis"]
            if item["level"] == "attempt":
                c["attempts"] += 1
                c["attempt_behavior"] += out["level"] >= BEHAVIOR
                wrong = wrong or out["level"] < BEHAVIOR
            if item["imminent"]:
                c["imminent"] += 1
                c["imminent_hit"] += out["imminent"]
                wrong = wrong or not out["imminent"]
            else:
                c["false_imminent"] += out["imminent"]
        if wrong and args.verbose:
            readings = " || ".join(
                f"{t} -> {grammar.read(t).level} {grammar.facts(t)}{_heads(stack, t)}"
                for t in turns_of(item)
            )
            print(f"{item.get('id', '?')} want {item['level']}/{item['imminent']} got {out}: "
                  f"{readings}")  # fmt: skip
    for lang, c in sorted(counts.items()):
        print(
            f"{lang}: crisis path {c['crisis']}/{c['acute']}, attempts at behavior+ "
            f"{c['attempt_behavior']}/{c['attempts']}, imminent {c['imminent_hit']}/"
            f"{c['imminent']} (false {c['false_imminent']}), look-alikes on the crisis path "
            f"{c['lookalike_crisis']}/{c['lookalikes']}"
        )
    return 0


def _heads(stack: Any, text: str) -> str:
    """The stack's reading of one turn, with ``--assessor classifier`` (else nothing)."""
    if stack is None:
        return ""
    harm = stack.classify([text], "user")[0].self_harm
    heard = "alone" if harm.head_alone else "material" if harm.head_material else "-"
    return f" [stack {harm.severity}, score {harm.score:.2f}, head heard: {heard}]"


if __name__ == "__main__":
    raise SystemExit(main())
