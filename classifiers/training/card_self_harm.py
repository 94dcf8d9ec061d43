"""The self-harm heads' model card (Markdown), rendered from the weight file's metadata.

Kept apart from the training script so that the card's wording lives in one small place; the
figures all come from ``meta`` (written by ``classifiers.training.train_self_harm``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from classifiers.training.metrics import format_confusion

BAR_AUPRC = 0.85
BAR_MACRO_F1 = 0.55


def _row(name: str, m: dict[str, Any]) -> str:
    fused = m.get("severity_macro_f1_fused")
    return (
        f"| {name} | {m['n']} | {m['at_risk_auprc']:.3f} | {m['at_risk_auroc']:.3f} | "
        f"{m['indicator_or_worse_auprc']:.3f} | {m['severity_macro_f1']:.3f} | "
        f"{'-' if fused is None else f'{fused:.3f}'} | "
        f"{m['at_risk_precision']:.2f} / {m['at_risk_recall']:.2f} |"
    )


def _tried(meta: dict[str, Any]) -> list[str]:
    lines = [
        "| embedding C | n-gram C | embedding weight | severity rule | OOF at-risk AUPRC "
        "| cross-seed macro-F1 |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for t in sorted(meta["selection"]["tried"], key=lambda t: -(t["auprc"] + t["macro_f1"]))[:12]:
        lines.append(
            f"| {t['c']} | {t['c_lexical']} | {t['embedding_weight']} | {t['rule']} | "
            f"{t['auprc']:.3f} | {t['macro_f1']:.3f} |"
        )
    return lines


def model_card(meta: dict[str, Any]) -> str:
    v, cv = meta["metrics"]["val"], meta["metrics"]["train_oof"]
    thr = meta["thresholds"]
    fusion = meta["fusion"]
    vu = v["users"]
    reached = vu["at_risk_auprc"] >= BAR_AUPRC and vu["severity_macro_f1"] >= BAR_MACRO_F1
    lines = [
        "# Model card: self_harm heads",
        "",
        f"Files: `self_harm.safetensors` (embedding head, {meta['n_parameters']} parameters, "
        f"float32, {meta['bytes']['dense']} bytes) and `{fusion['lexical_file']}` (n-gram head, "
        f"{meta['vocabulary']['terms']} terms, {meta['n_parameters_lexical']} parameters, "
        f"float16, {meta['bytes']['lexical']} bytes). Trained {meta['trained_at']} by "
        f"`python -m classifiers.training.train_self_harm` (seed {meta['seed']}, split seed "
        f"{meta['split_seed']}).",
        "",
        "## What it does",
        "Scores **user** messages for self-harm risk: a score, P(ideation or worse), and a "
        "severity among none, indicator, ideation, behavior, attempt (the Columbia scale as "
        "graded in the C-SSRS Reddit data; its *Supportive* users are the `none` level). Two "
        "linear heads, fused by a weighted sum of logits "
        f"({fusion['embedding_weight']:.2f} x embedding head + "
        f"{fusion['lexical_weight']:.2f} x n-gram head):",
        "- embedding head: multinomial logistic regression on the shared sentence embedding "
        f"({meta.get('encoder', 'MiniLM')}, `{meta.get('encoder_name', 'minilm')}`) and 8 "
        "lexicon features (`classifiers/lexicons/`);",
        "- n-gram head: multinomial logistic regression on TF-IDF word 1-2-grams and character "
        "2-5-grams (`classifiers/ngrams.py`; vocabulary from the train users' posts, "
        f"{meta['vocabulary']['words']} + {meta['vocabulary']['chars']} most frequent terms).",
        "",
        "Both are trained at **user level** on the mean features of a user's posts; being "
        "linear, averaging a user's per-message fused logits (`classifiers.self_harm.UserRisk`) "
        "gives exactly the user-level prediction. Severity is "
        + (
            "ordinal: the expected severity under the fused probabilities, cut at "
            f"{[round(c, 3) for c in meta['severity_cuts']]}."
            if meta["severity_rule"] == "ordinal"
            else "the argmax of the fused logits plus per-class offsets "
            f"{[round(b, 2) for b in meta['decision_bias']]}."
        )
        + " Bot messages are checked by the lexicon only (encouragement/instructions).",
        "",
        "## Data and licences",
        f"- C-SSRS Reddit 500 (Gaur et al. 2019), {meta['data']['cssrs']['licence']}, "
        f"ship: {'yes' if meta['data']['cssrs']['ship'] else 'no'}. 400 users split by user, "
        "stratified by label, 60/20/20 (train 240 / val 80 / test 80); trained on train "
        "users only; post labels are the user's label (weak).",
    ]
    if meta["data"].get("diasafety"):
        d = meta["data"]["diasafety"]
        lines.append(
            f"- DiaSafety (Sun et al. 2022), {d['licence']}, ship: "
            f"{'yes' if d['ship'] else 'no'}: {d['n_train']} user messages from its train split "
            "outside *Risk Ignorance*, as one-message `none` users (everyday chat: better "
            f"negatives), total weight {d['weight']} x the C-SSRS `none` class, in both heads."
        )
    lines += [
        "- No synthetic examples.",
        "",
        "## Metrics (held-out: validation users; never the test users)",
        "At risk = ideation, behavior or attempt. Precision/recall at the user threshold "
        "(users) or message threshold (posts). Post labels are the user's label. The test "
        "users are reported once by `benchmarks/classifier_quality.py`.",
        "",
        "| set | n | at-risk AUPRC | at-risk AUROC | indicator+ AUPRC | severity macro-F1 "
        "(model) | severity macro-F1 (fused with lexicon) | at-risk P / R |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
        _row("val users (fused)", vu),
        _row("val users, embedding head alone", v["users_embedding_head"]),
        _row("val users, n-gram head alone", v["users_lexical_head"]),
        _row("val posts (fused)", v["posts"]),
        _row("train users, out of fold", cv["users"]),
        _row("train posts, out of fold", cv["posts"]),
        "",
        f"At-risk prevalence: {vu['at_risk_prevalence']:.2f} of validation users "
        "(the AUPRC of a random score). *Fused* severity is the higher of the model's and the "
        "lexicon's (the highest lexicon hit over the user's posts): what the classifier stack "
        "reports (`SelfHarmResult.severity`, `UserRisk.fused_severity`); the severity rule is "
        "tuned for it. With 81 validation users an AUPRC moves by about "
        "+-0.05 from one sample of users to another: the out-of-fold rows are steadier.",
    ]
    if "everyday_fpr" in v:
        lines.append(
            f"Everyday chat (DiaSafety val user messages outside Risk Ignorance, "
            f"n={v['everyday_n']}): {100 * v['everyday_fpr']:.1f}% flagged at the message "
            "threshold."
        )
    for name, block in (("users", vu), ("posts", v["posts"])):
        c = block["at_risk_confusion"]
        lines += [
            "",
            f"Validation {name}, at risk at the chosen threshold: TP {c['tp']}, FP {c['fp']}, "
            f"FN {c['fn']}, TN {c['tn']}. Fused severity confusion (rows true, columns "
            "predicted):",
            "```",
            format_confusion(np.asarray(block.get("confusion_fused", block["confusion"]))),
            "```",
        ]
    lines += [
        "",
        "## Thresholds and decision settings (chosen on training users only)",
        f"- `user_at_risk` = {thr['user_at_risk']:.4f}: best F1 for at-risk users (out of fold).",
        f"- `message_at_risk` = {thr['message_at_risk']:.4f}: a single message's threshold, "
        "reached by 2% of the everyday training messages (best F1 on posts would flag nearly "
        "every post: post labels are the user's). Used only when the per-message head "
        "(`self_harm_message.safetensors`, its own card) is absent: that head gives a user "
        "message's score and flag, with a threshold at 1% of held-out everyday chat.",
        f"- `message_at_risk_recall90` = {thr['message_at_risk_recall90']:.4f}: 90% recall "
        "of at-risk posts.",
        f"- severity rule `{meta['severity_rule']}`"
        + (
            f", cuts {[round(c, 4) for c in meta['severity_cuts']]} on the expected severity"
            if meta["severity_cuts"]
            else f", offsets {[round(b, 2) for b in meta['decision_bias']]}"
        )
        + ", tuned for macro-F1 of the fused severity (model raised to the lexicon's level) on "
        "the pooled out-of-fold logits of both fold seeds.",
        f"- L2 strengths C = {meta['c']} (embedding), {meta['c_lexical']} (n-grams) and "
        f"the fusion weight, chosen by: {meta['selection']['criterion']}. Best settings tried:",
        "",
        *_tried(meta),
        "",
        "## What was tried (cheap CPU methods)",
        "- TF-IDF n-grams at user level (word + character), alone and fused with the "
        "embedding head (table above; weight 1.0 = embedding head alone, 0.0 = n-grams alone).",
        "- Ordinal severity (expected severity + tuned cuts) against argmax + per-class "
        "offsets; class-balanced weights throughout; everyday-chat negatives from DiaSafety "
        "(without them the out-of-fold selection score is the same, 1.125, but the message "
        "threshold could not be set against everyday chat).",
        "- Lexicon fusion: the highest lexicon severity over a user's posts alone has an "
        "out-of-fold macro-F1 of about 0.33; raising the model's severity to it gains about "
        "+0.05 out of fold, hence the decision tuned for the fused severity. A stacked "
        "second stage on [head logits, lexicon level] gained AUPRC out of fold but lost "
        "macro-F1 on validation users: not shipped.",
        "- In exploration (not shipped): TF-IDF of each user's concatenated posts (out-of-fold "
        "AUPRC about 0.85 but no better on validation users, and its running state would be a "
        "term-count vector per user), post-level training aggregated by mean logits, ridge "
        "regression on the severity index: none lifted out-of-fold macro-F1 above about 0.35.",
        "- Multiple-instance user features from per-post out-of-fold logits, all fixed-size "
        "running states (not shipped): per-class max of post logits, share of posts per argmax "
        "class, max and top-3 mean of the per-post expected severity, lexicon category shares "
        "and maxima, highest lexicon level, log(post count); second stage multinomial or "
        "ordinal (4 binary 'level >= k' models), class-balanced, C 0.01-1, decision tuned on "
        "the other folds. Fused macro-F1 on train users (5-fold, decision tuned out of fold): "
        "mean-logit baseline 0.369 (sd 0.012); best, [mean, max] logits + ordinal binaries, "
        "0.378 (sd 0.017), within noise after trying about 50 settings; the full feature set "
        "0.35-0.36. Log-sum-exp pooling (beta 0.5-4), top-k mean (k 1-5) and mean + a x (max "
        "- mean) pooling: 0.36-0.38. Max pooling does lift out-of-fold at-risk AUPRC (0.808 "
        "to about 0.835), not the target here.",
        "- LoRA fine-tuning of the shared encoder on CPU (`python -m classifiers."
        "experiment_lora`: rank 8 on every linear layer of the six transformer layers, train "
        "users only, then this recipe on the adapted embeddings; validation users, severity "
        "cuts tuned on half of them and read on the other half, 10 repeats, 9 settings of C "
        "and fusion weight). Frozen encoder: mean at-risk AUPRC 0.823, mean fused macro-F1 "
        "0.326 (best 0.361). User-level training (normalised mean of 8 random post chunks, 6 "
        "epochs, 471 s): 0.805 and 0.338 (best 0.354). Post-level training on weak labels (2 "
        "epochs, 225 s): 0.800 and 0.342 (best 0.372). The adapters fit the 240 training users "
        "(loss 1.82 to 0.53) and lose at-risk AUPRC on new users; not shipped (they would "
        "also change the embedding every other head reads).",
        "- Other features, nested 5-fold CV on train + validation users (321, decision tuned "
        "inside each fold): mean-logit baseline 0.363 (sd 0.015). Pronoun, tense and length "
        "rates per post: within noise. Per-lexicon-level offsets on the expected severity "
        "instead of the max rule: 0.332-0.337, worse. Ignoring lexicon hits in clauses "
        "addressed to 'you' (supportive users quote crisis words): 0.392 (sd 0.006), but it "
        "also drops 'you make me want to die'; keeping hits with a first-person word nearby: "
        "0.371-0.377, within noise; not shipped (a safety floor should not lose recall for "
        "+0.01).",
        "",
        "## Limits",
        (
            "- Meets the project's bar on validation users."
            if reached
            else "- Below the project's bar (at-risk AUPRC >= 0.85 and severity macro-F1 >= 0.55 "
            f"at user level): validation users reach AUPRC {vu['at_risk_auprc']:.3f} and "
            f"macro-F1 {vu['severity_macro_f1']:.3f} (fused "
            f"{vu.get('severity_macro_f1_fused', float('nan')):.3f}); out of fold "
            f"{cv['users']['at_risk_auprc']:.3f} and {cv['users']['severity_macro_f1']:.3f} "
            f"(fused {cv['users'].get('severity_macro_f1_fused', float('nan')):.3f}). "
            "Five-level severity from 240 training users is the hard part: neighbouring "
            "levels (indicator/ideation, behavior/attempt) are mostly confused."
        ),
        "- 400 users from Reddit mental-health forums, English only; the encoder and the "
        "n-grams are weak in French, where the lexicon is the floor "
        "(`SelfHarmScore.fused_severity`).",
        "- Per-message scores come from a model trained on users; a single short message "
        "carries little evidence, hence the separate message threshold.",
        "- Not a diagnostic tool: a signal for routing to people and crisis resources.",
    ]
    return "\n".join(lines) + "\n"
