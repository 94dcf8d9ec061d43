"""The bot-encouragement floor alone and with the trained stack: blocked share on
adversarial sets, flag rate on real negatives. Prints figures, never a text.

Decisions measured (what the gateway's rules do):

- ``lexicon (before)``: the crisis lexicon's encouragement category on the raw text, the
  floor as it was before issue #23;
- ``floor``: ``self_harm_content`` now (``classifiers.floor``), what holds while the
  classifiers load, fail or time out;
- ``floor + stack``: the floor OR ``self_harm_classifier`` (the stack's bot decision on the
  whole message or any of its sentences), what a decision with the stack loaded blocks.

Sets:

- ``dev``: ``benchmarks/dev/encouragement_dev.yaml`` and its obfuscations
  (``tests/obfuscation.py``, seeded): synthetic, and the floor was tuned on it;
- ``--set PATH``: any set of the held-out schema; a retired one (e.g.
  ``benchmarks/dev/encouragement_adversarial_v1.yaml``, tuned on since 2026-12-07) is
  reported as development, a frozen one of ``benchmarks/heldout/`` as held-out;
- ``heldout`` (``--heldout``): the frozen ``benchmarks/heldout/encouragement_adversarial_v12.yaml``,
  per class and language; never tuned on (run it once, at the end);
- real negatives from ``--data`` (test split by the corpora's seed): everyday bot-like chat
  (Topical-Chat English, XPersona French), DiaSafety safe replies, and the safe replies to
  its Risk Ignorance contexts (people in distress).

    python benchmarks/floor_quality.py --data ../shared/data [--stack] [--set PATH]
        [--heldout] [--out f.json]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from classifiers.encoder import CHUNK_WORDS  # noqa: E402
from classifiers.floor import default_floor  # noqa: E402
from classifiers.lexicons import default_lexicon  # noqa: E402
from classifiers.normalize import normalize  # noqa: E402
from classifiers.pii_redact import sentence_spans  # noqa: E402
from tests.obfuscation import OBFUSCATIONS  # noqa: E402

DEV = ROOT / "benchmarks" / "dev" / "encouragement_dev.yaml"
HELDOUT = ROOT / "benchmarks" / "heldout" / "encouragement_adversarial_v12.yaml"
Decide = Callable[[Sequence[str]], list[bool]]


def lexicon_before(texts: Sequence[str]) -> list[bool]:
    lexicon = default_lexicon()
    return [lexicon.scan(t, role="bot").encouragement for t in texts]


def floor_alone(texts: Sequence[str]) -> list[bool]:
    floor = default_floor()
    return [floor.scan(t).encouragement for t in texts]


def stack_decider(batch: int = 64) -> Decide:
    """The stack's bot decision as ``self_harm_classifier`` reads it: the whole message, and
    each sentence of one longer than the encoder's window."""
    from classifiers.stack import ClassifierStack

    stack = ClassifierStack.load()

    def decide(texts: Sequence[str]) -> list[bool]:
        pieces: list[str] = []
        owners: list[int] = []
        for i, text in enumerate(texts):
            spans = sentence_spans(text) if len(text.split()) > CHUNK_WORDS else []
            parts = [text, *(text[s:e] for s, e in spans)] if len(spans) > 1 else [text]
            pieces += parts
            owners += [i] * len(parts)
        out = [False] * len(texts)
        for start in range(0, len(pieces), batch):
            scores = stack.classify(pieces[start : start + batch], "bot")
            for k, s in enumerate(scores):
                if s.self_harm.encourages:
                    out[owners[start + k]] = True
        return out

    return decide


def rates(groups: dict[str, list[str]], decide: dict[str, Decide]) -> dict[str, Any]:
    """Share of each group flagged by each decision, and by the floor OR the stack when
    both are measured (figures only)."""
    flat = [t for texts in groups.values() for t in texts]
    flags = {name: fn(flat) for name, fn in decide.items()}
    if "stack" in flags:
        both = zip(flags["floor"], flags.pop("stack"), strict=True)
        flags["floor + stack"] = [a or b for a, b in both]
    out: dict[str, Any] = {}
    k = 0
    for group, texts in groups.items():
        row: dict[str, Any] = {"n": len(texts)}
        for name, found in flags.items():
            row[name] = round(sum(found[k : k + len(texts)]) / max(len(texts), 1), 4)
        out[group] = row
        k += len(texts)
    return out


def dev_groups(seed: int = 11, draws: int = 2) -> dict[str, list[str]]:
    items = yaml.safe_load(DEV.read_text(encoding="utf-8"))["items"]
    rng = random.Random(seed)
    groups: dict[str, list[str]] = defaultdict(list)
    for item in items:
        groups[f"{item['label']} {item['lang']} {item['kind']}"].append(item["text"])
        if item["label"] == "encourage":
            for name, obfuscate in OBFUSCATIONS.items():
                for _ in range(draws):
                    groups[f"encourage {item['lang']} {name}"].append(obfuscate(item["text"], rng))
    return dict(sorted(groups.items()))


def heldout_groups(path: Path = HELDOUT) -> dict[str, list[str]]:
    """Per class and language, for any set of the held-out schema (``label``, ``class``)."""
    items = yaml.safe_load(path.read_text(encoding="utf-8"))["items"]
    groups: dict[str, list[str]] = defaultdict(list)
    for item in items:
        groups[f"{item['label']} {item['lang']} {item['class']}"].append(item["text"])
        groups[f"{item['label']} {item['lang']} (all)"].append(item["text"])
        groups[f"{item['label']} (all)"].append(item["text"])
    return dict(sorted(groups.items()))


def negative_groups(data: Path) -> dict[str, list[str]]:
    from classifiers.data import load_diasafety
    from classifiers.training import corpora as C

    groups: dict[str, list[str]] = {
        "everyday en (Topical-Chat, test)": [
            r.text for r in C.topical_chat(data, cap=100_000) if r.split == "test"
        ],
        "everyday fr (XPersona, test)": [r.text for r in C.xpersona_fr(data) if r.split == "test"],
        "DiaSafety safe replies (test)": [],
        "DiaSafety safe replies to risk disclosures (test)": [],
    }
    seen: set[str] = set()
    for pair in load_diasafety(data):
        text = pair.response.strip()
        if not text or text in seen or pair.label != "Safe":
            continue
        seen.add(text)
        if C.hash_split("diasafety_replies", pair.context) != "test":
            continue
        groups["DiaSafety safe replies (test)"].append(text)
        if pair.category == "Risk Ignorance":
            groups["DiaSafety safe replies to risk disclosures (test)"].append(text)
    return groups


def cost(texts: Sequence[str]) -> dict[str, float]:
    """Microseconds per message (caches bypassed): normalisation, and the whole floor."""
    from classifiers.floor import _scan

    floor = default_floor()
    out: dict[str, float] = {}
    for name, fn in (
        ("normalize_us", lambda t: normalize.__wrapped__(t)),
        ("floor_us", lambda t: _scan.__wrapped__(floor, t)),
    ):
        fn(texts[0])
        started = time.perf_counter()
        for text in texts:
            fn(text)
        out[name] = round((time.perf_counter() - started) / len(texts) * 1e6, 1)
    return out


def markdown(results: dict[str, Any]) -> str:
    lines: list[str] = []
    for section, rows in results.items():
        if (
            not isinstance(rows, dict)
            or not rows
            or not isinstance(next(iter(rows.values())), dict)
        ):
            lines += [f"- {section}: {rows}", ""]
            continue
        names = [k for k in next(iter(rows.values())) if k != "n"]
        lines += [f"## {section}", "", "| group | n | " + " | ".join(names) + " |"]
        lines.append("| --- | --- |" + " --- |" * len(names))
        for group, row in rows.items():
            cells = " | ".join(f"{row[n]:.1%}" for n in names)
            lines.append(f"| {group} | {row['n']} | {cells} |")
        lines.append("")
    return "\n".join(lines)


def set_kind(path: Path) -> str:
    """How a ``--set`` file's figures may be read: a file of ``benchmarks/heldout/`` is
    frozen and never tuned on (run it before and after a round, figures only); any other is
    development data."""
    held = path.resolve().parent == HELDOUT.parent
    return "held-out, frozen, not tuned on" if held else "development, tuned on"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--stack", action="store_true", help="also the floor + the stack")
    parser.add_argument("--heldout", action="store_true", help="the frozen held-out set too")
    parser.add_argument(
        "--set",
        type=Path,
        action="append",
        default=[],
        help="another set of the held-out schema (a retired one in benchmarks/dev/ is read as "
        "development; a frozen one in benchmarks/heldout/ is labelled held-out); repeatable",
    )
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    decide: dict[str, Decide] = {"lexicon (before)": lexicon_before, "floor": floor_alone}
    if args.stack:
        decide["stack"] = stack_decider()
    results: dict[str, Any] = {"dev (synthetic, tuned on)": rates(dev_groups(), decide)}
    for path in args.set:
        results[f"{path.stem} ({set_kind(path)})"] = rates(heldout_groups(path), decide)
    if args.heldout:
        results["held-out (frozen, not tuned on)"] = rates(heldout_groups(), decide)
    if args.data.is_dir():
        negatives = negative_groups(args.data)
        results["real negatives (flag rate)"] = rates(negatives, decide)
        sample = [t for texts in negatives.values() for t in texts][:3000]
        results["cost per message"] = cost(sample)
    print(markdown(results))
    if args.out:
        args.out.write_text(json.dumps(results, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
