"""Quality of the sensitive head as shipped (head + term lexicon), per category and language.

    python benchmarks/sensitive_quality.py [--data ../shared/data] [--threads 1]

Three sets, never pooled (``classifiers.training.quality_sensitive``):

- REAL test split of the training script's rows (persona statements, MedQuAD, CounselChat,
  ConfAIde, CLINC150; negatives: real texts naming no category and everyday chat): per
  category AUPRC and recall, English (every real positive is English); LabForSims2 French
  patient lines, measure only;
- SYNTHETIC test split (follow-ups written by the same hand as the training rows: a sanity
  check, optimistic): per category and language, preview and body positions;
- the frozen HELD-OUT follow-ups (``benchmarks/heldout/sensitive_followups.yaml``, written
  before the head by someone who did not read it; nothing was trained or tuned on it): per
  category and language, position, benign kinds.

And the flag rates on everyday chat (bot-like Topical-Chat and XPersona French apart) and on
benign personal follow-ups. ``benchmarks/classifier_quality.py`` includes this report.
Writes ``benchmarks/results/sensitive_quality.{json,md}``. Prints no text from the data.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "benchmarks" / "results"


def figures(data_dir: Path, cache: Any, clf: Any) -> dict[str, Any]:
    import numpy as np

    from classifiers.training import sensitive_data as D
    from classifiers.training.quality_sensitive import heldout_report, measure_only, split_report

    def embed(texts: Sequence[str]) -> Any:
        return np.asarray(cache.encode_documents(list(texts)), dtype=np.float32)

    rows = D.load(data_dir)
    return {
        "thresholds": dict(clf.thresholds),
        "test": split_report(clf, rows, embed, "test"),
        "labforsims2": measure_only(clf, D.labforsims(data_dir), embed),
        "heldout": heldout_report(clf, embed),
    }


def _pct(v: Any) -> str:
    return "n/a" if v is None else f"{100 * float(v):.1f}%"


def _f(v: Any) -> str:
    return "n/a" if v is None else f"{float(v):.3f}"


def _table(block: dict[str, Any], title: str) -> list[str]:
    lines = [f"**{title}**", "", "| category | lang | n | AUPRC | recall (named) | flagged |",
             "| --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    for code in ("en", "fr"):
        b = block.get(code)
        if not b:
            continue
        lines.append(f"| any | {code} | {b['positives']} (+{b['negatives']} neg.) | "
                     f"{_f(b['any_auprc'])} | {_pct(b['any_recall'])} | |")  # fmt: skip
        for c, v in b["categories"].items():
            lines.append(f"| {c} | {code} | {v['n']} | {_f(v['auprc'])} | {_pct(v['recall'])} "
                         f"| {_pct(v['flagged'])} |")  # fmt: skip
    return [*lines, ""]


def markdown(fig: dict[str, Any]) -> str:
    test, held = fig["test"], fig["heldout"]
    rates = test["flag_rates"]
    lines = [
        "## Sensitive head (both roles): special categories, head + term lexicon",
        "",
        f"Thresholds: any {fig['thresholds']['any']:.4f} (validation split; see "
        "`classifiers/weights/sensitive.md`).",
        "",
        *_table(test["real"], "Real test split (English; statements, questions, stories)"),
        f"LabForSims2 French patient lines (measure only): flagged "
        f"{_pct(fig['labforsims2'].get('flagged'))}, as health "
        f"{_pct(fig['labforsims2'].get('health'))} (n={fig['labforsims2'].get('n')}).",
        "",
        *_table(
            test["synthetic"],
            "Synthetic test split (same hand as training: optimistic); "
            "negatives: benign personal follow-ups",
        ),
        "Flag rates on the test split:",
        "",
        "| set | n | flagged |",
        "| --- | --- | --- |",
        *[f"| {k} | {v['n']} | {_pct(v['rate'])} |" for k, v in rates.items() if v["n"]],
        "",
    ]
    if held:
        lines += [
            *_table(
                held["by_language"],
                "Frozen held-out follow-ups (synthetic, written before "
                "the head, never tuned on); negatives: benign personal",
            ),
            "By position (recall): "
            + ", ".join(f"{k} {_pct(v['rate'])} (n={v['n']})" for k, v in held["position"].items())
            + ".",
            "",
            "Benign held-out items flagged: "
            + ", ".join(f"{k} {_pct(v['rate'])} (n={v['n']})" for k, v in held["benign"].items())
            + ".",
            "",
            f"Flagged sensitive items naming one of their categories: "
            f"{_pct(held['category_named'])}.",
            "",
            "As the gateway reads a message (the whole text or any of its sentences flagged): "
            + ", ".join(
                f"{k} {_pct(v['rate'])} (n={v['n']})"
                for k, v in held["gateway"].items()
                if isinstance(v, dict)
            )
            + ".",
            "",
        ]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    from classifiers.data import default_data_dir

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--data", type=Path, default=default_data_dir())
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", type=Path, default=RESULTS)
    args = p.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from classifiers.sensitive import SensitiveClassifier
    from classifiers.training.common import embedding_cache

    clf = SensitiveClassifier.load()
    name = str(clf.model.head.metadata["encoder_name"])
    fig = figures(args.data, embedding_cache(None, "fp32", "cpu", name, args.threads), clf)
    report = markdown(fig)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "sensitive_quality.md").write_text(report, encoding="utf-8")
    (args.out / "sensitive_quality.json").write_text(json.dumps(fig, indent=2), encoding="utf-8")
    print(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
