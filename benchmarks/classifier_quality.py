"""Quality of the shipped classifiers on held-out data. Trains nothing.

    python benchmarks/classifier_quality.py [--data ../shared/data] [--precision int8 fp32]

Every figure is measured on rows that the heads behind it never trained on or chose a
setting on (``classifiers.training.heldout``: normalised text, and conversation, DiaSafety
context or C-SSRS user); each block's heads are named in ``blocks``.

Self-harm head (``classifiers/weights/self_harm.safetensors``), through the runtime code
(``SelfHarmClassifier``, ``UserRisk``), on the C-SSRS **test** users (user-level split, see
``classifiers.data``; posts that recur among other users' are left out), scored per post and
at user level (the running mean of the user's message logits, exactly what the gateway
keeps). A post's score and flag come from the per-message head when it ships (its threshold),
severity from the self-harm head:

- at risk = ideation, behavior or attempt (the definition the head's thresholds use); also
  indicator or worse; AUPRC, AUROC, precision/recall at the shipped thresholds;
- at-risk confusion (TP/FP/FN/TN) at the shipped thresholds;
- severity macro-F1 and confusion matrix over none/indicator/ideation/behavior/attempt,
  for the model, the lexicon alone and the fusion (the higher of the two);
- each head alone (embedding head, n-gram head) at the same levels, for comparison;
- everyday chat: share of DiaSafety validation user messages (outside Risk Ignorance) flagged,
  less those the per-message head trained or chose its threshold on (most of them: its
  split hashed DiaSafety's contexts across DiaSafety's own files).

Dependency and manipulation heads (``classifiers.training.quality_wellbeing``), on real held-out
data
only: dependency on held-out DarkBench user-retention/anthropomorphization prompts against
DiaSafety validation user messages (a proxy task), AUPRC, AUROC and the confusion at the
shipped threshold; manipulation on DiaSafety validation bot replies (false positives only:
no real manipulative outreach exists to measure recall on).

Toxicity head (``classifiers/weights/toxicity.safetensors``, ``benchmarks.toxicity_quality``):
the training script's seeded test split (MLMA English and French, ToxiGen, DiaSafety bot
replies by category, XSTest, everyday chat), English and French apart: AUPRC and AUROC of
``any`` and per label, the confusion of the flag at the shipped threshold, everyday flag rates
(bot-like chat: Topical-Chat, XPersona French; and per source).

Sensitive head (``classifiers/weights/sensitive.safetensors``, ``benchmarks.sensitive_quality``):
per special category and language, AUPRC and recall on the real test split, the synthetic
test split and the frozen held-out follow-ups, apart; flag rates on everyday chat and on
benign personal follow-ups.

Acute crisis (``benchmarks.acute_heldout``): the frozen held-out acute set (synthetic, never
tuned on) through the gateway's event path, crises split over events included: recall of the
crisis path per C-SSRS level and of ``imminent``, attempts reaching behavior or attempt,
look-alikes, English and French apart; beside it the everyday chat of the test split through
the same assessor at both operating points (``flagged``, calibrated on everyday chat; and
ideation or above, recall first) and ``imminent``.

Writes ``benchmarks/results/classifier_quality.json``, a Markdown report and PR curves as PNG
(gitignored folder). Prints no text from the data.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.acute_heldout import HELDOUT as ACUTE_HELDOUT  # noqa: E402
from classifiers.data import (  # noqa: E402
    CssrsPost,
    default_data_dir,
    load_cssrs,
    load_diasafety,
    split_users,
)
from classifiers.labels import SEVERITIES, severity_index  # noqa: E402
from classifiers.self_harm import (  # noqa: E402
    SELF_HARM_WEIGHTS,
    SelfHarmClassifier,
    SelfHarmScore,
    UserRisk,
)
from classifiers.training.corpora import Row, cssrs_group, dia_group  # noqa: E402
from classifiers.training.heldout import Block, SeenSets, block  # noqa: E402
from classifiers.training.metrics import (  # noqa: E402
    binary_report,
    calibration,
    confusion,
    format_confusion,
    macro_f1,
)

RESULTS = ROOT / "benchmarks" / "results"
RISK = severity_index("ideation")
INDICATOR = severity_index("indicator")
IntArray = npt.NDArray[np.int64]


def encoder_cache(clf: SelfHarmClassifier, precision: str) -> Any:
    """An embedding cache over the encoder the shipped heads were trained on."""
    from classifiers.cache import EmbeddingCache
    from classifiers.encoders import load_encoder
    from classifiers.stack import head_encoder_name

    name = head_encoder_name(clf)
    prec = precision if name == "minilm" else None
    return EmbeddingCache(load_encoder(name, device="cpu", precision=prec))  # type: ignore[arg-type]


@dataclass(frozen=True)
class Post:
    """A C-SSRS post as a benchmark row: its user is its group."""

    post: CssrsPost

    @property
    def text(self) -> str:
        return self.post.text

    @property
    def groups(self) -> tuple[str, ...]:
        return (cssrs_group(self.post.user),)


def user_heads(clf: SelfHarmClassifier) -> tuple[str, ...]:
    """The heads behind a user message's score and flag: the per-message head if it ships."""
    return ("self_harm_message",) if clf.message_head is not None else ("self_harm",)


def message_threshold(clf: SelfHarmClassifier) -> float:
    """The threshold of the score ``score_user_messages`` gives."""
    return clf.message_head.threshold if clf.message_head is not None else clf.message_threshold


def blocks(
    data_dir: Path, clf: SelfHarmClassifier, sets: SeenSets, split_seed: int | None
) -> dict[str, Block]:
    """C-SSRS test users' posts (both self-harm heads score them), DiaSafety validation user
    messages outside and inside Risk Ignorance (the per-message score and flag)."""
    data = load_cssrs(data_dir)
    split = split_users(data.users) if split_seed is None else split_users(data.users, split_seed)
    test = {u for u, s in split.items() if s == "test"}
    posts = [Post(p) for p in data.posts if p.user in test]
    heads = tuple(dict.fromkeys(("self_harm", *user_heads(clf))))
    pairs = load_diasafety(data_dir)
    out = {"cssrs_test_posts": block("cssrs_test_posts", heads, posts, sets)}
    for name, risk in (("everyday", False), ("risk_ignorance_contexts", True)):
        texts = sorted(
            {
                p.context
                for p in pairs
                if p.split == "val" and (p.category == "Risk Ignorance") == risk
            }
        )
        rows = [Row(t, int(risk), "diasafety", "en", "test", groups=(dia_group(t),)) for t in texts]
        out[f"diasafety_{name}"] = block(f"diasafety_{name}", user_heads(clf), rows, sets)
    return out


def severity_block(y: IntArray, pred: IntArray) -> dict[str, Any]:
    return {"macro_f1": macro_f1(y, pred), "confusion": confusion(y, pred).tolist()}


def binary_block(y: IntArray, score: npt.NDArray[np.float64], threshold: float) -> dict[str, Any]:
    r = binary_report(y >= RISK, score, threshold)
    flagged, positive = score >= threshold, y >= RISK
    brier, ece = calibration(positive, score)
    return {
        "brier": brier,
        "ece": ece,
        "confusion": {
            "tp": int((flagged & positive).sum()),
            "fp": int((flagged & ~positive).sum()),
            "fn": int((~flagged & positive).sum()),
            "tn": int((~flagged & ~positive).sum()),
        },
        "n": r.n,
        "positives": r.positives,
        "auprc": r.auprc,
        "auroc": r.auroc,
        "threshold": r.threshold,
        "precision": r.precision,
        "recall": r.recall,
        "f1": r.f1,
    }


def evaluate_precision(
    precision: str,
    data_dir: Path,
    clf: SelfHarmClassifier,
    split_seed: int | None,
    sets: SeenSets,
) -> dict[str, Any]:
    data = load_cssrs(data_dir)
    rows = blocks(data_dir, clf, sets, split_seed)["cssrs_test_posts"].rows
    kept = {(r.post.user, r.post.post_idx) for r in rows}
    by_user = data.posts_by_user()
    test_users = sorted({u for u, _ in kept})
    cache = encoder_cache(clf, precision)
    posts = [p for u in test_users for p in by_user[u] if (p.user, p.post_idx) in kept]
    texts = [p.text for p in posts]
    emb = cache.encode_documents(texts, progress=True)
    scores = clf.score_user_messages(emb, texts)

    # posts
    y_post = np.asarray([severity_index(p.severity) for p in posts], dtype=np.int64)
    post_score = np.asarray([s.score for s in scores])
    post_ind = np.asarray([sum(s.probabilities[INDICATOR:]) for s in scores])
    post_pred = np.asarray([severity_index(s.severity) for s in scores], dtype=np.int64)
    post_lex = np.asarray([severity_index(s.lexicon.severity) for s in scores], dtype=np.int64)
    post_fused = np.maximum(post_pred, post_lex)

    # users: UserRisk, message by message
    per_user: dict[str, list[SelfHarmScore]] = {u: [] for u in test_users}
    for post, result in zip(posts, scores, strict=True):
        per_user[post.user].append(result)
    labels = {u.user: severity_index(u.severity) for u in data.users}
    y_user = np.asarray([labels[u] for u in test_users], dtype=np.int64)
    risks = []
    for u in test_users:
        state = UserRisk()
        for s in per_user[u]:
            state.add(s)
        risks.append(state)
    user_score = np.asarray([r.score() for r in risks])
    user_ind = np.asarray([float(r.probabilities()[INDICATOR:].sum()) for r in risks])
    user_pred = np.asarray([severity_index(r.severity(clf)) for r in risks], dtype=np.int64)
    user_lex = np.asarray([severity_index(r.lexicon_severity) for r in risks], dtype=np.int64)
    user_fused = np.asarray([severity_index(r.fused_severity(clf)) for r in risks], dtype=np.int64)
    heads = head_blocks(clf, emb, texts, posts, test_users, y_user, y_post)

    from classifiers.stack import head_encoder_name

    name = head_encoder_name(clf)
    label = precision if name == "minilm" else name
    out: dict[str, Any] = {"precision": label, "split_seed": split_seed, "heads": heads}
    for level, y, score, ind, pred, lex, fused, thr in (
        ("users", y_user, user_score, user_ind, user_pred, user_lex, user_fused, clf.threshold),
        ("posts", y_post, post_score, post_ind, post_pred, post_lex, post_fused,
         message_threshold(clf)),
    ):  # fmt: skip
        ind_report = binary_report(y >= INDICATOR, ind, 0.5)
        lex_flag = (lex >= RISK).astype(np.float64)
        out[level] = {
            "at_risk": binary_block(y, score, thr),
            "indicator_or_worse": {"auprc": ind_report.auprc, "auroc": ind_report.auroc},
            "severity_model": severity_block(y, pred),
            "severity_lexicon": severity_block(y, lex),
            "severity_fused": severity_block(y, fused),
            "lexicon_at_risk": binary_block(y, lex_flag, 0.5),
            "_curves": {"y": (y >= RISK).tolist(), "score": score.tolist()},
        }
    return out


def head_blocks(
    clf: SelfHarmClassifier,
    emb: npt.NDArray[np.float32],
    texts: Sequence[str],
    posts: Sequence[Any],
    users: Sequence[str],
    y_user: IntArray,
    y_post: IntArray,
) -> dict[str, Any]:
    """At-risk AUPRC/AUROC of each head alone, per post and per user (mean logits)."""
    from classifiers.heads import softmax
    from classifiers.self_harm import at_risk_score

    dense, lexical, _ = clf.component_logits(emb, texts)
    owner = np.asarray([p.user for p in posts])
    out: dict[str, Any] = {}
    for name, logits in (("embedding", dense), ("ngram", lexical)):
        if logits is None:
            continue
        user_logits = np.stack([logits[owner == u].mean(axis=0) for u in users])
        out[name] = {}
        for level, y, z in (("users", y_user, user_logits), ("posts", y_post, logits)):
            r = binary_report(y >= RISK, at_risk_score(softmax(z.astype(np.float32))), 0.5)
            out[name][level] = {"auprc": r.auprc, "auroc": r.auroc}
    return out


def everyday_block(
    data_dir: Path, clf: SelfHarmClassifier, precision: str, sets: SeenSets
) -> dict[str, float | int]:
    """DiaSafety validation user messages the per-message head never saw: share flagged, over
    the head's threshold, flagged by the lexicon."""
    b = blocks(data_dir, clf, sets, None)
    cache = encoder_cache(clf, precision)
    out: dict[str, float | int] = {}
    for name in ("everyday", "risk_ignorance_contexts"):
        texts = [r.text for r in b[f"diasafety_{name}"].rows]
        scores = clf.score_user_messages(cache.encode_documents(texts), texts)
        out[f"{name}_n"] = len(texts)
        out[f"{name}_flagged"] = float(np.mean([s.flagged for s in scores]))
        out[f"{name}_over_threshold"] = float(
            np.mean([s.score >= message_threshold(clf) for s in scores])
        )
        out[f"{name}_lexicon_flagged"] = float(np.mean([s.lexicon.flagged for s in scores]))
    return out


def plot_curves(results: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import precision_recall_curve

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    for ax, level in zip(axes, ("users", "posts"), strict=True):
        for res in results:
            curve = res[level]["_curves"]
            y = np.asarray(curve["y"], dtype=bool)
            p, r, _ = precision_recall_curve(y, curve["score"])
            auprc = res[level]["at_risk"]["auprc"]
            ax.step(r, p, where="post", label=f"{res['precision']} (AUPRC {auprc:.3f})")
        prevalence = float(np.mean(results[0][level]["_curves"]["y"]))
        ax.axhline(prevalence, color="grey", ls=":", label=f"prevalence {prevalence:.2f}")
        ax.set_title(f"self_harm at risk (ideation+), C-SSRS test {level}")
        ax.set_xlabel("recall")
        ax.set_ylabel("precision")
        ax.set_ylim(0, 1.02)
        ax.legend(loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def markdown(results: list[dict[str, Any]], everyday: dict[str, Any]) -> str:
    lines = ["# Classifier quality (held-out C-SSRS test users)", ""]
    lines.append(
        "| encoder | level | n | at-risk AUPRC | AUROC | P / R at threshold | indicator+ "
        "AUPRC | severity macro-F1 (model / lexicon / fused) | Brier / ECE |"
    )
    lines.append("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for res in results:
        for level in ("users", "posts"):
            b = res[level]
            a = b["at_risk"]
            lines.append(
                f"| {res['precision']} | {level} | {a['n']} | {a['auprc']:.3f} | "
                f"{a['auroc']:.3f} | {a['precision']:.2f} / {a['recall']:.2f} | "
                f"{b['indicator_or_worse']['auprc']:.3f} | "
                f"{b['severity_model']['macro_f1']:.3f} / "
                f"{b['severity_lexicon']['macro_f1']:.3f} / "
                f"{b['severity_fused']['macro_f1']:.3f} | {a['brier']:.3f} / {a['ece']:.3f} |"
            )
    lines += [
        "",
        "Bar: at-risk AUPRC >= 0.85 and severity macro-F1 >= 0.55 at user level. Brier score "
        "and expected calibration error (10 bins) of the at-risk score read as a probability.",
        "",
    ]
    for res in results:
        for name, fig in res.get("heads", {}).items():
            lines.append(
                f"- {res['precision']}, {name} head alone: at-risk AUPRC / AUROC users "
                f"{fig['users']['auprc']:.3f} / {fig['users']['auroc']:.3f}, posts "
                f"{fig['posts']['auprc']:.3f} / {fig['posts']['auroc']:.3f}"
            )
    lines.append("")
    for res in results:
        for level in ("users", "posts"):
            cm = np.asarray(res[level]["severity_model"]["confusion"])
            a = res[level]["at_risk"]
            c = a["confusion"]
            lines += [
                f"At risk, {res['precision']}, {level}, threshold {a['threshold']:.4f}: "
                f"TP {c['tp']}, FP {c['fp']}, FN {c['fn']}, TN {c['tn']}",
                "",
                f"Confusion, model, {res['precision']}, {level} (rows true):",
                "```",
                format_confusion(cm, SEVERITIES),
                "```",
                f"Confusion, fused with the lexicon (what the stack reports), "
                f"{res['precision']}, {level} (rows true):",
                "```",
                format_confusion(np.asarray(res[level]["severity_fused"]["confusion"]), SEVERITIES),
                "```",
            ]
    lines += [
        "",
        "Everyday chat (DiaSafety val user messages the per-message head never saw; "
        "over_threshold: the per-message head's own threshold):",
        "```",
    ]
    lines += [f"{k}: {v:.4f}" if isinstance(v, float) else f"{k}: {v}" for k, v in everyday.items()]
    lines += ["```", ""]
    return "\n".join(lines)


def wellbeing_block(data_dir: Path, precision: str, sets: SeenSets) -> dict[str, Any]:
    """The dependency and manipulation heads on real held-out data (``quality_wellbeing``)."""
    from classifiers.training.quality_wellbeing import report

    return report(data_dir, encoder_cache(SelfHarmClassifier.load(), precision), sets=sets)


def wellbeing_markdown(w: dict[str, Any], precision: str) -> str:
    d, m = w["dependency"], w["manipulation"]
    tp = round(d["recall"] * d["n_positive"])
    fp = round(d["everyday_fpr"] * d["n_negative"])
    return (
        f"\n\n## Dependency head (user messages), real held-out proxy, {precision}\n\n"
        f"Positives: {d['positives']} (n={d['n_positive']}); negatives: {d['negatives']} "
        f"(n={d['n_negative']}). AUPRC {d['auprc']:.3f} (random {d['prevalence']:.3f}), "
        f"AUROC {d['auroc']:.3f}; at the shipped threshold P {d['precision']:.3f} / "
        f"R {d['recall']:.3f} / F1 {d['f1']:.3f}.\n\n"
        "```\ntrue\\pred   flagged  not\n"
        f"dependent    {tp:7d} {d['n_positive'] - tp:4d}\n"
        f"everyday     {fp:7d} {d['n_negative'] - fp:4d}\n```\n\n"
        "Recall by DarkBench category: "
        + ", ".join(
            f"{k} {v['recall']:.3f} (n={v['n']})" for k, v in d["recall_by_category"].items()
        )
        + f"\n\n## Manipulation head (bot messages), real held-out negatives, {precision}\n\n"
        f"{m['negatives']}: {m['n_flagged']} of {m['n']} flagged ({m['fpr']:.2%}); scores "
        f"mean {m['score_mean']:.3f}, p95 {m['score_p95']:.3f}, p99 {m['score_p99']:.3f}. "
        f"Recall: {m['recall_note']}.\n"
    )


def acute_block(data_dir: Path, everyday_cap: int, acute_set: Path) -> dict[str, Any]:
    """The held-out acute crisis set (or ``acute_set``) through the event path, beside
    everyday flag rates (``benchmarks.acute_heldout``; figures only)."""
    import asyncio

    from benchmarks.acute_heldout import (
        build,
        everyday_rates,
        figures,
        load_items,
        markdown,
        run_events,
        stack_flags,
    )

    items = load_items(acute_set)
    stack, assessor = build("classifier")

    async def run() -> tuple[list[dict[str, Any]], dict[str, Any]]:
        outcomes = await run_events(items, assessor)
        return outcomes, await everyday_rates(data_dir, assessor, stack, everyday_cap)

    outcomes, everyday = asyncio.run(run())
    figs = figures(items, outcomes, stack_flags(stack, items))
    return {
        "heldout": figs,
        "everyday": everyday,
        "markdown": markdown(figs, everyday, "classifier assessor") + "\n",
    }


def toxicity_block(data_dir: Path, threads: int, sets: SeenSets) -> dict[str, Any] | None:
    """The toxicity head on its held-out test split (``benchmarks.toxicity_quality``), on
    the encoder it was trained on; ``None`` when its weights are not shipped."""
    from benchmarks.toxicity_quality import figures
    from classifiers.toxicity import TOXICITY_WEIGHTS, ToxicityClassifier
    from classifiers.training.common import embedding_cache

    if not TOXICITY_WEIGHTS.is_file():
        return None
    clf = ToxicityClassifier.load()
    name = str(clf.model.head.metadata["encoder_name"])
    return figures(data_dir, embedding_cache(None, "fp32", "cpu", name, threads), clf, sets=sets)


def sensitive_block(data_dir: Path, threads: int) -> dict[str, Any] | None:
    """The sensitive head on its test split and the frozen held-out follow-ups
    (``benchmarks.sensitive_quality``); ``None`` when its weights are not shipped."""
    from benchmarks.sensitive_quality import figures
    from classifiers.sensitive import SENSITIVE_WEIGHTS, SensitiveClassifier
    from classifiers.training.common import embedding_cache

    if not SENSITIVE_WEIGHTS.is_file():
        return None
    clf = SensitiveClassifier.load()
    name = str(clf.model.head.metadata["encoder_name"])
    return figures(data_dir, embedding_cache(None, "fp32", "cpu", name, threads), clf)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--data", type=Path, default=default_data_dir())
    p.add_argument("--weights", type=Path, default=SELF_HARM_WEIGHTS)
    p.add_argument(
        "--precision",
        nargs="+",
        default=["int8"],
        choices=("int8", "fp32"),
        help="MiniLM precisions (other encoders have one setting)",
    )
    p.add_argument("--everyday-cap", type=int, default=1500, help="test rows per everyday source")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", type=Path, default=RESULTS)
    p.add_argument(
        "--acute-set",
        type=Path,
        default=ACUTE_HELDOUT,
        help="the acute set read through the event path (default: the frozen held-out one; "
        "a retired set of benchmarks/dev/ reads no frozen item)",
    )
    args = p.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    torch.set_num_threads(args.threads)
    clf = SelfHarmClassifier.load(args.weights)
    split_seed = clf.head.metadata.get("split_seed")
    sets = SeenSets(args.data, {"self_harm": clf.head.metadata})
    results = [
        evaluate_precision(prec, args.data, clf, split_seed, sets) for prec in args.precision
    ]
    everyday = everyday_block(args.data, clf, args.precision[0], sets)
    wellbeing = wellbeing_block(args.data, args.precision[0], sets)
    toxicity = toxicity_block(args.data, args.threads, sets)
    sensitive = sensitive_block(args.data, args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    from benchmarks.quality_messages import message_sets, message_sets_markdown
    from benchmarks.sensitive_quality import markdown as sensitive_markdown
    from benchmarks.toxicity_quality import markdown as toxicity_markdown

    messages = message_sets(
        args.data, encoder_cache(clf, args.precision[0]), args.out, args.everyday_cap, sets
    )
    plot_curves(results, args.out / "self_harm_pr.png")
    acute = acute_block(args.data, args.everyday_cap, args.acute_set)
    report = (
        acute["markdown"]
        + message_sets_markdown(messages)
        + markdown(results, everyday)
        + wellbeing_markdown(wellbeing, args.precision[0])
        + (toxicity_markdown(toxicity) if toxicity else "")
        + (sensitive_markdown(sensitive) if sensitive else "")
    )
    (args.out / "classifier_quality.md").write_text(report, encoding="utf-8")
    clean = [
        {k: ({kk: vv for kk, vv in v.items() if kk != "_curves"} if isinstance(v, dict) else v)
         for k, v in res.items()}
        for res in results
    ]  # fmt: skip
    (args.out / "classifier_quality.json").write_text(
        json.dumps(
            {
                "message_sets": messages,
                "self_harm": clean,
                "everyday": everyday,
                "wellbeing": wellbeing,
                "toxicity": toxicity,
                "sensitive": sensitive,
                "acute_heldout": {k: v for k, v in acute.items() if k != "markdown"},
            },
            indent=2,
        ),
        encoding="utf-8",
    )
    print(report)
    print(f"written: {args.out}/classifier_quality.{{md,json}}, {args.out}/self_harm_pr.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
