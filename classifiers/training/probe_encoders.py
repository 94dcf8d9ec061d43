"""Encoder comparison by linear probes: frozen encoder + logistic regression, per language.

    python -m classifiers.training.probe_encoders --data ../shared/data --encoders minilm use e5

For each encoder (and the concatenation of pairs), on the seeded splits of
``classifiers.training.corpora`` (train fits, val picks C and the threshold, test reports):

- self-harm per message, English short texts (AILuminate, SimpleSafetyTests, XSTest,
  DiaSafety contexts, everyday chat as negatives), trained with and without C-SSRS posts;
  test AUPRC/AUROC on the short sets, and the flag rate of everyday chat, English and
  French apart, at the threshold that flags 1% of held-out English+French everyday chat;
- French transfer: an XED sadness probe trained on English lines, tested on the French side
  of the aligned pairs (films held out);
- loneliness: a probe trained on the synthetic isolation/only-you rows plus everyday
  negatives, measured on IRF ``belong`` (measure-only data, never trained on).

Embeddings are cached under ``.cache/embeddings`` (one file per encoder), so reruns cost
seconds. Sizes are capped (``--cap``) so an encoder's first pass fits in minutes. Writes a
JSON report; prints figures only, never a text.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from classifiers.data import default_data_dir
from classifiers.training import corpora as C
from classifiers.training.corpora import Row

Matrix = npt.NDArray[np.float32]
C_GRID = (0.01, 0.03, 0.1, 0.3, 1.0)
FLAG_RATE = 0.01
PROMPT_SETS = ("ailuminate", "sst", "xstest")


def capped(rows: list[Row], cap: int, seed: int) -> list[Row]:
    """At most ``cap`` rows per (source, label), seeded; positives are all kept. (The same
    draw for a given cap and seed, so cached embeddings serve every rerun.)"""
    rng = np.random.default_rng(seed)
    out: list[Row] = []
    for key in sorted({(r.source, r.label) for r in rows}):
        group = [r for r in rows if (r.source, r.label) == key]
        if key[1] == 0 and len(group) > cap:
            idx = rng.choice(len(group), cap, replace=False)
            group = [group[i] for i in sorted(idx)]
        out.extend(group)
    return out


def synthetic_loneliness(seed: int) -> list[Row]:
    from classifiers.training.common import SYNTHETIC_DIR, load_synthetic

    rows = load_synthetic(
        SYNTHETIC_DIR / "dependency.jsonl",
        ("only_you", "isolation", "absence_distress", "compulsive_use"),
    )
    return [
        Row(
            r.text,
            int(bool({"isolation", "only_you"} & set(r.labels))),
            "synthetic_dependency",
            "fr" if r.lang == "fr" else "en",
            C.hash_split("synthetic_dependency", r.group, seed),
            1.0,
            True,
        )
        for r in rows
    ]


def fit_probe(
    x: Matrix, y: npt.NDArray[np.int64], w: npt.NDArray[np.float64], c: float, seed: int
) -> Any:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(
        StandardScaler(),
        LogisticRegression(C=c, class_weight="balanced", max_iter=2000, random_state=seed),
    )
    model.fit(x, y, logisticregression__sample_weight=w)
    return model


def pr(y: Sequence[int], s: npt.NDArray[np.float64]) -> dict[str, float | int]:
    from sklearn.metrics import average_precision_score, roc_auc_score

    ya = np.asarray(y)
    if not len(ya) or ya.min() == ya.max():
        return {"n": len(ya), "positives": int(ya.sum())}
    return {
        "n": len(ya),
        "positives": int(ya.sum()),
        "auprc": round(float(average_precision_score(ya, s)), 4),
        "auroc": round(float(roc_auc_score(ya, s)), 4),
    }


def probe(
    rows: list[Row],
    x: Matrix,
    train_filter: Any,
    seed: int,
) -> dict[str, Any]:
    """Fit on train rows passing ``train_filter``, choose C on val AUPRC of the short sets,
    threshold at 1% of val everyday chat; report test figures."""
    split = np.asarray([r.split for r in rows])
    y = np.asarray([r.label for r in rows], dtype=np.int64)
    w = np.asarray([r.weight for r in rows], dtype=np.float64)
    lang = np.asarray([r.lang for r in rows])
    source = np.asarray([r.source for r in rows])
    everyday = np.asarray([r.everyday for r in rows])
    tr = (split == "train") & np.asarray([bool(train_filter(r)) for r in rows])
    short = source != "cssrs"
    best: tuple[float, float, Any] | None = None
    for c in C_GRID:
        model = fit_probe(x[tr], y[tr], w[tr], c, seed)
        v = (split == "val") & short & (lang == "en")
        ap = pr(y[v], model.predict_proba(x[v])[:, 1]).get("auprc", 0.0)
        if best is None or ap > best[0]:
            best = (float(ap), c, model)
    assert best is not None
    _, c, model = best
    s = model.predict_proba(x)[:, 1]
    cal = (split == "val") & everyday
    threshold = float(np.quantile(s[cal], 1.0 - FLAG_RATE))
    out: dict[str, Any] = {"c": c, "threshold": threshold}
    for name, mask in (
        ("test_en_short", (split == "test") & short & (lang == "en")),
        ("test_en_labelled_sets", (split == "test") & short & (lang == "en") & ~everyday),
        ("test_en_prompt_sets", (split == "test") & np.isin(source, PROMPT_SETS)),
        ("test_diasafety", (split == "test") & (source == "diasafety")),
        ("test_cssrs_posts", (split == "test") & (source == "cssrs")),
    ):
        out[name] = pr(y[mask], s[mask])
        pos = mask & (y == 1)
        if pos.any():
            out[name]["recall_at_threshold"] = round(float((s[pos] >= threshold).mean()), 4)
    for lg in ("en", "fr"):
        m = (split == "test") & everyday & (lang == lg)
        out[f"test_everyday_{lg}_flag_rate"] = round(float((s[m] >= threshold).mean()), 4)
    return out


def transfer(en: list[Row], fr: list[Row], x_en: Matrix, x_fr: Matrix, seed: int) -> dict[str, Any]:
    def arr(rows: list[Row]) -> tuple[npt.NDArray[Any], npt.NDArray[np.int64]]:
        return (
            np.asarray([r.split for r in rows]),
            np.asarray([r.label for r in rows], dtype=np.int64),
        )

    s_en, y_en = arr(en)
    s_fr, y_fr = arr(fr)
    best: tuple[float, Any] | None = None
    for c in C_GRID:
        m = fit_probe(
            x_en[s_en == "train"], y_en[s_en == "train"], np.ones((s_en == "train").sum()), c, seed
        )
        ap = pr(y_en[s_en == "val"], m.predict_proba(x_en[s_en == "val"])[:, 1]).get("auprc", 0.0)
        if best is None or ap > best[0]:
            best = (float(ap), m)
    assert best is not None
    m = best[1]
    return {
        "en_test": pr(y_en[s_en == "test"], m.predict_proba(x_en[s_en == "test"])[:, 1]),
        "fr_test": pr(y_fr[s_fr == "test"], m.predict_proba(x_fr[s_fr == "test"])[:, 1]),
    }


def loneliness(
    syn: list[Row],
    x_syn: Matrix,
    neg: list[Row],
    x_neg: Matrix,
    irf: list[Row],
    x_irf: Matrix,
    seed: int,
) -> dict[str, Any]:
    tr_neg = np.asarray([r.split == "train" for r in neg])
    x = np.vstack([x_syn, x_neg[tr_neg]])
    y = np.concatenate([[r.label for r in syn], np.zeros(int(tr_neg.sum()))]).astype(np.int64)
    m = fit_probe(x, y, np.ones(len(y)), 0.1, seed)
    y_irf = [r.label for r in irf]
    return {"irf_belong_all": pr(y_irf, m.predict_proba(x_irf)[:, 1])}


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--data", type=Path, default=default_data_dir())
    p.add_argument("--encoders", nargs="+", default=["minilm", "use", "e5"])
    p.add_argument("--concat", nargs="*", default=["minilm+use", "use+e5"])
    p.add_argument("--cap", type=int, default=1500, help="negatives kept per source")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", type=Path, default=Path("benchmarks/results/probe_encoders.json"))
    p.add_argument(
        "--short-only",
        action="store_true",
        help="skip the long posts (C-SSRS, IRF): for the slow encoders",
    )
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    from classifiers.cache import EmbeddingCache
    from classifiers.encoders import load_encoder

    rows = capped(C.self_harm_short(args.data), args.cap, args.seed)
    cssrs = [r for r in rows if r.source == "cssrs"]
    rows = [r for r in rows if r.source != "cssrs"]
    if not args.short_only:
        rows += capped(cssrs, args.cap, args.seed)[: 2 * args.cap]
    pairs_en, pairs_fr = C.xed_pairs(args.data)
    irf = [] if args.short_only else C.irf_belong(args.data)
    syn = synthetic_loneliness(args.seed)
    neg = [r for r in rows if r.everyday]
    feats: dict[str, dict[str, Matrix]] = {}
    report: dict[str, Any] = {
        "sizes": {"self_harm_rows": len(rows), "xed_pairs": len(pairs_en), "irf": len(irf)}
    }
    for name in args.encoders:
        t0 = time.perf_counter()
        enc = load_encoder(name, device="cpu", precision="int8", threads=args.threads)
        cache = EmbeddingCache(enc)
        prog = not args.quiet
        feats[name] = {
            "rows": cache.encode_documents(C.texts(rows), progress=prog),
            "pairs_en": cache.encode_documents(C.texts(pairs_en), progress=prog),
            "pairs_fr": cache.encode_documents(C.texts(pairs_fr), progress=prog),
            "irf": cache.encode_documents(C.texts(irf), progress=prog),
            "syn": cache.encode_documents(C.texts(syn), progress=prog),
        }
        report.setdefault("encode_seconds", {})[name] = round(time.perf_counter() - t0, 1)
    for combo in args.concat:
        parts = combo.split("+")
        if all(q in feats for q in parts):
            feats[combo] = {k: np.hstack([feats[q][k] for q in parts]) for k in feats[parts[0]]}
    for name, f in feats.items():
        neg_x = f["rows"][[i for i, r in enumerate(rows) if r.everyday]]
        report[name] = {
            "self_harm_short_only": probe(
                rows, f["rows"], lambda r: r.source != "cssrs", args.seed
            ),
            "xed_sadness_transfer": transfer(
                pairs_en, pairs_fr, f["pairs_en"], f["pairs_fr"], args.seed
            ),
        }
        if not args.short_only:
            report[name]["self_harm_with_cssrs"] = probe(rows, f["rows"], lambda r: True, args.seed)
            report[name]["loneliness_synthetic_to_irf"] = loneliness(
                syn, f["syn"], neg, neg_x, irf, f["irf"], args.seed
            )
        print(json.dumps({name: report[name]}))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
