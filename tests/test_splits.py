"""Held-out figures: the split module, and no benchmark row is a row its heads saw.

The data checks read the shared data folder (``classifiers.data.default_data_dir()``,
``../shared/data`` beside the repository) and skip, saying so, where it is absent. No encoder
runs: rows only. Nothing here prints a text from the data (assertion messages carry counts
and block names only).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

import pytest

from classifiers.data import default_data_dir
from classifiers.training.heldout import HEADS, Block, SeenSets, metadata, scheme_of, seen
from classifiers.training.splits import (
    LEGACY_SCHEME,
    Seen,
    assign_splits,
    keep,
    legacy_split,
    text_key,
)

DATA = default_data_dir()
needs_data = pytest.mark.skipif(
    not (DATA / "README.md").is_file(),
    reason=f"the shared data folder is absent ({DATA}); set GUARDRAIL_DATA_DIR to run",
)


# --------------------------------------------------------------------------- the module


def test_text_key_folds_case_accents_spacing_punctuation_repeats() -> None:
    assert text_key("  Sooo   SAD!!! ") == text_key("so sad") == "so sad"
    assert text_key("Élève, déçu…") == text_key("eleve decu")
    assert text_key("@user you're   a bot https://x.y/z") == text_key("you re a bot")
    assert text_key("\uff46\uff55\uff4c\uff4c width") == text_key("full width")  # full width
    assert text_key("I feel bad") != text_key("I feel sad")
    assert text_key("!!!") == ""


def test_assign_splits_never_splits_a_key_or_a_group() -> None:
    rows: list[tuple[str, tuple[str, ...], Any]] = []
    for i in range(400):
        conv = f"conv:{i // 4}"
        rows.append((f"turn {i}", (conv,), None))
        rows.append(("Hi!" if i % 4 == 0 else f"line {i}", (conv,), None))
        rows.append(("hi", (), None))
    splits = assign_splits(rows, seed=7)
    by_key: dict[str, set[Any]] = defaultdict(set)
    by_group: dict[str, set[Any]] = defaultdict(set)
    for (text, groups, _), s in zip(rows, splits, strict=True):
        if s is None:
            continue
        by_key[text_key(text)].add(s)
        for g in groups:
            by_group[g].add(s)
    assert all(len(v) == 1 for v in by_key.values())
    assert all(len(v) == 1 for v in by_group.values())
    assert splits == assign_splits(rows, seed=7)
    assert splits != assign_splits(rows, seed=8)
    counts = Counter(s for s in splits if s)
    assert counts["train"] > counts["val"] > 0 and counts["test"] > 0
    # "hi" recurs across conversations: kept only in its most held-out split
    kept = {s for (t, _, _), s in zip(rows, splits, strict=True) if text_key(t) == "hi" and s}
    assert len(kept) == 1


def test_assign_splits_keeps_fixed_splits_and_the_most_held_out_wins() -> None:
    rows: list[tuple[str, tuple[str, ...], Any]] = [
        ("a post", ("user:1",), "train"),
        ("another post", ("user:1",), "train"),
        ("A post!", ("user:2",), "test"),  # the same text as a train user's post
        ("free text", (), None),
    ]
    splits = assign_splits(rows, seed=1)
    assert splits[:3] == [None, "train", "test"]
    assert splits[3] in ("train", "val", "test")


def test_legacy_split_is_the_old_exact_hash() -> None:
    """The formula the shipped corpora were split by (``corpora.hash_split`` before)."""
    import hashlib

    for group in ("a", "b", "conv-7", "Some exact text."):
        digest = hashlib.sha256(f"20261202\0goemotions\0{group}".encode()).digest()
        u = int.from_bytes(digest[:8], "big") / 2**64
        old = "train" if u < 0.6 else "val" if u < 0.8 else "test"
        assert legacy_split("goemotions", group, 20261202) == old


def test_seen_holds_by_key_or_group() -> None:
    s = Seen("head")
    s.add("Sooo sad", ("diasafety:ctx",))

    class R:
        def __init__(self, text: str, groups: tuple[str, ...] = ()) -> None:
            self.text, self.groups = text, groups

    rows = [R("so sad!"), R("other", ("diasafety:ctx",)), R("new text", ("other",))]
    assert [r.text for r in keep(rows, s)] == ["new text"]


# --------------------------------------------------------------------------- the data


def _reproduced(head: str, meta: dict[str, Any]) -> dict[str, int]:
    """Counts of the rows ``head``'s script builds under its recorded split, for the fields
    its metadata records."""
    from classifiers.training import corpora as C

    scheme = scheme_of(meta)
    if head == "self_harm_message":
        from classifiers.training.train_message_heads import user_rows

        rows = user_rows(DATA, 3000, C.CORPUS_SEED, scheme)
        train = [r for r in rows if r.split == "train"]
        return {"n_train": len(train), "n_train_positive": sum(r.label for r in train)}
    if head == "self_harm_bot":
        from classifiers.training.train_message_heads import SAFE_REPLY_WEIGHT, bot_rows

        rows = bot_rows(DATA, 3000, int(meta["seed"]), SAFE_REPLY_WEIGHT, scheme)
        train = [r for r in rows if r.split == "train"]
        return {"n_train": len(train), "n_train_positive": sum(r.label for r in train)}
    if head == "toxicity":
        from classifiers.training.train_toxicity import load_rows

        cap = int(meta["everyday_cap"])
        rows_t = load_rows(DATA, int(meta["split_seed"]), cap, 1.0, True, scheme)
        return {"n_train": sum(r.split == "train" for r in rows_t)}
    if head == "dependency_loneliness":
        from classifiers.training.train_loneliness import LONELY, universe

        train, _, _ = universe(DATA, scheme)
        return {
            "n_train": len(train),
            "n_train_positive": sum(bool(LONELY.search(r.text)) for r in train),
        }
    if head == "minor":
        from classifiers.training.train_minor import universe as minor_universe

        split = meta["split"]
        rows_m = minor_universe(DATA, int(split["everyday_cap"]), int(split["seed"]), scheme)
        return {"n_train": sum(r.split == "train" for r in rows_m)}
    if head in ("dependency", "manipulation"):
        import importlib

        mod = importlib.import_module(f"classifiers.training.train_{head}")
        cap = int(meta["data"]["everyday"]["cap_per_source"])
        real = mod.real_rows(DATA, cap, scheme)
        src = Counter(r.source for r in real.negatives)
        out = {"everyday": len(real.negatives) - src["darkbench"] - src["diasafety"] - src["p4g"]}
        out["diasafety"] = src["diasafety"]
        if head == "dependency":
            out |= {"darkbench_pos": len(real.positives), "darkbench_neg": src["darkbench"]}
        else:
            out |= {"p4g_pos": len(real.positives), "p4g_neg": src["p4g"]}
        return out
    if head == "self_harm":
        from classifiers.data import load_cssrs, split_users
        from classifiers.training.train_self_harm import everyday_texts, split_rows

        cssrs = load_cssrs(DATA)
        dia_train, dia_val, _ = everyday_texts(DATA)
        seed = int(meta["split_seed"])
        cssrs, dia_train, dia_val = split_rows(cssrs, dia_train, dia_val, seed, scheme)
        users = split_users(cssrs.users, seed=seed)
        return {
            "diasafety": len(dia_train),
            "train_posts": sum(users[p.user] == "train" for p in cssrs.posts),
        }
    raise AssertionError(head)


def _recorded(head: str, meta: dict[str, Any]) -> dict[str, int]:
    if head in ("self_harm_message", "self_harm_bot", "dependency_loneliness"):
        return {k: int(meta[k]) for k in ("n_train", "n_train_positive")}
    if head == "toxicity":
        return {"n_train": int(meta["n_train"])}
    d = meta.get("data", {})
    if head == "minor":
        return {"n_train": int(d["n_train"])}
    if head == "dependency":
        return {
            "everyday": int(d["everyday"]["n"]),
            "diasafety": int(d["diasafety"]["n"]),
            "darkbench_pos": int(d["darkbench"]["n_positive"]),
            "darkbench_neg": int(d["darkbench"]["n_negative"]),
        }
    if head == "manipulation":
        return {
            "everyday": int(d["everyday"]["n"]),
            "diasafety": int(d["diasafety"]["n"]),
            "p4g_pos": int(d["persuasionforgood"]["n_positive"]),
            "p4g_neg": int(d["persuasionforgood"]["n_negative"]),
        }
    posts = int(meta["metrics"]["train_oof"]["posts"]["n"])
    return {"diasafety": int(d["diasafety"]["n_train"]), "train_posts": posts}


@needs_data
@pytest.mark.parametrize("head", HEADS)
def test_shipped_heads_rows_are_reproduced(head: str) -> None:
    """The split each shipped head was trained with is rebuilt exactly: the counts its
    metadata recorded at training time come out again (so ``heldout`` knows its rows)."""
    meta = metadata(head)
    assert _reproduced(head, meta) == _recorded(head, meta)


def _benchmark_blocks(sets: SeenSets) -> list[Block]:
    from benchmarks.classifier_quality import blocks as self_harm_blocks
    from benchmarks.minor_quality import blocks as minor_blocks
    from benchmarks.quality_messages import blocks as message_blocks
    from benchmarks.toxicity_quality import blocks as toxicity_blocks
    from classifiers.self_harm import SelfHarmClassifier
    from classifiers.training.quality_wellbeing import blocks as wellbeing_blocks

    clf = SelfHarmClassifier.load()
    split_seed = clf.head.metadata.get("split_seed")
    out = [
        *self_harm_blocks(DATA, clf, sets, split_seed).values(),
        *wellbeing_blocks(DATA, sets).values(),
        *message_blocks(DATA, 1500, sets).values(),
        *toxicity_blocks(DATA, metadata("toxicity"), sets).values(),
        *minor_blocks(DATA, sets).values(),
    ]
    return out


@pytest.fixture(scope="module")
def seen_by_head() -> dict[str, Seen]:
    return {h: seen(h, DATA) for h in HEADS}


@needs_data
def test_no_benchmark_row_is_a_row_its_heads_saw(seen_by_head: dict[str, Seen]) -> None:
    """For every block of every quality benchmark: no row shares a normalised text or a
    group with a row that a head behind its figures trained on or chose a setting on."""
    blocks = _benchmark_blocks(SeenSets(DATA))
    assert len(blocks) >= 20
    for b in blocks:
        assert b.heads and set(b.heads) <= set(HEADS), b.name
        assert b.rows, f"{b.name}: no held-out rows left"
        for h in b.heads:
            overlap = len(b.rows) - len(keep(b.rows, seen_by_head[h]))
            assert overlap == 0, f"{b.name}: {overlap} rows are {h}'s training rows"


@needs_data
def test_the_old_sets_did_hold_training_rows(seen_by_head: dict[str, Seen]) -> None:
    """What the issue found, so that the seen sets stay meaningful: most DiaSafety
    validation user messages were the per-message head's rows, and the bot head's split seed
    (0) is not the corpus seed its old everyday figures were read under."""
    from classifiers.data import load_diasafety
    from classifiers.training import corpora as C

    msg = seen_by_head["self_harm_message"]
    ctx = {p.context for p in load_diasafety(DATA) if p.split == "val"}
    assert sum(msg.holds(c) for c in ctx) / len(ctx) > 0.5
    day = [r for r in C.everyday(DATA, C.CORPUS_SEED, LEGACY_SCHEME) if r.split == "test"]
    fr = [r for r in day if r.lang == "fr"]
    assert sum(seen_by_head["self_harm_bot"].holds(r.text, r.groups) for r in fr) / len(fr) > 0.4


def _straddling(rows: list[Any]) -> tuple[int, int]:
    by_key: dict[str, set[str]] = defaultdict(set)
    by_group: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        by_key[text_key(r.text)].add(r.split)
        for g in r.groups:
            by_group[g].add(r.split)
    return sum(len(v) > 1 for v in by_key.values()), sum(len(v) > 1 for v in by_group.values())


@needs_data
def test_the_normalised_scheme_splits_no_key_or_group() -> None:
    """What the training scripts split by from now on (``SCHEME``, their default): no
    normalised text and no group in two splits of any head's rows, and held-out sets kept
    out of the rows a dependency, manipulation or self-harm head trains or calibrates on."""
    from classifiers.data import load_cssrs
    from classifiers.training import corpora as C
    from classifiers.training.splits import SCHEME
    from classifiers.training.train_loneliness import universe
    from classifiers.training.train_message_heads import SAFE_REPLY_WEIGHT, bot_rows, user_rows
    from classifiers.training.train_self_harm import everyday_texts, split_rows
    from classifiers.training.train_toxicity import load_rows

    # The rows train_dependency and train_manipulation build (their ``real_rows``).
    from classifiers.training.wellbeing_rows import dependency_rows, manipulation_rows

    seed = C.CORPUS_SEED
    assert _straddling(user_rows(DATA, 3000, seed, SCHEME)) == (0, 0)
    assert _straddling(bot_rows(DATA, 3000, seed, SAFE_REPLY_WEIGHT, SCHEME)) == (0, 0)
    assert _straddling(list(load_rows(DATA, seed, 2000, 1.0, True, SCHEME))) == (0, 0)
    train, val, test = universe(DATA, SCHEME)
    assert _straddling([*train, *val, *test]) == (0, 0)
    for build in (dependency_rows, manipulation_rows):
        rows = build(DATA, 2000, SCHEME)
        assert rows.positives and rows.negatives and rows.calibration
        fit = Seen("fit").add_rows([*rows.positives, *rows.negatives])
        assert not any(fit.holds(r.text, r.groups) for r in rows.calibration)
    cssrs = load_cssrs(DATA)
    dia_train, dia_val, _ = everyday_texts(DATA)
    cssrs, dia_train, dia_val = split_rows(cssrs, dia_train, dia_val, 20260520, SCHEME)
    held = Seen("validation file").add_rows(C.Row(t, 0, "d", "en", "val") for t in dia_val)
    assert not any(held.holds(t) for t in dia_train)
