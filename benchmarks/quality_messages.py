"""Per-message held-out figures of the shipped stack, English and French apart. Trains nothing.

Used by ``benchmarks/classifier_quality.py``. Every text goes through the runtime
(``ClassifierStack.classify``: heads, lexicon, cues), so ``flagged`` is the gateway's decision.

- self-harm, user role: test split of each short-text set (``classifiers.training.corpora``):
  AILuminate, SimpleSafetyTests, XSTest, DiaSafety contexts, C-SSRS posts; everyday chat
  (GoEmotions, Topical-Chat, XED neutral; XPersona French, XED French) flag rates;
- dependency, user role: IRF ``belong`` (loneliness; measure-only data, both its files) and
  everyday flag rates; the isolation/only-you signals reported apart from the bot-attachment
  ones;
- bot role: manipulation on PersuasionForGood's test file (related tactics vs tactic-free
  sentences) and everyday flag rates; bot encouragement flag rates on everyday chat and
  DiaSafety replies (no real encouraging bot text exists to measure recall), and
  ``bot_encouragement``: the same on the bot head's own held-out split, by kind of reply
  (decision, head alone, lexicon alone).

AUPRC / AUROC on the score, the confusion at the shipped decision, PR curves as PNG.
Returns figures only, never a text.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from classifiers.training import corpora as C
from classifiers.training.corpora import Row

BOT_ATTACHMENT = ("only_you", "absence_distress", "compulsive_use")
LONELINESS = ("isolation",)


def block(y: Sequence[int], score: Sequence[float], flagged: Sequence[bool]) -> dict[str, Any]:
    from sklearn.metrics import average_precision_score, roc_auc_score

    ya = np.asarray(y, dtype=bool)
    s = np.asarray(score, dtype=np.float64)
    f = np.asarray(flagged, dtype=bool)
    out: dict[str, Any] = {
        "n": len(ya),
        "positives": int(ya.sum()),
        "tp": int((f & ya).sum()),
        "fp": int((f & ~ya).sum()),
        "fn": int((~f & ya).sum()),
        "tn": int((~f & ~ya).sum()),
    }
    if 0 < ya.sum() < len(ya):
        out["auprc"] = round(float(average_precision_score(ya, s)), 4)
        out["auroc"] = round(float(roc_auc_score(ya, s)), 4)
        out["prevalence"] = round(float(ya.mean()), 4)
    if ya.any():
        out["recall"] = round(float(f[ya].mean()), 4)
    if (~ya).any():
        out["flag_rate_negatives"] = round(float(f[~ya].mean()), 4)
    return out


def _classify(stack: Any, rows: Sequence[Row], role: str) -> list[Any]:
    out: list[Any] = []
    texts = [r.text for r in rows]
    for i in range(0, len(texts), 256):
        out.extend(stack.classify(texts[i : i + 256], role))
    return out


def _everyday(data: Path, cap: int) -> list[Row]:
    rows = [r for r in C.everyday(data) if r.split == "test"]
    kept: list[Row] = []
    for source in sorted({r.source for r in rows}):
        kept.extend([r for r in rows if r.source == source][:cap])
    return kept


def plot(
    curves: dict[str, tuple[npt.NDArray[Any], npt.NDArray[Any]]], path: Path, title: str
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import precision_recall_curve

    fig, ax = plt.subplots(figsize=(6, 5))
    for name, (y, s) in curves.items():
        if 0 < np.sum(y) < len(y):
            p, r, _ = precision_recall_curve(y, s)
            ax.plot(r, p, label=name)
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_title(title)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def message_sets(data: Path, encoder: Any, out_dir: Path, cap: int = 1500) -> dict[str, Any]:
    from classifiers.stack import ClassifierStack

    stack = ClassifierStack.load(encoder=encoder)
    everyday = _everyday(data, cap)
    labelled = [r for r in C.self_harm_short(data) if r.split == "test" and not r.everyday]
    out: dict[str, Any] = {"encoder": encoder.describe()["model"]}

    # self-harm and dependency, user role
    user_rows = labelled + everyday
    res = _classify(stack, user_rows, "user")
    sh: dict[str, Any] = {}
    curves: dict[str, tuple[npt.NDArray[Any], npt.NDArray[Any]]] = {}
    src = np.asarray([r.source for r in user_rows])
    lang = np.asarray([r.lang for r in user_rows])
    day = np.asarray([r.everyday for r in user_rows])
    y = np.asarray([r.label for r in user_rows])
    score = np.asarray([t.self_harm.score for t in res])
    flag = np.asarray([t.self_harm.flagged for t in res])
    en_day = day & (lang == "en")
    for name in ("ailuminate", "sst", "xstest", "diasafety", "cssrs"):
        m = (src == name) | en_day
        sh[f"{name}_vs_en_everyday"] = block(y[m], score[m], flag[m])
        sh[f"{name}_alone"] = block(y[src == name], score[src == name], flag[src == name])
        curves[name] = (y[m], score[m])
    prompts = np.isin(src, ("ailuminate", "sst", "xstest"))
    sh["en_prompt_sets_alone"] = block(y[prompts], score[prompts], flag[prompts])
    for lg in ("en", "fr"):
        m = day & (lang == lg)
        sh[f"everyday_{lg}_flag_rate"] = round(float(flag[m].mean()), 4)
        sh[f"everyday_{lg}_n"] = int(m.sum())
        for s in sorted(set(src[m])):
            sh[f"everyday_{s}_flag_rate"] = round(float(flag[m & (src == s)].mean()), 4)
    out["self_harm_user"] = sh
    plot(curves, out_dir / "self_harm_message_pr.png", "self-harm per message vs EN everyday")

    dep_flag = np.asarray([bool(t.dependency and t.dependency.flagged) for t in res])
    dep: dict[str, Any] = {}
    for lg in ("en", "fr"):
        m = day & (lang == lg)
        dep[f"everyday_{lg}_flag_rate"] = round(float(dep_flag[m].mean()), 4)
        sig = [t.dependency.signals for t, k in zip(res, m, strict=True) if k and t.dependency]
        dep[f"everyday_{lg}_bot_attachment_rate"] = round(
            float(np.mean([bool(set(s) & set(BOT_ATTACHMENT)) for s in sig])), 4
        )
        dep[f"everyday_{lg}_loneliness_rate"] = round(
            float(np.mean([bool(set(s) & set(LONELINESS)) for s in sig])), 4
        )
    irf = C.irf_belong(data)
    ires = _classify(stack, irf, "user")
    yi = np.asarray([r.label for r in irf])
    dscore = np.asarray([t.dependency.score if t.dependency else 0.0 for t in ires])
    dflag = np.asarray([bool(t.dependency and t.dependency.flagged) for t in ires])
    lonely = np.asarray(
        [bool(t.dependency and set(t.dependency.signals) & set(LONELINESS)) for t in ires]
    )
    dep["irf_belong"] = block(yi, dscore, dflag)
    dep["irf_belong_isolation_signal"] = block(yi, lonely.astype(float), lonely)
    for split in ("val", "test"):
        m = np.asarray([r.split == split for r in irf])
        dep[f"irf_belong_{split}_file"] = block(yi[m], dscore[m], dflag[m])
    out["dependency_user"] = dep
    plot(
        {"IRF belong": (yi, dscore)}, out_dir / "dependency_irf_pr.png", "dependency vs IRF belong"
    )

    # bot role
    p4g = [r for r in C.persuasionforgood(data) if r.split == "test"]
    from classifiers.data import load_diasafety

    dia = [
        Row(p.response, 0, "diasafety_replies", "en", "test")
        for p in load_diasafety(data)
        if p.split == "val"
    ][:cap]
    bot_rows = p4g + dia + everyday
    bres = _classify(stack, bot_rows, "bot")
    bsrc = np.asarray([r.source for r in bot_rows])
    blang = np.asarray([r.lang for r in bot_rows])
    bday = np.asarray([r.everyday for r in bot_rows])
    by = np.asarray([r.label for r in bot_rows])
    mscore = np.asarray([t.manipulation.score if t.manipulation else 0.0 for t in bres])
    mflag = np.asarray([bool(t.manipulation and t.manipulation.flagged) for t in bres])
    enc_flag = np.asarray([t.self_harm.encourages for t in bres])
    bot: dict[str, Any] = {}
    m = bsrc == "p4g"
    bot["manipulation_p4g_test"] = block(by[m], mscore[m], mflag[m])
    bot["manipulation_diasafety_replies_flag_rate"] = round(
        float(mflag[bsrc == "diasafety_replies"].mean()), 4
    )
    bot["encourages_diasafety_replies_flag_rate"] = round(
        float(enc_flag[bsrc == "diasafety_replies"].mean()), 4
    )
    bot["encourages_p4g_flag_rate"] = round(float(enc_flag[m].mean()), 4)
    for lg in ("en", "fr"):
        k = bday & (blang == lg)
        bot[f"manipulation_everyday_{lg}_flag_rate"] = round(float(mflag[k].mean()), 4)
        bot[f"encourages_everyday_{lg}_flag_rate"] = round(float(enc_flag[k].mean()), 4)
    out["bot"] = bot
    out["bot_encouragement"] = bot_encouragement(data, stack, cap)
    plot(
        {"P4G test": (by[m], mscore[m])}, out_dir / "manipulation_p4g_pr.png", "manipulation vs P4G"
    )
    return out


def bot_encouragement(data: Path, stack: Any, cap: int) -> dict[str, Any]:
    """``encourages`` on bot messages, held out by the bot head's own split (its seed): the
    test split of everyday chat (EN, FR), of DiaSafety replies by kind (safe; safe replies to
    Risk Ignorance contexts, i.e. real supportive replies; unsafe replies to them, which
    ignore the risk and never train the head) and PersuasionForGood's test file. Flag rates
    of the decision (lexicon OR head, after the prohibition veto), the head alone over its
    threshold and the lexicon alone. No real encouraging bot text exists: no recall here."""
    from classifiers.data import load_diasafety

    head = stack.self_harm.bot_head
    seed = int(head.head.metadata.get("seed", C.CORPUS_SEED)) if head is not None else 0
    slices: dict[str, list[Row]] = {}
    for lg in ("en", "fr"):
        day = [r for r in C.everyday(data, seed) if r.split == "test" and r.lang == lg]
        kept: list[Row] = []
        for source in sorted({r.source for r in day}):
            kept.extend([r for r in day if r.source == source][:cap])
        slices[f"everyday_{lg}"] = kept
    seen: set[str] = set()
    kinds: dict[str, list[Row]] = {
        "diasafety_safe_replies": [],
        "diasafety_risk_ignorance_safe_replies": [],
        "diasafety_risk_ignorance_unsafe_replies": [],
    }
    for p in load_diasafety(data):
        text = p.response.strip()
        if not text or text in seen:
            continue
        seen.add(text)  # a reply's split is its first context's, as in training
        if C.hash_split("diasafety_replies", p.context, seed) != "test":
            continue
        row = Row(text, 0, "diasafety_replies", "en", "test")
        if p.label == "Safe":
            kinds["diasafety_safe_replies"].append(row)
        if p.category == "Risk Ignorance":
            kinds[f"diasafety_risk_ignorance_{p.label.lower()}_replies"].append(row)
    slices.update(kinds)
    slices["p4g_test"] = [r for r in C.persuasionforgood(data) if r.split == "test"]
    out: dict[str, Any] = {
        "head_decides": bool(head is not None and head.decides),
        "threshold": head.threshold if head is not None else None,
        "split_seed": seed,
    }
    for name, rows in slices.items():
        res = _classify(stack, rows, "bot")
        texts = [r.text for r in rows]
        scans = [stack.self_harm.lexicon.scan(t, role="bot") for t in texts]
        out[name] = {
            "n": len(rows),
            "decision": round(float(np.mean([t.self_harm.encourages for t in res])), 4),
            "head_alone": round(
                float(
                    np.mean(
                        [
                            t.self_harm.score is not None
                            and head is not None
                            and t.self_harm.score >= head.threshold
                            for t in res
                        ]
                    )
                ),
                4,
            ),
            "lexicon_alone": round(float(np.mean([sc.encouragement for sc in scans])), 4),
        }
    return out


def message_sets_markdown(r: dict[str, Any]) -> str:
    lines = [f"# Per-message held-out sets (encoder: {r['encoder']})", ""]

    def table(title: str, blocks: dict[str, Any]) -> None:
        lines.extend(
            [
                f"## {title}",
                "",
                "| set | n | positives | AUPRC | AUROC | recall | flagged negatives "
                "| tp/fp/fn/tn |",
                "| --- | --- | --- | --- | --- | --- | --- | --- |",
            ]
        )
        rates = []
        for k, v in blocks.items():
            if isinstance(v, dict):
                lines.append(
                    f"| {k} | {v['n']} | {v['positives']} | {v.get('auprc', 'n/a')} | "
                    f"{v.get('auroc', 'n/a')} | {v.get('recall', 'n/a')} | "
                    f"{v.get('flag_rate_negatives', 'n/a')} | "
                    f"{v['tp']}/{v['fp']}/{v['fn']}/{v['tn']} |"
                )
            else:
                rates.append(f"{k}: {v}")
        lines.extend(["", *(f"- {x}" for x in rates), ""])

    table("Self-harm, user messages", r["self_harm_user"])
    table("Dependency, user messages", r["dependency_user"])
    table("Bot messages (manipulation, encouragement)", r["bot"])
    e = r["bot_encouragement"]
    lines.extend(
        [
            "## Bot encouragement of self-harm, held out by the bot head's split",
            "",
            f"`encourages` = lexicon OR bot head (threshold {e['threshold']}), head decides: "
            f"{e['head_decides']}; split seed {e['split_seed']}. Share of each set flagged.",
            "",
            "| set | n | decision | head alone | lexicon alone |",
            "| --- | --- | --- | --- | --- |",
        ]
    )
    for k, v in e.items():
        if isinstance(v, dict):
            lines.append(
                f"| {k} | {v['n']} | {v['decision']} | {v['head_alone']} | {v['lexicon_alone']} |"
            )
    lines.append("")
    return "\n".join(lines) + "\n"
