"""One way to split rows, for every training script and benchmark, and to tell held-out rows.

Why: a row held out by an exact-text hash can still be a training row in all but case,
accents, spacing, punctuation or stretched letters ("Sooo sad!!" / "so sad"), or a turn of a
conversation whose other turns trained the head. A figure measured on such rows is not a
held-out figure. So:

- ``text_key`` normalises a text into the key that decides whether two texts are one row;
- ``assign_splits`` (scheme ``SCHEME``) puts rows into train / val / test: rows of one group
  (a conversation, a DiaSafety context, a C-SSRS user; ``Row.groups``) form one unit, a row
  without a group is the unit of its key, and a unit's split is a seeded hash of its least
  label, or the split its source fixes (a test file, a stratified user split). A key found in
  several splits then stays only in the most held-out one: its rows in the others are left
  out (``None``), so that no key and no group straddles two splits. (Joining units through
  shared keys instead chains whole corpora: "Hi!" links a third of Topical-Chat.)
- ``legacy_split`` (scheme ``LEGACY_SCHEME``) is the exact-text or exact-group hash the
  shipped heads were trained with, kept to reproduce their training rows
  (``classifiers.training.heldout``);
- ``Seen`` holds the keys and groups of a head's training and validation rows; a benchmark
  keeps only the rows ``Seen.holds`` rejects (``keep``).

Nothing here prints or stores a text: keys stay in memory.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Final, Literal, Protocol, TypeVar

Split = Literal["train", "val", "test"]
FRACTIONS: Final[tuple[float, float]] = (0.6, 0.2)
"""Train and validation shares; the rest is test."""
SCHEME: Final = "normalised-v1"
"""``assign_splits``: recorded in a head's metadata (``split.scheme``) by the training scripts."""
LEGACY_SCHEME: Final = "exact-hash-v0"
"""``legacy_split``: the shipped heads of 2026-12-02 (their metadata has no ``split``)."""
SCHEMES: Final = (SCHEME, LEGACY_SCHEME)
HELD_OUT: Final[dict[str, int]] = {"train": 0, "val": 1, "test": 2}
"""How far each split is from training: the most held-out one wins a disputed key."""

_URL: Final = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_MENTION: Final = re.compile(r"@\w+")
_NOT_WORD: Final = re.compile(r"[\W_]+")
_REPEATS: Final = re.compile(r"(\w)\1+")


@lru_cache(maxsize=1 << 18)
def text_key(text: str) -> str:
    """The normalised form two texts must share to count as one row.

    NFKC, case-folded, accents dropped, URLs and ``@user``-style mentions dropped, anything
    but letters and digits turned to one space, and every run of one repeated character
    squeezed to one ("Sooo" and "so" meet; so do "good" and "god": a rare, harmless merge).
    Cached: every head's rows and every benchmark set key the same texts again.
    """
    if text.isascii():  # NFKC and accents change nothing there: the fast path
        t = text.lower()
    else:
        t = unicodedata.normalize("NFKC", text).casefold()
        t = "".join(c for c in unicodedata.normalize("NFKD", t) if not unicodedata.combining(c))
    t = _MENTION.sub(" ", _URL.sub(" ", t))
    t = _NOT_WORD.sub(" ", t)
    t = _REPEATS.sub(r"\1", t)
    return " ".join(t.split())


def _unit(seed: int, namespace: str, label: str) -> float:
    digest = hashlib.sha256(f"{seed}\0{namespace}\0{label}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _cut(u: float, fractions: tuple[float, float]) -> Split:
    return "train" if u < fractions[0] else "val" if u < sum(fractions) else "test"


def legacy_split(
    source: str, group: str, seed: int, fractions: tuple[float, float] = FRACTIONS
) -> Split:
    """The exact-text (or exact-group) hash the shipped heads' corpora were split by."""
    return _cut(_unit(seed, source, group), fractions)


def check_scheme(scheme: str) -> str:
    if scheme not in SCHEMES:
        raise ValueError(f"unknown split scheme {scheme!r}; known: {SCHEMES}")
    return scheme


class _Units:
    """Union-find over group labels: a unit is a connected set of groups."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, a: str) -> str:
        self.parent.setdefault(a, a)
        root = a
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[a] != root:  # path compression
            self.parent[a], a = root, self.parent[a]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:  # the least label is the root: a unit is named by its least label
            self.parent[max(ra, rb)] = min(ra, rb)


def _most_held_out(a: Split | None, b: Split) -> Split:
    return b if a is None or HELD_OUT[b] > HELD_OUT[a] else a


def assign_splits(
    rows: Sequence[tuple[str, Sequence[str], Split | None]],
    seed: int,
    namespace: str = "",
    fractions: tuple[float, float] = FRACTIONS,
) -> list[Split | None]:
    """The split of each ``(text, groups, fixed split or None)`` row, ``None`` for a row left
    out because its key is held out further elsewhere (see the module docstring).

    Deterministic for a given set of rows; adding rows changes only the units and keys they
    share with the others."""
    units = _Units()
    labels: list[str] = []
    keys: list[str] = []
    for text, groups, _ in rows:
        key = text_key(text)
        keys.append(key)
        label = "g:" + min(groups) if groups else "k:" + key
        labels.append(label)
        units.find(label)
        for g in groups:
            units.union(label, "g:" + g)
    fixed: dict[str, Split] = {}
    for label, (_, _, pin) in zip(labels, rows, strict=True):
        if pin is not None:
            root = units.find(label)
            fixed[root] = _most_held_out(fixed.get(root), pin)
    unit_split: list[Split] = []
    for label in labels:
        root = units.find(label)
        unit_split.append(fixed.get(root) or _cut(_unit(seed, namespace, root), fractions))
    key_split: dict[str, Split] = {}
    for key, split in zip(keys, unit_split, strict=True):
        key_split[key] = _most_held_out(key_split.get(key), split)
    return [s if key_split[k] == s else None for k, s in zip(keys, unit_split, strict=True)]


class Keyed(Protocol):
    """A row a benchmark scores: its text and the groups it belongs to."""

    @property
    def text(self) -> str: ...

    @property
    def groups(self) -> tuple[str, ...]: ...


@dataclass
class Seen:
    """Keys and groups of the rows a head trained on or chose a setting on."""

    name: str
    keys: set[str] = field(default_factory=set)
    groups: set[str] = field(default_factory=set)

    def add(self, text: str, groups: Iterable[str] = ()) -> None:
        self.keys.add(text_key(text))
        self.groups.update(groups)

    def add_rows(self, rows: Iterable[Keyed]) -> Seen:
        for r in rows:
            self.add(r.text, r.groups)
        return self

    def update(self, other: Seen) -> None:
        self.keys |= other.keys
        self.groups |= other.groups

    def holds(self, text: str, groups: Iterable[str] = ()) -> bool:
        """Whether a row with this text or one of these groups is among the seen rows."""
        return text_key(text) in self.keys or any(g in self.groups for g in groups)

    def __len__(self) -> int:
        return len(self.keys)


def union(name: str, parts: Iterable[Seen]) -> Seen:
    """The rows any of ``parts`` saw (a figure decided by several heads)."""
    out = Seen(name)
    for p in parts:
        out.update(p)
    return out


K = TypeVar("K", bound=Keyed)


def keep(rows: Iterable[K], *seen: Seen) -> list[K]:
    """The rows none of ``seen`` holds: what a benchmark may score."""
    return [r for r in rows if not any(s.holds(r.text, r.groups) for s in seen)]
