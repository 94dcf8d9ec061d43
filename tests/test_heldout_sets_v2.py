"""Set-specific checks of three frozen held-out sets: optout_v2, minor_signals, sensitive_followups.

The generic test (tests/test_heldout_sets.py) checks every set's hash and common schema. This one
checks what is particular to these three: the label values and the fields each label carries,
unique ids, the minimum sizes the sets were written to, and a few properties of the forms (a
zero_width item does hold an invisible character). It reads the files and never changes them.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from classifiers.results import SENSITIVE_CATEGORIES

HELDOUT = Path(__file__).resolve().parent.parent / "benchmarks" / "heldout"

Item = dict[str, Any]

TOP_KEYS = {"name", "written", "author", "purpose", "synthetic", "frozen", "schema", "items"}
LANGS = {"en", "fr"}
SETS = {
    "optout_v2": "oo2-",
    "minor_signals": "ms-",
    "sensitive_followups": "sf-",
}

OPTOUT_LABELS = {"opt_out", "opt_in", "generic_yes", "neg", "chat"}
OPTOUT_FORMS = {
    "keyword",
    "emoji",
    "spaced",
    "zero_width",
    "digit",
    "case_punct",
    "blunt",
    "polite",
    "indirect",
}

MINOR_CUES = {"age", "school_year", "parents_rules", "school_life", "other"}
ADULT_CUES = {
    "parent_of_child",
    "teacher",
    "past_self",
    "adult_life",
    "ambiguous_school",
    "other",
}
HARD_NEGATIVE_CUES = {"parent_of_child", "teacher", "past_self"}

CATEGORIES = set(SENSITIVE_CATEGORIES)
POSITIONS = {"preview", "body"}
BENIGN_KINDS = {"benign_personal", "benign_everyday", "hard_negative"}


def load(name: str) -> dict[str, Any]:
    with (HELDOUT / f"{name}.yaml").open(encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    assert isinstance(data, dict)
    return data


def items_of(name: str) -> list[Item]:
    items = load(name)["items"]
    assert isinstance(items, list)
    assert all(isinstance(it, dict) for it in items)
    return items


def count(items: list[Item], **where: Any) -> int:
    return sum(all(it.get(k) == v for k, v in where.items()) for it in items)


@pytest.fixture(scope="module")
def optout() -> list[Item]:
    return items_of("optout_v2")


@pytest.fixture(scope="module")
def minors() -> list[Item]:
    return items_of("minor_signals")


@pytest.fixture(scope="module")
def sensitive() -> list[Item]:
    return items_of("sensitive_followups")


# ------------------------------------------------------------------------------------ all three


@pytest.mark.parametrize("name", sorted(SETS))
def test_header(name: str) -> None:
    data = load(name)
    assert set(data) == TOP_KEYS
    assert data["name"] == name
    assert str(data["written"]) == "2026-12-06"
    assert data["author"] == "a helper session that did not read or change the detectors"
    assert data["synthetic"] is True
    assert data["frozen"] is True
    assert isinstance(data["purpose"], str) and len(data["purpose"]) > 100
    assert isinstance(data["schema"], str) and len(data["schema"]) > 100


@pytest.mark.parametrize("name", sorted(SETS))
def test_ids_langs_texts(name: str) -> None:
    items = items_of(name)
    ids = [it["id"] for it in items]
    assert all(isinstance(i, str) and i.startswith(SETS[name]) for i in ids)
    duplicated = [i for i, n in Counter(ids).items() if n > 1]
    assert not duplicated, duplicated
    assert {it["lang"] for it in items} == LANGS
    for it in items:
        assert isinstance(it["text"], str) and it["text"].strip(), it["id"]
    # the same message in the same language is written once
    pairs = Counter((it["lang"], it["text"]) for it in items)
    assert not [p for p, n in pairs.items() if n > 1]


@pytest.mark.parametrize("name", sorted(SETS))
def test_one_text_one_answer(name: str) -> None:
    """A message that appears in both languages carries the same label in both."""
    seen: dict[str, str] = {}
    for it in items_of(name):
        answer = str(it.get("label", it.get("categories")))
        assert seen.setdefault(it["text"], answer) == answer, it["id"]


# ------------------------------------------------------------------------------------ optout_v2


def test_optout_fields(optout: list[Item]) -> None:
    for it in optout:
        assert it["label"] in OPTOUT_LABELS, it["id"]
        if it["label"] == "opt_out":
            assert set(it) == {"id", "lang", "label", "form", "text"}, it["id"]
            assert it["form"] in OPTOUT_FORMS, it["id"]
        else:
            assert set(it) == {"id", "lang", "label", "text"}, it["id"]


def test_optout_sizes(optout: list[Item]) -> None:
    assert count(optout, label="opt_out") >= 90
    assert count(optout, label="opt_out", lang="fr") >= 40
    for form in OPTOUT_FORMS:
        assert count(optout, label="opt_out", form=form) >= 6, form
        for lang in LANGS:
            assert count(optout, label="opt_out", form=form, lang=lang) >= 1, (form, lang)
    assert count(optout, label="opt_in") >= 20
    assert count(optout, label="generic_yes") >= 25
    assert count(optout, label="neg") >= 60
    assert count(optout, label="neg", lang="fr") >= 25
    assert count(optout, label="chat") >= 30
    for label in ("opt_in", "generic_yes", "chat"):
        for lang in LANGS:
            assert count(optout, label=label, lang=lang) >= 1, (label, lang)


def _invisible(text: str) -> bool:
    return any(unicodedata.category(ch) == "Cf" for ch in text)


def test_optout_forms_hold_what_they_name(optout: list[Item]) -> None:
    spaced = re.compile(r"\w[ .\-_]\w[ .\-_]\w[ .\-_]\w")
    for it in optout:
        form, text = it.get("form"), it["text"]
        if form == "zero_width":
            assert _invisible(text), it["id"]
        elif form == "digit":
            assert any(ch.isdigit() for ch in text), it["id"]
        elif form == "spaced":
            assert spaced.search(text), it["id"]
        elif form == "emoji":
            assert any(e in text for e in ("\U0001f6d1", "\u270b", "\U0001f6ab")), it["id"]
        elif form is not None:
            assert not _invisible(text), it["id"]
    # invisible characters appear in zero_width items only
    assert all(it.get("form") == "zero_width" for it in optout if _invisible(it["text"]))


# ------------------------------------------------------------------------------------ minor_signals


def test_minor_fields(minors: list[Item]) -> None:
    for it in minors:
        assert set(it) == {"id", "lang", "label", "cue", "text"}, it["id"]
        assert it["label"] in {"minor", "adult"}, it["id"]
        cues = MINOR_CUES if it["label"] == "minor" else ADULT_CUES
        assert it["cue"] in cues, it["id"]


def test_minor_sizes(minors: list[Item]) -> None:
    assert count(minors, label="minor") >= 70
    assert count(minors, label="minor", lang="fr") >= 30
    assert count(minors, label="adult") >= 110
    assert count(minors, label="adult", lang="fr") >= 45
    hard = [it for it in minors if it["label"] == "adult" and it["cue"] in HARD_NEGATIVE_CUES]
    assert len(hard) >= 40
    for label, cues in (("minor", MINOR_CUES), ("adult", ADULT_CUES)):
        for cue in cues:
            for lang in LANGS:
                assert count(minors, label=label, cue=cue, lang=lang) >= 1, (label, cue, lang)


# ------------------------------------------------------------------------------------ sensitive


def test_sensitive_fields(sensitive: list[Item]) -> None:
    for it in sensitive:
        cats = it["categories"]
        assert isinstance(cats, list), it["id"]
        assert len(set(cats)) == len(cats) and set(cats) <= CATEGORIES, it["id"]
        if cats:
            assert set(it) == {"id", "lang", "categories", "position", "text"}, it["id"]
            assert it["position"] in POSITIONS, it["id"]
        else:
            assert set(it) == {"id", "lang", "categories", "kind", "text"}, it["id"]
            assert it["kind"] in BENIGN_KINDS, it["id"]


def test_sensitive_sizes(sensitive: list[Item]) -> None:
    flagged = [it for it in sensitive if it["categories"]]
    assert len(flagged) >= 160
    assert sum(it["lang"] == "fr" for it in flagged) >= 65
    assert sum(it["position"] == "body" for it in flagged) >= 40
    for cat in CATEGORIES:
        with_cat = [it for it in flagged if cat in it["categories"]]
        assert len(with_cat) >= 8, cat
        assert {it["lang"] for it in with_cat} == LANGS, cat
    assert count(sensitive, kind="benign_personal") >= 90
    assert count(sensitive, kind="benign_personal", lang="fr") >= 35
    assert count(sensitive, kind="benign_everyday") >= 40
    assert count(sensitive, kind="hard_negative") >= 40


def test_sensitive_body_items_open_neutrally(sensitive: list[Item]) -> None:
    """A body item is long enough that its first 70 characters can be a neutral opener."""
    for it in sensitive:
        if it.get("position") == "body":
            assert len(it["text"]) > 90, it["id"]
