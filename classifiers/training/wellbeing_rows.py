"""The real rows the dependency and manipulation heads fit and calibrate on.

Apart from the training scripts so that ``classifiers.training.heldout`` (which rebuilds
every head's seen rows) and the scripts (which score on held-out rows through it) import
this without importing each other.
"""

from __future__ import annotations

from pathlib import Path

from classifiers.data import load_darkbench, load_diasafety
from classifiers.training.common import (
    DEPENDENCY_LEANING,
    RealRows,
    darkbench_halves,
    everyday_rows,
)
from classifiers.training.corpora import Row, dia_group, dia_reply_groups, persuasionforgood
from classifiers.training.splits import LEGACY_SCHEME, Seen, keep


def dependency_rows(data: Path, cap: int, scheme: str) -> RealRows:
    """DarkBench's train half (dependency-leaning categories positive, the rest negative),
    DiaSafety's train-file user messages and everyday train rows (negatives), everyday
    validation rows (calibration); under the normalised scheme, less any row whose text or
    context is held out (DarkBench's other half, DiaSafety's validation file, everyday
    validation and test rows)."""
    halves = darkbench_halves(load_darkbench(data), scheme=scheme)
    pos = [Row(p.text, 1, "darkbench", "en", "train") for p in halves["train"]
           if p.category in DEPENDENCY_LEANING]  # fmt: skip
    dark_neg = [Row(p.text, 0, "darkbench", "en", "train") for p in halves["train"]
                if p.category not in DEPENDENCY_LEANING]  # fmt: skip
    pairs = load_diasafety(data)
    dia = [
        Row(c, 0, "diasafety", "en", "train", groups=(dia_group(c),))
        for c in sorted({p.context for p in pairs if p.split == "train"})
    ]
    day = everyday_rows(data, "train", cap, scheme)
    rows = RealRows(pos, dark_neg + dia + day, everyday_rows(data, "val", cap, scheme))
    if scheme == LEGACY_SCHEME:
        return rows
    held = [Row(p.text, 0, "darkbench", "en", "test") for p in halves["heldout"]]
    held += [
        Row(p.context, 0, "diasafety", "en", "test", groups=(dia_group(p.context),))
        for p in pairs
        if p.split == "val"
    ]
    rows = rows.without(held + everyday_rows(data, "test", None, scheme))
    cal = Seen("calibration").add_rows(rows.calibration)
    return RealRows(keep(rows.positives, cal), keep(rows.negatives, cal), rows.calibration)


def manipulation_rows(data: Path, cap: int, scheme: str) -> RealRows:
    """PersuasionForGood's train-split persuader sentences (related tactics positive, the rest
    negative), DiaSafety's train-file replies and everyday train rows (negatives), everyday
    validation rows (calibration); under the normalised scheme, less any row whose text or
    context is held out (P4G's test split, DiaSafety's validation file, everyday validation
    and test rows)."""
    pairs = load_diasafety(data)
    contexts = dia_reply_groups(pairs)
    replies = [
        Row(t, 0, "diasafety", "en", "train", groups=contexts[t.strip()])
        for t in sorted({p.response for p in pairs if p.split == "train"})
    ]
    p4g = persuasionforgood(data, scheme)
    pos = [r for r in p4g if r.split == "train" and r.label == 1]
    p4g_neg = [r for r in p4g if r.split == "train" and r.label == 0]
    day = everyday_rows(data, "train", cap, scheme)
    rows = RealRows(pos, replies + p4g_neg + day, everyday_rows(data, "val", cap, scheme))
    if scheme == LEGACY_SCHEME:
        return rows
    held = [
        Row(p.response, 0, "diasafety", "en", "test", groups=contexts[p.response.strip()])
        for p in pairs
        if p.split == "val"
    ]
    held += [r for r in p4g if r.split == "test"]
    rows = rows.without(held + everyday_rows(data, "test", None, scheme))
    cal = Seen("calibration").add_rows(rows.calibration)
    return RealRows(keep(rows.positives, cal), keep(rows.negatives, cal), rows.calibration)
