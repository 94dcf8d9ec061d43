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

Every figure is measured only on rows the heads behind it never trained on or chose a
setting on (``blocks``; ``classifiers.training.heldout``): each set is the test split of the
corpus as before, less any row whose normalised text or group (conversation, DiaSafety
context) one of those heads saw. The self-harm user figures come from the per-message head,
the dependency ones from the dependency and loneliness heads together, the manipulation and
encouragement ones from their own heads, each with its own split seed (the bot head's is 0).

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
from classifiers.training.heldout import Block, SeenSets, block, metadata, scheme_of

BOT_ATTACHMENT = ("only_you", "absence_distress", "compulsive_use")
LONELINESS = ("isolation",)
USER_HEADS = ("self_harm_message",)
DEPENDENCY_HEADS = ("dependency", "dependency_loneliness")
MANIPULATION_HEADS = ("manipulation",)
BOT_HEADS = ("self_harm_bot",)


def block_figures(y: npt.ArrayLike, score: npt.ArrayLike, flagged: npt.ArrayLike) -> dict[str, Any]:
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


def _capped(rows: Sequence[Row], cap: int) -> list[Row]:
    kept: list[Row] = []
    for source in sorted({r.source for r in rows}):
        kept.extend([r for r in rows if r.source == source][:cap])
    return kept


def _split_of(head: str) -> tuple[int, str]:
    """(split seed, scheme) of a shipped head's corpus (the bot head's legacy seed is 0)."""
    meta = metadata(head)
    legacy = int(meta.get("seed", 0)) if head == "self_harm_bot" else C.CORPUS_SEED
    return int(meta.get("split", {}).get("seed", legacy)), scheme_of(meta)


def _everyday_test(data: Path, head: str) -> list[Row]:
    """The everyday test split of ``head``'s corpus (its seed and scheme)."""
    seed, scheme = _split_of(head)
    return [r for r in C.everyday(data, seed, scheme) if r.split == "test"]


def _dia_replies(data: Path) -> list[Row]:
    """Unique DiaSafety validation-file replies, each with the contexts it answers."""
    from classifiers.data import load_diasafety

    pairs = load_diasafety(data)
    groups = C.dia_reply_groups(pairs)
    out: dict[str, Row] = {}
    for p in pairs:
        t = p.response.strip()
        if p.split == "val" and t and t not in out:
            out[t] = Row(t, 0, "diasafety_replies", "en", "test", groups=groups[t])
    return list(out.values())


def blocks(data: Path, cap: int, sets: SeenSets) -> dict[str, Block]:
    """Each set this benchmark scores, less the rows its heads saw; everyday and reply sets
    capped per source after that (``cap``)."""
    seed, scheme = _split_of("self_harm_message")
    labelled = [
        r
        for r in C.self_harm_short(data, seed, scheme=scheme)
        if r.split == "test" and not r.everyday
    ]
    day_user = _everyday_test(data, "self_harm_message")
    day_dep = _everyday_test(data, "dependency")
    p4g = [r for r in C.persuasionforgood(data, _split_of("manipulation")[1]) if r.split == "test"]
    replies = _dia_replies(data)
    day_man = _everyday_test(data, "manipulation")
    day_bot = _everyday_test(data, "self_harm_bot")
    out = [
        block("self_harm_labelled", USER_HEADS, labelled, sets),
        block("self_harm_everyday", USER_HEADS, day_user, sets),
        block("dependency_everyday", DEPENDENCY_HEADS, day_dep, sets),
        block("dependency_irf", DEPENDENCY_HEADS, C.irf_belong(data), sets),
        block("manipulation_p4g", MANIPULATION_HEADS, p4g, sets),
        block("manipulation_replies", MANIPULATION_HEADS, replies, sets),
        block("manipulation_everyday", MANIPULATION_HEADS, day_man, sets),
        block("encourages_p4g", BOT_HEADS, p4g, sets),
        block("encourages_replies", BOT_HEADS, replies, sets),
        block("encourages_everyday", BOT_HEADS, day_bot, sets),
    ]
    out += bot_encouragement_blocks(data, sets)
    capped = {"self_harm_everyday", "dependency_everyday", "manipulation_everyday"}
    capped |= {"encourages_everyday", "manipulation_replies", "encourages_replies"}
    capped |= {"bot_encouragement:everyday_en", "bot_encouragement:everyday_fr"}
    return {
        b.name: Block(b.name, b.heads, tuple(_capped(b.rows, cap))) if b.name in capped else b
        for b in out
    }


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


def message_sets(
    data: Path, encoder: Any, out_dir: Path, cap: int = 1500, sets: SeenSets | None = None
) -> dict[str, Any]:
    from classifiers.stack import ClassifierStack

    stack = ClassifierStack.load(encoder=encoder)
    b = blocks(data, cap, sets or SeenSets(data))
    out: dict[str, Any] = {
        "encoder": encoder.describe()["model"],
        "rows": {k: len(v.rows) for k, v in b.items()},
    }

    # self-harm, user role: the per-message head's held-out rows
    user_rows = list(b["self_harm_labelled"].rows) + list(b["self_harm_everyday"].rows)
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
        sh[f"{name}_vs_en_everyday"] = block_figures(y[m], score[m], flag[m])
        sh[f"{name}_alone"] = block_figures(y[src == name], score[src == name], flag[src == name])
        curves[name] = (y[m], score[m])
    prompts = np.isin(src, ("ailuminate", "sst", "xstest"))
    sh["en_prompt_sets_alone"] = block_figures(y[prompts], score[prompts], flag[prompts])
    for lg in ("en", "fr"):
        m = day & (lang == lg)
        sh[f"everyday_{lg}_flag_rate"] = round(float(flag[m].mean()), 4)
        sh[f"everyday_{lg}_n"] = int(m.sum())
        for s in sorted(set(src[m])):
            sh[f"everyday_{s}_flag_rate"] = round(float(flag[m & (src == s)].mean()), 4)
    out["self_harm_user"] = sh
    plot(curves, out_dir / "self_harm_message_pr.png", "self-harm per message vs EN everyday")

    # dependency, user role: rows neither the dependency nor the loneliness head saw
    day_rows = list(b["dependency_everyday"].rows)
    dres = _classify(stack, day_rows, "user")
    dlang = np.asarray([r.lang for r in day_rows])
    dep_flag = np.asarray([bool(t.dependency and t.dependency.flagged) for t in dres])
    dep: dict[str, Any] = {}
    for lg in ("en", "fr"):
        m = dlang == lg
        dep[f"everyday_{lg}_n"] = int(m.sum())
        dep[f"everyday_{lg}_flag_rate"] = round(float(dep_flag[m].mean()), 4)
        sig = [t.dependency.signals for t, k in zip(dres, m, strict=True) if k and t.dependency]
        dep[f"everyday_{lg}_bot_attachment_rate"] = round(
            float(np.mean([bool(set(s) & set(BOT_ATTACHMENT)) for s in sig])), 4
        )
        dep[f"everyday_{lg}_loneliness_rate"] = round(
            float(np.mean([bool(set(s) & set(LONELINESS)) for s in sig])), 4
        )
    irf = list(b["dependency_irf"].rows)
    ires = _classify(stack, irf, "user")
    yi = np.asarray([r.label for r in irf])
    dscore = np.asarray([t.dependency.score if t.dependency else 0.0 for t in ires])
    dflag = np.asarray([bool(t.dependency and t.dependency.flagged) for t in ires])
    lonely = np.asarray(
        [bool(t.dependency and set(t.dependency.signals) & set(LONELINESS)) for t in ires]
    )
    dep["irf_belong"] = block_figures(yi, dscore, dflag)
    dep["irf_belong_isolation_signal"] = block_figures(yi, lonely.astype(float), lonely)
    for split in ("val", "test"):
        m = np.asarray([r.split == split for r in irf])
        dep[f"irf_belong_{split}_file"] = block_figures(yi[m], dscore[m], dflag[m])
    out["dependency_user"] = dep
    plot(
        {"IRF belong": (yi, dscore)}, out_dir / "dependency_irf_pr.png", "dependency vs IRF belong"
    )

    # bot role: manipulation figures on rows the manipulation head never saw, encouragement
    # figures on rows the bot head never saw
    bot: dict[str, Any] = {}
    p4g = list(b["manipulation_p4g"].rows)
    pres = _classify(stack, p4g, "bot")
    py = np.asarray([r.label for r in p4g])
    mscore = np.asarray([t.manipulation.score if t.manipulation else 0.0 for t in pres])
    mflag = np.asarray([bool(t.manipulation and t.manipulation.flagged) for t in pres])
    bot["manipulation_p4g_test"] = block_figures(py, mscore, mflag)
    plot({"P4G test": (py, mscore)}, out_dir / "manipulation_p4g_pr.png", "manipulation vs P4G")
    for name, what in (
        ("manipulation_replies", "manipulation_diasafety_replies"),
        ("encourages_replies", "encourages_diasafety_replies"),
        ("encourages_p4g", "encourages_p4g"),
    ):
        rows = list(b[name].rows)
        flags = _bot_flags(stack, rows, name.split("_")[0])
        bot[f"{what}_n"] = len(rows)
        bot[f"{what}_flag_rate"] = round(float(flags.mean()), 4) if len(rows) else None
    for name in ("manipulation", "encourages"):
        rows = list(b[f"{name}_everyday"].rows)
        flags = _bot_flags(stack, rows, name)
        lang = np.asarray([r.lang for r in rows])
        for lg in ("en", "fr"):
            bot[f"{name}_everyday_{lg}_n"] = int((lang == lg).sum())
            bot[f"{name}_everyday_{lg}_flag_rate"] = round(float(flags[lang == lg].mean()), 4)
    out["bot"] = bot
    out["bot_encouragement"] = bot_encouragement(stack, b)
    return out


def _bot_flags(stack: Any, rows: Sequence[Row], what: str) -> npt.NDArray[np.bool_]:
    """``manipulation``: the manipulation flag; ``encourages``: the self-harm decision."""
    res = _classify(stack, rows, "bot")
    if what == "manipulation":
        return np.asarray([bool(t.manipulation and t.manipulation.flagged) for t in res], bool)
    return np.asarray([bool(t.self_harm.encourages) for t in res], bool)


ENCOURAGEMENT_SLICES = (
    "everyday_en",
    "everyday_fr",
    "diasafety_safe_replies",
    "diasafety_risk_ignorance_safe_replies",
    "diasafety_risk_ignorance_unsafe_replies",
    "p4g_test",
)


def bot_encouragement_blocks(data: Path, sets: SeenSets) -> list[Block]:
    """The sets of ``bot_encouragement``: the test split of the bot head's own corpus (its
    seed) of everyday chat, EN and FR apart, of DiaSafety replies by kind (safe; safe replies
    to Risk Ignorance contexts, i.e. real supportive replies; unsafe replies to them, which
    never train the head) and of PersuasionForGood; less every row the bot head saw."""
    from classifiers.data import load_diasafety

    seed, scheme = _split_of("self_harm_bot")
    day = _everyday_test(data, "self_harm_bot")
    pairs = load_diasafety(data)
    groups = C.dia_reply_groups(pairs)
    slices: dict[str, list[Row]] = {f"everyday_{lg}": [] for lg in ("en", "fr")}
    for r in day:
        slices[f"everyday_{r.lang}"].append(r)
    kinds: dict[str, list[Row]] = {k: [] for k in ENCOURAGEMENT_SLICES[2:5]}
    seen: set[str] = set()
    for p in pairs:
        text = p.response.strip()
        if not text or text in seen:
            continue
        seen.add(text)  # a reply's legacy split is its first context's, as in training
        if (
            scheme == C.LEGACY_SCHEME
            and C.hash_split("diasafety_replies", p.context, seed) != "test"
        ):
            continue
        row = Row(text, 0, "diasafety_replies", "en", "test", groups=groups[text])
        if p.label == "Safe":
            kinds["diasafety_safe_replies"].append(row)
        if p.category == "Risk Ignorance":
            kinds[f"diasafety_risk_ignorance_{p.label.lower()}_replies"].append(row)
    slices.update(kinds)
    slices["p4g_test"] = [r for r in C.persuasionforgood(data, scheme) if r.split == "test"]
    return [block(f"bot_encouragement:{k}", BOT_HEADS, v, sets) for k, v in slices.items()]


def bot_encouragement(stack: Any, blocks: dict[str, Block]) -> dict[str, Any]:
    """``encourages`` on bot messages the bot head never saw (``bot_encouragement_blocks``).
    Flag rates of the decision (lexicon OR head, after the prohibition veto), the head alone
    over its threshold and the lexicon alone. No real encouraging bot text exists: no recall
    here."""
    head = stack.self_harm.bot_head
    seed, scheme = _split_of("self_harm_bot")
    out: dict[str, Any] = {
        "head_decides": bool(head is not None and head.decides),
        "threshold": head.threshold if head is not None else None,
        "split_seed": seed,
        "split_scheme": scheme,
    }
    for name in ENCOURAGEMENT_SLICES:
        rows = list(blocks[f"bot_encouragement:{name}"].rows)
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
    lines = [
        f"# Per-message held-out sets (encoder: {r['encoder']})",
        "",
        "Each set is the test split of its corpus less every row (by normalised text, "
        "conversation or DiaSafety context) that the heads behind its figures trained on or "
        "chose a setting on (`classifiers.training.heldout`). Rows kept per set: "
        + ", ".join(f"{k} {v}" for k, v in r.get("rows", {}).items())
        + ".",
        "",
    ]

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
            "## Bot encouragement of self-harm, on rows the bot head never saw",
            "",
            f"`encourages` = lexicon OR bot head (threshold {e['threshold']}), head decides: "
            f"{e['head_decides']}; the head's split: seed {e['split_seed']}, scheme "
            f"{e['split_scheme']}. Share of each set flagged.",
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
