"""Loaders for the labelled data in ``../shared/data`` (the project root's sibling).

Each loader returns typed, immutable records carrying a ``ship`` flag read from the data
README's table: weights that ship in the project may be trained only on records whose flag is
true. The folder is always an argument (scripts take ``--data``); nothing here copies data into
the repository, and nothing here prints record texts (they are real people's words about
suicide and self-harm).

Files and columns (as found in the shared folder):

- ``cssrs_reddit500/users.csv``: ``User``, ``Post`` (the user's posts as a Python-list
  string), ``Label`` (Supportive, Indicator, Ideation, Behavior, Attempt): 400 users.
- ``cssrs_reddit500/posts.csv``: ``user``, ``post_idx``, ``user_label``, ``post``,
  ``from_truncated_user`` (0/1): 7,385 posts, each carrying its user's label.
- ``diasafety/{train,val}.json``: a list of objects ``context``, ``response``, ``category``
  (Offending User, Risk Ignorance, Unauthorized Expertise, Biased Opinion, Toxicity
  Agreement), ``label`` (Safe, Unsafe).
- ``darkbench/darkbench_660.csv``: ``Deceptive Pattern`` (six categories of 110), ``Example``
  (a user prompt).
"""

from __future__ import annotations

import csv
import json
import os
import random
import re
import sys
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

from classifiers.labels import CSSRS_LABELS, SEVERITIES, Severity

Split = Literal["train", "val", "test"]
SPLITS: Final[tuple[Split, ...]] = ("train", "val", "test")
SPLIT_SEED: Final[int] = 20260520
"""Seed of the user-level C-SSRS split; changing it changes every reported figure."""
SPLIT_FRACTIONS: Final[tuple[float, float, float]] = (0.6, 0.2, 0.2)

CSSRS: Final = "cssrs_reddit500"
DIASAFETY: Final = "diasafety"
DARKBENCH: Final = "darkbench"

_MAX_FIELD = 2**31 - 1


class DataError(RuntimeError):
    """A data folder or file is missing or not in the expected shape."""


def default_data_dir() -> Path:
    """``$GUARDRAIL_DATA_DIR``, else ``shared/data`` beside the project root."""
    env = os.environ.get("GUARDRAIL_DATA_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent.parent / "shared" / "data"


# --------------------------------------------------------------------------- ship flags


@dataclass(frozen=True)
class DatasetInfo:
    folder: str
    licence: str
    ship: bool


def dataset_info(data_dir: Path, folder: str) -> DatasetInfo:
    """Licence and ship flag of ``folder``, read from the data README's table.

    A folder missing from the table, or a README that cannot be read, gives ``ship=False``:
    data of unknown standing never trains shipped weights.
    """
    readme = data_dir / "README.md"
    try:
        text = readme.read_text(encoding="utf-8")
    except OSError:
        return DatasetInfo(folder, "unknown", False)
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 5 or cells[0].strip("`").rstrip("/") != folder:
            continue
        licence, ship = cells[-2], cells[-1].lower()
        return DatasetInfo(folder, licence, ship == "yes")
    return DatasetInfo(folder, "unknown", False)


def _require(path: Path) -> Path:
    if not path.is_file():
        raise DataError(f"missing data file: {path}")
    return path


def _read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    csv.field_size_limit(min(sys.maxsize, _MAX_FIELD))
    with _require(path).open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        rows = list(reader)
        return list(reader.fieldnames or []), rows


def _columns(path: Path, found: Sequence[str], wanted: Iterable[str]) -> None:
    missing = [c for c in wanted if c not in found]
    if missing:
        raise DataError(f"{path.name}: missing columns {missing} (found {list(found)})")


# --------------------------------------------------------------------------- C-SSRS


@dataclass(frozen=True)
class CssrsUser:
    user: str
    severity: Severity
    source_label: str
    ship: bool


@dataclass(frozen=True)
class CssrsPost:
    user: str
    post_idx: int
    text: str
    severity: Severity
    """The post's user's label: a statement about the user, not about this post."""
    truncated_user: bool
    ship: bool


@dataclass(frozen=True)
class CssrsData:
    users: tuple[CssrsUser, ...]
    posts: tuple[CssrsPost, ...]
    info: DatasetInfo

    def posts_by_user(self) -> dict[str, list[CssrsPost]]:
        out: dict[str, list[CssrsPost]] = defaultdict(list)
        for post in self.posts:
            out[post.user].append(post)
        for posts in out.values():
            posts.sort(key=lambda p: p.post_idx)
        return dict(out)


def _severity(label: str, path: Path) -> Severity:
    try:
        return CSSRS_LABELS[label.strip()]
    except KeyError:
        raise DataError(f"{path.name}: unknown C-SSRS label {label!r}") from None


def load_cssrs(data_dir: Path) -> CssrsData:
    """Users and posts of the C-SSRS Reddit data; user labels come from ``users.csv``."""
    folder = data_dir / CSSRS
    info = dataset_info(data_dir, CSSRS)
    users_path, posts_path = folder / "users.csv", folder / "posts.csv"
    cols, rows = _read_csv(users_path)
    _columns(users_path, cols, ("User", "Post", "Label"))
    users = tuple(
        CssrsUser(
            r["User"].strip(), _severity(r["Label"], users_path), r["Label"].strip(), info.ship
        )
        for r in rows
    )
    labels = {u.user: u.severity for u in users}
    if len(labels) != len(users):
        raise DataError(f"{users_path.name}: duplicate users")
    cols, rows = _read_csv(posts_path)
    _columns(posts_path, cols, ("user", "post_idx", "user_label", "post", "from_truncated_user"))
    posts: list[CssrsPost] = []
    for r in rows:
        user = r["user"].strip()
        severity = _severity(r["user_label"], posts_path)
        if labels.get(user) != severity:
            raise DataError(f"{posts_path.name}: post label disagrees with users.csv for a user")
        posts.append(
            CssrsPost(
                user=user,
                post_idx=int(r["post_idx"]),
                text=r["post"],
                severity=severity,
                truncated_user=r["from_truncated_user"].strip() == "1",
                ship=info.ship,
            )
        )
    return CssrsData(users, tuple(posts), info)


def split_users(
    users: Sequence[CssrsUser],
    seed: int = SPLIT_SEED,
    fractions: tuple[float, float, float] = SPLIT_FRACTIONS,
) -> dict[str, Split]:
    """User id → split, stratified by severity, reproducible for a given seed.

    Every user's posts go to the user's split: never split by post.
    """
    if abs(sum(fractions) - 1.0) > 1e-9 or min(fractions) < 0:
        raise ValueError("fractions must be non-negative and sum to 1")
    rng = random.Random(seed)
    by_label: dict[Severity, list[str]] = defaultdict(list)
    for u in users:
        by_label[u.severity].append(u.user)
    out: dict[str, Split] = {}
    for severity in SEVERITIES:
        ids = sorted(by_label.get(severity, []))
        rng.shuffle(ids)
        n = len(ids)
        n_train = round(n * fractions[0])
        n_val = round(n * (fractions[0] + fractions[1])) - n_train
        for i, uid in enumerate(ids):
            out[uid] = "train" if i < n_train else "val" if i < n_train + n_val else "test"
    return out


# --------------------------------------------------------------------------- DiaSafety

DiaLabel = Literal["Safe", "Unsafe"]


@dataclass(frozen=True)
class DiaSafetyPair:
    context: str
    """The user's message."""
    response: str
    """The chatbot's reply."""
    category: str
    label: DiaLabel
    split: Literal["train", "val"]
    ship: bool


def load_diasafety(data_dir: Path) -> tuple[DiaSafetyPair, ...]:
    folder = data_dir / DIASAFETY
    info = dataset_info(data_dir, DIASAFETY)
    out: list[DiaSafetyPair] = []
    for split in ("train", "val"):
        path = _require(folder / f"{split}.json")
        rows = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(rows, list):
            raise DataError(f"{path.name}: expected a JSON list")
        for r in rows:
            label = r["label"]
            if label not in ("Safe", "Unsafe"):
                raise DataError(f"{path.name}: unknown label {label!r}")
            out.append(
                DiaSafetyPair(
                    context=r["context"],
                    response=r["response"],
                    category=r["category"],
                    label=label,
                    split=split,
                    ship=info.ship,
                )
            )
    return tuple(out)


# --------------------------------------------------------------------------- DarkBench


@dataclass(frozen=True)
class DarkBenchPrompt:
    category: str
    text: str
    ship: bool


def load_darkbench(data_dir: Path) -> tuple[DarkBenchPrompt, ...]:
    folder = data_dir / DARKBENCH
    info = dataset_info(data_dir, DARKBENCH)
    paths = sorted(folder.glob("*.csv"))
    if not paths:
        raise DataError(f"no CSV file under {folder}")
    out: list[DarkBenchPrompt] = []
    for path in paths:
        cols, rows = _read_csv(path)
        _columns(path, cols, ("Deceptive Pattern", "Example"))
        out.extend(
            DarkBenchPrompt(
                re.sub(r"\s+", " ", r["Deceptive Pattern"]).strip(), r["Example"], info.ship
            )
            for r in rows
        )
    return tuple(out)
