"""The rows each shipped head trained on or chose a setting on, rebuilt from its metadata.

A benchmark scores a head only on rows none of its ``seen`` rows share a normalised text or a
group with (``classifiers.training.splits.keep``). Each head's rows are rebuilt by the very
function its training script builds them with, under the split scheme, seeds and caps its
metadata records (``split``); heads without that record are the heads of 2026-12-02, split by
``exact-hash-v0`` with the seeds and caps their scripts used then (their counts are checked
against their metadata in ``tests/test_splits.py``).

What counts as seen, per head:

- ``self_harm`` (and its n-gram head): the C-SSRS posts of its train and validation users
  (``split_seed``), and DiaSafety user messages outside Risk Ignorance of both files (the
  train file trained it and set its message threshold; the validation file is its card's
  report set, counted all the same);
- ``self_harm_message``: its train and validation rows (``train_message_heads.user_rows``);
- ``self_harm_bot``: its train rows and the validation rows its settings and threshold read
  (``train_message_heads.bot_calibration``): everyday chat, DiaSafety safe replies, synthetic
  rows. Its PersuasionForGood validation rows are loaded but read by nothing: not seen;
- ``dependency``, ``manipulation``: their synthetic rows and ``real_rows`` (training rows and
  the everyday validation rows of the threshold);
- ``dependency_loneliness``: its training rows and the everyday validation rows of its
  threshold (``train_loneliness.universe``);
- ``toxicity``: its train and validation rows (``train_toxicity.load_rows``);
- ``minor``: its train and validation rows, synthetic and everyday (``train_minor.universe``).

Nothing here prints a text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Final

from classifiers.training.splits import LEGACY_SCHEME, Seen, union

WEIGHTS_DIR: Final = Path(__file__).resolve().parent.parent / "weights"
HEADS: Final = (
    "self_harm",
    "self_harm_message",
    "self_harm_bot",
    "dependency",
    "dependency_loneliness",
    "manipulation",
    "toxicity",
    "minor",
)
LEGACY_CAPS: Final[dict[str, int]] = {"self_harm_message": 3000, "self_harm_bot": 3000}
"""Everyday caps of the heads of 2026-12-02 that do not record theirs (their scripts'
defaults then; the counts in their metadata match only with these)."""


def metadata(head: str, weights_dir: Path = WEIGHTS_DIR) -> dict[str, Any]:
    """The metadata of a shipped head's weight file."""
    from classifiers.heads import MLPHead

    return dict(MLPHead.load(weights_dir / f"{head}.safetensors").metadata)


def scheme_of(meta: Mapping[str, Any]) -> str:
    return str(meta.get("split", {}).get("scheme", LEGACY_SCHEME))


def _split_seed(meta: Mapping[str, Any], legacy: int) -> int:
    return int(meta.get("split", {}).get("seed", legacy))


def _cap(meta: Mapping[str, Any], head: str, default: int) -> int:
    cap = meta.get("split", {}).get("everyday_cap")
    if cap is None:
        cap = meta.get("everyday_cap") or meta.get("data", {}).get("everyday", {}).get(
            "cap_per_source", LEGACY_CAPS.get(head, default)
        )
    return int(cap)


def _self_harm(data: Path, meta: Mapping[str, Any]) -> Seen:
    from classifiers.data import SPLIT_SEED, load_cssrs, split_users
    from classifiers.training.corpora import cssrs_group, dia_group
    from classifiers.training.train_self_harm import everyday_texts, split_rows

    seed = _split_seed(meta, int(meta.get("split_seed", SPLIT_SEED)))
    cssrs = load_cssrs(data)
    dia_train, dia_val, _ = everyday_texts(data)
    cssrs, dia_train, dia_val = split_rows(cssrs, dia_train, dia_val, seed, scheme_of(meta))
    user_split = split_users(cssrs.users, seed=seed)
    seen = Seen("self_harm")
    for p in cssrs.posts:
        if user_split[p.user] != "test":
            seen.add(p.text, (cssrs_group(p.user),))
    for t in [*dia_train, *dia_val]:
        seen.add(t, (dia_group(t),))
    return seen


def _message(data: Path, meta: Mapping[str, Any]) -> Seen:
    from classifiers.training.corpora import CORPUS_SEED
    from classifiers.training.train_message_heads import user_rows

    cap = _cap(meta, "self_harm_message", 3000)
    rows = user_rows(data, cap, _split_seed(meta, CORPUS_SEED), scheme_of(meta))
    return Seen("self_harm_message").add_rows(r for r in rows if r.split != "test")


def bot_rows_of(data: Path, meta: Mapping[str, Any]) -> list[Any]:
    """The bot head's rows as it was trained on them, split rebuilt from its metadata."""
    from classifiers.training.train_message_heads import SAFE_REPLY_WEIGHT, bot_rows

    seed = _split_seed(meta, int(meta.get("seed", 0)))  # the legacy head split by its seed
    cap = _cap(meta, "self_harm_bot", 3000)
    return bot_rows(data, cap, seed, SAFE_REPLY_WEIGHT, scheme_of(meta))


def _bot(data: Path, meta: Mapping[str, Any]) -> Seen:
    import numpy as np

    from classifiers.training.train_message_heads import (
        bot_calibration,
        diasafety_reply_kinds,
    )

    rows = bot_rows_of(data, meta)
    read = np.asarray([r.split == "train" for r in rows])
    for m in bot_calibration(rows, diasafety_reply_kinds(data)).values():
        read |= m
    return Seen("self_harm_bot").add_rows(r for r, k in zip(rows, read, strict=True) if k)


def _synthetic(seen: Seen, file: str, names: tuple[str, ...]) -> Seen:
    from classifiers.training.common import SYNTHETIC_DIR, load_synthetic

    stem = file.removesuffix(".jsonl")
    for r in load_synthetic(SYNTHETIC_DIR / file, names):
        seen.add(r.text, (f"synthetic_{stem}:{r.group}",))
    return seen


def _dependency(data: Path, meta: Mapping[str, Any]) -> Seen:
    from classifiers.results import DEPENDENCY_SIGNALS
    from classifiers.training.wellbeing_rows import dependency_rows as real_rows

    seen = real_rows(data, _cap(meta, "dependency", 2000), scheme_of(meta)).seen("dependency")
    return _synthetic(seen, "dependency.jsonl", DEPENDENCY_SIGNALS)


def _manipulation(data: Path, meta: Mapping[str, Any]) -> Seen:
    from classifiers.results import MANIPULATION_HEAD_TACTICS as MANIPULATION_TACTICS
    from classifiers.training.wellbeing_rows import manipulation_rows as real_rows

    seen = real_rows(data, _cap(meta, "manipulation", 2000), scheme_of(meta)).seen("manipulation")
    return _synthetic(seen, "manipulation.jsonl", MANIPULATION_TACTICS)


def _loneliness(data: Path, meta: Mapping[str, Any]) -> Seen:
    from classifiers.training.train_loneliness import universe

    train, val, _ = universe(data, scheme_of(meta))
    return Seen("dependency_loneliness").add_rows([*train, *val])


def _toxicity(data: Path, meta: Mapping[str, Any]) -> Seen:
    from classifiers.training.corpora import CORPUS_SEED
    from classifiers.training.train_toxicity import load_rows

    seed = _split_seed(meta, int(meta.get("split_seed", CORPUS_SEED)))
    every = bool(meta.get("everyday_heldout_all", False))
    rows = load_rows(data, seed, _cap(meta, "toxicity", 2000), 1.0, every, scheme_of(meta))
    return Seen("toxicity").add_rows(r for r in rows if r.split != "test")


def _minor(data: Path, meta: Mapping[str, Any]) -> Seen:
    from classifiers.training.train_minor import SPLIT_SEED, universe

    split = meta.get("split", {})
    rows = universe(
        data, _cap(meta, "minor", 2000), int(split.get("seed", SPLIT_SEED)), scheme_of(meta)
    )
    return Seen("minor").add_rows(r for r in rows if r.split != "test")


_BUILDERS: Final = {
    "self_harm": _self_harm,
    "self_harm_message": _message,
    "self_harm_bot": _bot,
    "dependency": _dependency,
    "dependency_loneliness": _loneliness,
    "manipulation": _manipulation,
    "toxicity": _toxicity,
    "minor": _minor,
}


def seen(head: str, data: Path, meta: Mapping[str, Any] | None = None) -> Seen:
    """The rows ``head`` trained on or chose a setting on (see the module docstring);
    ``meta`` defaults to the shipped weight file's metadata."""
    if head not in _BUILDERS:
        raise KeyError(f"unknown head {head!r}; known: {HEADS}")
    return _BUILDERS[head](data, meta if meta is not None else metadata(head))


@lru_cache(maxsize=16)
def _shipped(head: str, data: Path) -> Seen:
    return seen(head, data)


@dataclass
class SeenSets:
    """Seen rows per head, built once each: the shipped heads' unless ``metas`` names
    others (a head just trained, say)."""

    data: Path
    metas: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    _built: dict[str, Seen] = field(default_factory=dict)

    def of(self, *heads: str) -> Seen:
        """Everything any of ``heads`` saw (a figure decided by several heads)."""
        parts: list[Seen] = []
        for h in heads:
            if h not in self._built:
                meta = self.metas.get(h)
                self._built[h] = seen(h, self.data, meta) if meta else _shipped(h, self.data)
            parts.append(self._built[h])
        return parts[0] if len(parts) == 1 else union("+".join(heads), parts)


@dataclass(frozen=True)
class Block:
    """Rows a benchmark scores and the heads whose figures they give: none of them may be
    a row those heads saw (``tests/test_splits.py``)."""

    name: str
    heads: tuple[str, ...]
    rows: tuple[Any, ...]
    """Objects with ``text`` and ``groups`` (``splits.Keyed``)."""


def block(name: str, heads: Iterable[str], rows: Iterable[Any], sets: SeenSets) -> Block:
    """A block of the rows none of ``heads`` saw."""
    from classifiers.training.splits import keep

    hs = tuple(heads)
    return Block(name, hs, tuple(keep(rows, sets.of(*hs))))
