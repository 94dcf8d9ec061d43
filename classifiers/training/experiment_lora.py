"""Experiment: does LoRA fine-tuning of the shared encoder lift self-harm severity?

    python -m classifiers.training.experiment_lora --data ../shared/data [--mode user|post]
        [--epochs 6] [--rank 8] [--lr 1e-3] [--device cpu|cuda] [--threads 2]

Ships nothing and writes no weights: it prints one JSON object comparing, on the C-SSRS
**validation** users, the frozen encoder with a LoRA-adapted one (adapters on every linear
layer of the six transformer layers, merged after training). The encoder is adapted on the
train users only, then both encoders go through the same recipe as the shipped heads
(``classifiers.training.train_self_harm``: class-balanced logistic regression on a user's mean
[embedding, lexicon features], fused with the n-gram head); severity cuts are tuned on half
of the validation users and read on the other half (2-fold, 10 repeats), with and without
the lexicon floor.

Modes: ``user`` trains on user-level vectors (the normalised mean of up to ``--k`` random
post chunks per user, what the heads see); ``post`` trains on single post chunks labelled
with their user's level (weak labels). Out-of-fold figures on train users would be
optimistic once the encoder has seen those users' labels, hence validation users only.
Nothing here prints a text from the data.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from classifiers.cache import EmbeddingCache
from classifiers.data import SPLIT_SEED, default_data_dir, load_cssrs, split_users
from classifiers.encoder import chunk_text
from classifiers.encoder_minilm import Encoder, mean_pool
from classifiers.heads import FloatArray, softmax
from classifiers.labels import SEVERITIES, severity_index
from classifiers.lexicons import default_lexicon
from classifiers.ngrams import NgramVocabulary
from classifiers.self_harm import at_risk_score, head_inputs
from classifiers.training import train_self_harm as T


class LoRALinear(torch.nn.Module):
    """``base(x) + scale * x A^T B^T``; B starts at zero, so training starts from the base."""

    def __init__(self, base: torch.nn.Linear, rank: int, alpha: float) -> None:
        super().__init__()
        self.base = base
        # As peft does: A small (about 1/sqrt(fan-in)), B zero.
        self.a = torch.nn.Parameter(
            torch.randn(rank, base.in_features) / math.sqrt(base.in_features)
        )
        self.b = torch.nn.Parameter(torch.zeros(base.out_features, rank))
        self.scale = alpha / rank

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.base(x) + (x @ self.a.T @ self.b.T) * self.scale
        return out

    def merged(self) -> torch.nn.Linear:
        with torch.no_grad():
            self.base.weight += self.scale * (self.b @ self.a)
        return self.base


def add_lora(model: torch.nn.Module, rank: int) -> list[LoRALinear]:
    """Wrap every linear layer inside the transformer layers; freeze everything else."""
    for p in model.parameters():
        p.requires_grad = False
    wrapped = []
    for name, module in list(model.named_modules()):
        for child_name, child in list(module.named_children()):
            if isinstance(child, torch.nn.Linear) and "encoder.layer" in f"{name}.{child_name}":
                lora = LoRALinear(child, rank, 2.0 * rank)
                setattr(module, child_name, lora)
                wrapped.append(lora)
    return wrapped


def merge_lora(model: torch.nn.Module) -> None:
    for module in list(model.modules()):
        for child_name, child in list(module.named_children()):
            if isinstance(child, LoRALinear):
                setattr(module, child_name, child.merged())


def batches(
    chunks: Sequence[list[str]], mode: str, k: int, users_per_step: int, rng: random.Random
) -> list[list[tuple[str, int]]]:
    """One epoch of (chunk, user index) batches."""
    order = list(range(len(chunks)))
    rng.shuffle(order)
    if mode == "post":
        flat = [(c, i) for i in order for c in chunks[i][:16]]
        rng.shuffle(flat)
        return [flat[s : s + 16] for s in range(0, len(flat), 16)]
    out = []
    for s in range(0, len(order), users_per_step):
        step = []
        for i in order[s : s + users_per_step]:
            step += [(c, i) for c in rng.sample(chunks[i], min(k, len(chunks[i])))]
        out.append(step)
    return out


def fine_tune(
    enc: Encoder, chunks: list[list[str]], y: T.IntArray, args: argparse.Namespace
) -> list[float]:
    """Adapt ``enc.model`` in place (merged afterwards); the mean loss per epoch."""
    model = enc.model
    loras = add_lora(model, args.rank)
    head = torch.nn.Linear(enc.dim, len(SEVERITIES)).to(enc.device)
    counts = np.bincount(y, minlength=len(SEVERITIES))
    weight = torch.tensor(len(y) / (len(SEVERITIES) * np.maximum(counts, 1)), dtype=torch.float32)
    params = [p for lora in loras for p in (lora.a, lora.b)]
    opt = torch.optim.AdamW(
        [{"params": params, "lr": args.lr}, {"params": head.parameters(), "lr": 1e-2}],
        weight_decay=0.01,
    )
    rng = random.Random(args.seed)
    plan = [
        batches(chunks, args.mode, args.k, args.users_per_step, rng) for _ in range(args.epochs)
    ]
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=[args.lr, 1e-2], total_steps=sum(len(p) for p in plan), pct_start=0.1
    )
    model.train()
    window, enc.max_length = enc.max_length, args.max_length  # shorter chunks: faster steps
    losses = []
    for epoch, steps in enumerate(plan):
        total, t0 = 0.0, time.perf_counter()
        for step in steps:
            users = sorted({i for _, i in step})
            pos = {u: j for j, u in enumerate(users)}
            if args.mode == "post":
                owners, targets = list(range(len(step))), [int(y[i]) for _, i in step]
            else:
                owners, targets = [pos[i] for _, i in step], [int(y[u]) for u in users]
            inputs = enc.tokenize([c for c, _ in step])
            emb = mean_pool(model(**inputs).last_hidden_state, inputs["attention_mask"])
            own = torch.tensor(owners, device=emb.device)
            pooled = torch.zeros(len(targets), enc.dim, device=emb.device).index_add(0, own, emb)
            pooled = torch.nn.functional.normalize(pooled, dim=-1)
            loss = torch.nn.functional.cross_entropy(
                head(10.0 * pooled),
                torch.tensor(targets, device=emb.device),
                weight=weight.to(emb.device),
            )
            loss.backward()  # type: ignore[no-untyped-call]
            opt.step()
            sched.step()
            opt.zero_grad()
            total += loss.item()
        losses.append(total / max(len(steps), 1))
        print(
            f"epoch {epoch}: loss {losses[-1]:.3f} ({time.perf_counter() - t0:.0f} s)",
            file=sys.stderr,
            flush=True,
        )
    enc.max_length = window
    merge_lora(model)
    model.eval()
    return losses


def judge(
    corpus: T.Corpus, everyday: dict[str, Any], args: argparse.Namespace
) -> dict[str, dict[str, float]]:
    """Validation-user figures of the shipped recipe on ``corpus``'s embedding rows."""
    from sklearn.metrics import average_precision_score
    from sklearn.model_selection import StratifiedKFold

    rows = corpus.rows()
    train = sorted(u for u, s in corpus.user_split.items() if s == "train")
    val = sorted(u for u, s in corpus.user_split.items() if s == "val")
    yv = np.asarray([corpus.user_label[u] for u in val], dtype=np.int64)
    floor = corpus.user_floor(val, rows)
    lexical = T.fit_kind(corpus, train, rows, everyday["lexical"], "lexical", 30.0, args.seed)
    xt, _ = T.user_matrix(corpus, val, rows, "lexical")
    lv = lexical.logits(xt)

    def cv_f1(logits: FloatArray, fl: T.IntArray | None) -> float:
        scores = []
        for rep in range(10):
            folds = StratifiedKFold(2, shuffle=True, random_state=rep)
            for a, b in folds.split(logits, yv):
                decide = T.tune_decision(logits[a], yv[a], "ordinal", None if fl is None else fl[a])
                scores.append(T.floored_f1(yv[b], decide(logits[b]), None if fl is None else fl[b]))
        return float(np.mean(scores))

    out = {}
    for c in (0.01, 0.03, 0.1):
        dense = T.fit_kind(corpus, train, rows, everyday["embedding"], "embedding", c, args.seed)
        xv, _ = T.user_matrix(corpus, val, rows, "embedding")
        dv = dense.logits(xv)
        for w in (1.0, 0.5, 0.2):
            z = T.fuse(dv, lv, w)
            out[f"c={c},w={w}"] = {
                "at_risk_auprc": round(
                    float(average_precision_score(yv >= 2, at_risk_score(softmax(z)))), 4
                ),
                "macro_f1": round(cv_f1(z, None), 4),
                "macro_f1_fused": round(cv_f1(z, floor), 4),
            }
    return out


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--data", type=Path, default=default_data_dir())
    p.add_argument("--mode", choices=("user", "post"), default="user")
    p.add_argument("--epochs", type=int, default=6)
    p.add_argument("--rank", type=int, default=8)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--k", type=int, default=8, help="post chunks per user per step (user mode)")
    p.add_argument("--users-per-step", type=int, default=4)
    p.add_argument("--max-length", type=int, default=128, help="tokens per chunk in training")
    p.add_argument("--device", default=None)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    T.set_seeds(args.seed)
    torch.set_num_threads(args.threads)
    data = load_cssrs(args.data)
    split = split_users(data.users, seed=SPLIT_SEED)
    label = {u.user: severity_index(u.severity) for u in data.users}
    chunks: dict[str, list[str]] = {}
    for post in data.posts:
        chunks.setdefault(post.user, []).extend(chunk_text(post.text))
    train = sorted(u for u in chunks if split[u] == "train")
    y = np.asarray([label[u] for u in train], dtype=np.int64)
    lexicon = default_lexicon()
    texts = [p.text for p in data.posts]
    dia_train, _, _ = T.everyday_texts(args.data)
    lex_posts = T.lexicon_features(lexicon, texts, False)
    lex_every = T.lexicon_features(lexicon, dia_train, False)

    results: dict[str, Any] = {"settings": {k: str(v) for k, v in vars(args).items()}}
    vocabulary: NgramVocabulary | None = None
    for name in ("frozen", "lora"):
        enc = Encoder(device=args.device, precision="fp32")
        if name == "lora":
            t0 = time.perf_counter()
            results["train_loss"] = fine_tune(enc, [chunks[u] for u in train], y, args)
            results["train_seconds"] = round(time.perf_counter() - t0, 1)
        embed: Any = EmbeddingCache(enc) if name == "frozen" else enc
        with torch.inference_mode():
            emb = embed.encode_documents(texts)
            every_emb = embed.encode_documents(dia_train)
        corpus = T.Corpus(
            head_inputs(emb, lex_posts),
            np.asarray([severity_index(p.severity) for p in data.posts], dtype=np.int64),
            [p.user for p in data.posts],
            label,
            dict(split),
            None,
            np.asarray(
                [severity_index(lexicon.scan(t, role="user").severity) for t in texts],
                dtype=np.int64,
            ),
        )
        rows = corpus.rows()
        if vocabulary is None:
            vocabulary = NgramVocabulary.fit([texts[i] for u in train for i in rows[u]])
        T.add_ngrams(corpus, texts, vocabulary, False)
        everyday = {
            "embedding": head_inputs(every_emb, lex_every),
            "lexical": vocabulary.matrix(dia_train),
        }
        results[name] = judge(corpus, everyday, args)
        print(f"{name}: judged", file=sys.stderr, flush=True)
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
