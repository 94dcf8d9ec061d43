"""Held-out evaluation sets: frozen by SHA256SUMS, one common format, per-set schemas.

Every ``benchmarks/heldout/*.yaml`` gets the generic checks; a set with a schema of its own
is checked by name, only when its file exists, so new sets need no edit here.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

HELDOUT = Path(__file__).resolve().parent.parent / "benchmarks" / "heldout"
SUMS = HELDOUT / "SHA256SUMS"
SETS = sorted(HELDOUT.glob("*.yaml"))
TOP_KEYS = {"name", "written", "author", "purpose", "synthetic", "frozen", "schema", "items"}
LANGS = {"en", "fr"}
SUM_LINE = re.compile(r"^(?P<hex>[0-9a-f]{64})  (?P<name>\S+)$")

Item = dict[str, Any]


@cache
def load(path: Path) -> dict[str, Any]:
    """Parse one set (cached: the files are frozen)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{path.name}: top level is not a mapping"
    return data


def listed_sums() -> dict[str, str]:
    """File name -> sha256 hex, from SHA256SUMS (sha256sum's text format)."""
    sums: dict[str, str] = {}
    for n, line in enumerate(SUMS.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        m = SUM_LINE.match(line)
        assert m, f"SHA256SUMS line {n} is not '<hex>  <filename>': {line!r}"
        assert m["name"] not in sums, f"SHA256SUMS lists {m['name']} twice"
        sums[m["name"]] = m["hex"]
    return sums


def items_of(name: str) -> list[Item]:
    """The items of a set, by file name."""
    items = load(HELDOUT / name)["items"]
    assert isinstance(items, list)
    return items


# --------------------------------------------------------------------------- generic checks


def test_sets_exist() -> None:
    """The folder holds at least one set and its SHA256SUMS."""
    assert SETS, f"no *.yaml in {HELDOUT}"
    assert SUMS.is_file()


def test_sums_name_existing_files() -> None:
    """Every line of SHA256SUMS names a file that is there (a frozen set is never deleted)."""
    for name in listed_sums():
        assert (HELDOUT / name).is_file(), f"SHA256SUMS lists {name}, which is missing"


@pytest.mark.parametrize("path", SETS, ids=lambda p: p.name)
def test_set_frozen_by_hash(path: Path) -> None:
    """A set is listed in SHA256SUMS with its current hash: an edit fails here."""
    sums = listed_sums()
    assert path.name in sums, f"{path.name} is not listed in SHA256SUMS"
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert digest == sums[path.name], (
        f"{path.name} changed after it was frozen: write a new file (e.g. _v2) instead"
    )


@pytest.mark.parametrize("path", SETS, ids=lambda p: p.name)
def test_common_format(path: Path) -> None:
    """Top-level keys, flags and the id / lang fields every item shares."""
    data = load(path)
    missing = TOP_KEYS - data.keys()
    assert not missing, f"{path.name}: missing top-level keys {sorted(missing)}"
    for key in ("name", "author", "purpose", "schema"):
        assert isinstance(data[key], str) and data[key].strip(), f"{path.name}: empty {key}"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(data["written"])), f"{path.name}: written"
    assert data["synthetic"] is True, f"{path.name}: synthetic must be true"
    assert data["frozen"] is True, f"{path.name}: frozen must be true"
    items = data["items"]
    assert isinstance(items, list) and items, f"{path.name}: items must be a non-empty list"
    for item in items:
        assert isinstance(item, dict), f"{path.name}: item {item!r} is not a mapping"
        assert isinstance(item.get("id"), str) and item["id"], f"{path.name}: item without id"
        assert item.get("lang") in LANGS, f"{path.name} {item['id']}: lang {item.get('lang')!r}"
    dupes = [i for i, n in Counter(item["id"] for item in items).items() if n > 1]
    assert not dupes, f"{path.name}: duplicate ids {dupes}"


# --------------------------------------------------------------------------- acute_crisis

LEVELS = {
    "wish_to_die",
    "active_ideation",
    "method",
    "intent",
    "plan",
    "preparatory",
    "attempt",
    "none",
}
ACUTE_TAGS = {
    "overdose",
    "cutting",
    "hanging",
    "jumping",
    "firearm",
    "drowning",
    "other_method",
    "time_word",
    "goodbye",
    "slang",
    "typo",
    "emoji",
    "split",
    "third_person",
    "hyperbole",
    "idiom",
    "prevention_talk",
    "grief",
    "fiction_or_news",
    "question_about_help",
    "eating_disorder",
    "self_injury",
}
ACUTE_KEYS = {"id", "lang", "level", "imminent", "tags", "text", "turns"}


def check_acute_item(item: Item) -> None:
    """One acute_crisis item: level, imminent, tags, and exactly one of text / turns."""
    iid = item["id"]
    assert set(item) <= ACUTE_KEYS, f"{iid}: unknown keys {sorted(set(item) - ACUTE_KEYS)}"
    assert item.get("level") in LEVELS, f"{iid}: level {item.get('level')!r}"
    assert isinstance(item.get("imminent"), bool), f"{iid}: imminent must be a boolean"
    tags = item.get("tags")
    assert isinstance(tags, list), f"{iid}: tags must be a list"
    assert set(tags) <= ACUTE_TAGS, f"{iid}: unknown tags {sorted(set(tags) - ACUTE_TAGS)}"
    assert len(set(tags)) == len(tags), f"{iid}: repeated tag"
    assert ("text" in item) != ("turns" in item), f"{iid}: exactly one of text / turns"
    if "text" in item:
        assert isinstance(item["text"], str) and item["text"].strip(), f"{iid}: empty text"
    else:
        turns = item["turns"]
        assert isinstance(turns, list) and 2 <= len(turns) <= 3, f"{iid}: 2-3 turns"
        assert all(isinstance(t, str) and t.strip() for t in turns), f"{iid}: empty turn"
    assert ("split" in tags) == ("turns" in item), f"{iid}: tag split iff turns"
    if item["level"] == "none":
        assert item["imminent"] is False, f"{iid}: a look-alike is never imminent"
    else:
        assert "third_person" not in tags, f"{iid}: third_person is for look-alikes only"


def check_acute(items: list[Item]) -> None:
    """Every item well formed, and the sizes the set was written to."""
    for item in items:
        check_acute_item(item)
    for lang in sorted(LANGS):
        mine = [i for i in items if i["lang"] == lang]
        pos = [i for i in mine if i["level"] != "none"]
        assert len(pos) >= 60, f"{lang}: {len(pos)} acute positives"
        per_level = Counter(i["level"] for i in pos)
        for level in LEVELS - {"none"}:
            assert per_level[level] >= 6, f"{lang}: {per_level[level]} at {level}"
        assert sum(i["imminent"] for i in pos) >= 40, f"{lang}: too few imminent"
        assert per_level["attempt"] >= 12, f"{lang}: too few attempts"
        assert sum("turns" in i for i in pos) >= 10, f"{lang}: too few split conversations"
        noisy = [i for i in pos if {"slang", "typo", "emoji"} & set(i["tags"])]
        assert len(noisy) >= 15, f"{lang}: too few slang / typo / emoji positives"
        assert len(mine) - len(pos) >= 35, f"{lang}: too few look-alikes"


# --------------------------------------------------------------------------- encouragement

ENCOURAGE_CLASSES = {
    "plain",
    "spelling",
    "spacing",
    "homoglyph",
    "zero_width",
    "fullwidth",
    "leet",
    "euphemism",
    "french_slang",
    "markdown",
    "url_encoding",
    "long_prefix",
    "name_appended",
}
BENIGN_MINIMUMS = {
    "supportive": 35,
    "forbidding": 15,
    "everyday": 30,
    "everyday_obfuscated": 20,
    "lookalike": 20,
}
ENC_KEYS = {"id", "lang", "label", "class", "text", "base"}
ZERO_WIDTH = set("\u200b\u200c\u200d\u2060\ufeff")
CLASS_MARKERS: dict[str, Callable[[str], bool]] = {
    "homoglyph": lambda t: any("\u0370" <= c <= "\u052f" for c in t),
    "zero_width": lambda t: any(c in ZERO_WIDTH for c in t),
    "fullwidth": lambda t: any("\uff01" <= c <= "\uff5e" or c == "\u3000" for c in t),
    "url_encoding": lambda t: re.search(r"%[0-9A-Fa-f]{2}|&#?\w+;", t) is not None,
}


def check_enc_item(item: Item) -> None:
    """One encouragement_adversarial item: label, class, text, base, and its trick."""
    iid = item["id"]
    assert set(item) <= ENC_KEYS, f"{iid}: unknown keys {sorted(set(item) - ENC_KEYS)}"
    label, cls, text = item.get("label"), item.get("class"), item.get("text")
    assert isinstance(text, str) and text.strip(), f"{iid}: empty text"
    if label == "encourage":
        assert cls in ENCOURAGE_CLASSES, f"{iid}: class {cls!r} for encourage"
        assert ("base" in item) == (cls != "plain"), f"{iid}: base iff obfuscated"
    else:
        assert label == "benign", f"{iid}: label {label!r}"
        assert cls in BENIGN_MINIMUMS, f"{iid}: class {cls!r} for benign"
        assert "base" not in item or cls == "everyday_obfuscated", f"{iid}: unexpected base"
    if "base" in item:
        base = item["base"]
        assert isinstance(base, str) and base.strip(), f"{iid}: empty base"
        assert base != text, f"{iid}: base equals text"
    if label == "encourage" and cls in CLASS_MARKERS:
        assert CLASS_MARKERS[cls](text), f"{iid}: no {cls} trick in the text"
    if cls == "long_prefix":
        assert text.endswith(item["base"]), f"{iid}: the encouragement must close the text"
        prefix = text[: -len(item["base"])].rstrip()
        assert 2000 <= len(prefix) <= 3000, f"{iid}: prefix of {len(prefix)} characters"


def check_enc(items: list[Item]) -> None:
    """Every item well formed, and the sizes the set was written to."""
    for item in items:
        check_enc_item(item)
    enc = [i for i in items if i["label"] == "encourage"]
    ben = [i for i in items if i["label"] == "benign"]
    assert len(enc) >= 160 and len(ben) >= 120
    assert sum(i["lang"] == "fr" for i in enc) >= 55
    assert sum(i["lang"] == "fr" for i in ben) >= 45
    for cls in ENCOURAGE_CLASSES:
        mine = [i for i in enc if i["class"] == cls]
        assert len(mine) >= 8, f"{len(mine)} encourage items of class {cls}"
        langs = {i["lang"] for i in mine}
        assert langs == ({"fr"} if cls == "french_slang" else LANGS), f"{cls}: {langs}"
    counts = Counter(i["class"] for i in ben)
    for cls, least in BENIGN_MINIMUMS.items():
        assert counts[cls] >= least, f"{counts[cls]} benign items of class {cls}"


# --------------------------------------------------------------------------- per-set schemas

SET_CHECKS: dict[str, Callable[[list[Item]], None]] = {
    "acute_crisis_v12.yaml": check_acute,
    "encouragement_adversarial_v12.yaml": check_enc,
    "acute_crisis_v13.yaml": check_acute,
}
# Held-out sets worn by tuning and retired to benchmarks/dev/ (README, "Changes"): they are
# development sets now, still checked for the schema the runners read.
RETIRED: dict[str, Callable[[list[Item]], None]] = {
    "acute_crisis_v1.yaml": check_acute,
    "encouragement_adversarial_v1.yaml": check_enc,
    "acute_crisis_v2.yaml": check_acute,
    "encouragement_adversarial_v2.yaml": check_enc,
    "acute_crisis_v3.yaml": check_acute,
    "encouragement_adversarial_v3.yaml": check_enc,
    "acute_crisis_v4.yaml": check_acute,
    "encouragement_adversarial_v4.yaml": check_enc,
    "acute_crisis_v5.yaml": check_acute,
    "encouragement_adversarial_v5.yaml": check_enc,
    "acute_crisis_v6.yaml": check_acute,
    "encouragement_adversarial_v6.yaml": check_enc,
    "acute_crisis_v7.yaml": check_acute,
    "encouragement_adversarial_v7.yaml": check_enc,
    "acute_crisis_v8.yaml": check_acute,
    "encouragement_adversarial_v8.yaml": check_enc,
    "acute_crisis_v9.yaml": check_acute,
    "encouragement_adversarial_v9.yaml": check_enc,
    "acute_crisis_v10.yaml": check_acute,
    "encouragement_adversarial_v10.yaml": check_enc,
    "acute_crisis_v11.yaml": check_acute,
    "encouragement_adversarial_v11.yaml": check_enc,
}
DEV = HELDOUT.parent / "dev"


@pytest.mark.parametrize("name", sorted(SET_CHECKS))
def test_set_schema(name: str) -> None:
    """The set-specific schema, for the sets that have one."""
    if not (HELDOUT / name).is_file():
        pytest.skip(f"{name} is not in {HELDOUT}")
    SET_CHECKS[name](items_of(name))


@pytest.mark.parametrize("name", sorted(RETIRED))
def test_retired_set_schema(name: str) -> None:
    """A retired set keeps its schema in benchmarks/dev/ (the runners read it with --set)."""
    data = load(DEV / name)
    items = data["items"]
    assert isinstance(items, list)
    RETIRED[name](items)
