"""The sexual-content floor for known minors: English and French terms, with offsets."""

from __future__ import annotations

from pathlib import Path

import pytest

from classifiers.lexicons import LexiconError
from classifiers.sexual import SexualContentLexicon, default_sexual_lexicon
from guardrail.policy import Policy
from guardrail.rules.sexual_content import SexualContentParams


@pytest.mark.parametrize(
    "text",
    [
        "Send me a nude tonight",
        "I want to make love to you",
        "Tu veux qu'on fasse l'amour ?",
        "Déshabille-toi pour moi",
        "That was so SEXY",
    ],
)
def test_flags_sexual_terms(text: str) -> None:
    hits = default_sexual_lexicon().scan(text)
    assert hits, text
    assert text[hits[0].start : hits[0].end] == hits[0].term


@pytest.mark.parametrize(
    "text",
    [
        "Hope your week went well! Any new soundtracks lately?",
        "Tu as vu le nouveau film ? La bande-son est superbe.",
        "Essex is lovely in spring",  # 'sex' inside a word
        "Let's plan the number six",
    ],
)
def test_leaves_ordinary_messages(text: str) -> None:
    assert default_sexual_lexicon().scan(text) == []


def test_rule_is_off_by_default_and_bad_files_are_refused(tmp_path: Path) -> None:
    params = Policy().rule_params("sexual_content")
    assert isinstance(params, SexualContentParams) and not params.enabled
    bad = tmp_path / "sexual.yaml"
    bad.write_text("en: ['(unclosed']\n")
    with pytest.raises(LexiconError, match="bad pattern"):
        SexualContentLexicon.load(bad)
