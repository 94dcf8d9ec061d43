"""Required words of a pattern: every match holds one of them as a whole token (the crisis
grammar's prefilter must never hide a match)."""

from __future__ import annotations

import re

import pytest

from classifiers.crisis_grammar import _TRIGGERS, default_grammar, fold_french
from classifiers.pattern_keys import required_words
from classifiers.training.synthetic import crisis_sentences as S


@pytest.mark.parametrize(
    ("pattern", "text"),
    [
        ("kil (?:myself|my self)", "kil my self"),
        ("(?:pils?|meds)", "pil"),
        ("(?:(?:al|al of) )?(?:pils?|meds)", "al of pils"),
        ("(?:gona |to )rope", "to rope"),
        ("[0-9]+ floor", "12 floor"),
        ("tok|taken|swalowed", "swalowed"),
    ],
)
def test_a_match_holds_a_required_word(pattern: str, text: str) -> None:
    found = required_words(pattern)
    assert found is not None and re.fullmatch(pattern, text)
    assert found & set(text.split(" "))


def test_common_words_are_never_keys() -> None:
    assert required_words("do it|go through with it", {"do", "it", "go", "with", "through"}) is None


def test_every_required_set_is_sound_on_matches() -> None:
    """For each trigger pattern, every match in the synthetic sentences holds a key."""
    g = default_grammar()
    texts = [t for tab in (S.EN, S.FR, S.EN_MORE, S.FR_MORE) for rows in tab.values()
             for t, _ in rows] + S.EN_NONE + S.FR_NONE  # fmt: skip
    for lang in g.languages:
        for kind in _TRIGGERS:
            for entry in lang.kinds[kind]:
                for text in texts:
                    for m in entry.pattern.finditer(_read_by(lang.code, g.prepared(text))):
                        if entry.keys is not None:
                            assert entry.keys & set(m.group(0).split(" ")), (kind, m.group(0))


def test_prefilter_keeps_every_crisis_sentence() -> None:
    g = default_grammar()
    for text, _, _ in [(t, lv, i) for tab in (S.EN, S.FR) for lv, rows in tab.items()
                       for t, i in rows]:  # fmt: skip
        p = g.prepared(text)
        assert any(
            not lang.trigger_words.isdisjoint(_read_by(lang.code, p).split(" "))
            or (lang.trigger is not None and re.search(lang.trigger, _read_by(lang.code, p)))
            for lang in g.languages_of(p)
        ), text


def _read_by(code: str, prepared: str) -> str:
    """The text a language's grammar reads (French folds its chat spellings first)."""
    return fold_french(prepared) if code == "fr" else prepared
