"""What the minors' engagement checks flag on real held-out chat: the price of a block.

    python benchmarks/engagement_quality.py [--data ../shared/data] [--threads 1]

Washington HB 2225 § 4(1)(c) bans, for minors, engagement techniques that the manipulation
head has no output for (return prompts, excessive praise, romantic bonding, exclusive
reliance, secrecy from parents, discouraging breaks, purchases): hand-written EN/FR cues
find them (``classifiers/lexicons/manipulation_{en,fr}.yaml``). No public data holds such
bot messages, so recall cannot be measured on real data; what is measured here is how
often everyday text is flagged:

- the engagement cues alone, and the minors' packs' manipulation decision (the head at its
  calibrated threshold, French at 0.98, OR any cue), on
- DiaSafety validation-file bot replies (real chatbot replies), and the everyday test split
  (Topical-Chat, GoEmotions, XED, XPersona French: bot-like everyday chat), English and
  French apart, less every row the manipulation head trained or chose a setting on.

Writes ``benchmarks/results/engagement_quality.{md,json}``; prints no text from the data.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

ROOT: Final = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RESULTS: Final = ROOT / "benchmarks" / "results"
FRENCH_BAR: Final = 0.98
"""The minors' packs' manipulation threshold for French (the eu-ai-act pack's)."""


def rates(clf: Any, cache: Any, rows: Sequence[Any]) -> dict[str, Any]:
    """Per language: the share flagged by the engagement cues and by the minors' decision."""
    from classifiers.results import ENGAGEMENT_TACTICS

    texts = [r.text for r in rows]
    results = clf.score(cache.encode_documents(texts), texts)
    out: dict[str, Any] = {}
    for lang in ("en", "fr"):
        picked = [(r, m) for r, m in zip(rows, results, strict=True) if r.lang == lang]
        if not picked:
            continue
        cued = [m for _, m in picked if set(m.tactics) & set(ENGAGEMENT_TACTICS) and m.cued]
        bar = FRENCH_BAR if lang == "fr" else 0.0
        decided = [m for _, m in picked if m.flagged and (m.score >= bar or m.cued)]
        tactics: Counter[str] = Counter(t for m in cued for t in m.tactics)
        out[lang] = {
            "n": len(picked),
            "engagement_cues": len(cued) / len(picked),
            "engagement_cues_n": len(cued),
            "minors_manipulation_decision": len(decided) / len(picked),
            "minors_manipulation_decision_n": len(decided),
            "cue_tactics": dict(sorted(tactics.items())),
        }
    return out


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    from classifiers.data import default_data_dir

    p.add_argument("--data", type=Path, default=default_data_dir())
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", type=Path, default=RESULTS)
    args = p.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from classifiers.manipulation import ManipulationClassifier
    from classifiers.training.common import embedding_cache, everyday_rows
    from classifiers.training.heldout import SeenSets
    from classifiers.training.quality_wellbeing import dia_val_rows
    from classifiers.training.splits import keep

    clf = ManipulationClassifier.load()
    meta = clf.model.head.metadata
    cache = embedding_cache(None, "fp32", None, str(meta.get("encoder_name")), args.threads)
    seen = SeenSets(args.data).of("manipulation")
    _, replies = dia_val_rows(args.data)
    day = everyday_rows(args.data, "test", 2000)
    result = {
        "diasafety_val_replies": rates(clf, cache, keep(replies, seen)),
        "everyday_test": rates(clf, cache, keep(day, seen)),
    }
    lines = [
        "# Minors' engagement checks on real held-out chat (flag rates)",
        "",
        "| set | lang | n | engagement cues | minors' manipulation decision |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, by_lang in result.items():
        for lang, r in by_lang.items():
            lines.append(
                f"| {name} | {lang} | {r['n']} | {100 * r['engagement_cues']:.2f}% "
                f"({r['engagement_cues_n']}) | {100 * r['minors_manipulation_decision']:.2f}% "
                f"({r['minors_manipulation_decision_n']}) |"
            )
    report = "\n".join(lines) + "\n"
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "engagement_quality.md").write_text(report, encoding="utf-8")
    (args.out / "engagement_quality.json").write_text(json.dumps(result, indent=2), "utf-8")
    print(report)
    print(json.dumps({k: {lg: v["cue_tactics"] for lg, v in r.items()} for k, r in result.items()}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
