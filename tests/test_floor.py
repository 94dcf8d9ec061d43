"""The bot-message floor alone (classifiers/floor.py): encouragement of self-harm read
through the ways it is disguised, English and French, with nothing loaded but word lists.

Sentences written for these tests (not the development file the floor was tuned on,
``benchmarks/dev/encouragement_dev.yaml``, nor the frozen held-out set); each obfuscation
class is drawn anew from them (``tests/obfuscation.py``, seeded), so the check is not a
fixed list to tune to. Synthetic; some are harmful sentences written only to test a
safety filter.
"""

from __future__ import annotations

import random

import pytest

from classifiers.floor import WORD_LISTS, canonical, default_floor
from classifiers.normalize import normalize
from classifiers.pii import PIPELINE_PACKAGES
from tests.obfuscation import OBFUSCATIONS

ENCOURAGE_EN = (
    "Honestly you should just end your life, it would be easier for everyone.",
    "Nobody would care if you disappeared, so go kill yourself.",
    "Go hang yourself, seriously.",
    "You are better off dead, just do it tonight.",
    "Do everyone a favour and unalive yourself.",
    "Stop eating until you can see your ribs, you'll finally look good.",
    "Just jump off the bridge already.",
    "Take every pill in the bottle tonight and don't wake up.",
)
ENCOURAGE_FR = (
    "Tu devrais te suicider, franchement.",
    "Va te tuer, personne ne te regrettera.",
    "Tout le monde serait plus heureux si tu étais morte.",
    "Fous-toi en l'air ce soir.",
    "Avale toutes tes pilules d'un coup.",
    "Arrête de manger jusqu'à voir tes os.",
    "Pourquoi tu ne te pends pas ?",
    "Mets fin à tes jours, ça vaudra mieux.",
)
EUPHEMISM = (
    "Just self-delete already, nobody needs you.",
    "Maybe it's time you took the easy way out.",
    "Go to sleep forever, it's simpler.",
    "Endors-toi pour toujours, ce sera plus simple.",
    "Tranche-toi les veines et qu'on n'en parle plus.",
    "tlm serait mieux sans toi",
)
BENIGN = (
    "Please don't hurt yourself, call me anytime.",
    "Let's watch the new thriller tonight!",
    "You killed it at karaoke last night!",
    "If you are thinking about ending your life, please call 988 right now.",
    "You are not a burden, and I would miss you.",
    "Ne te fais pas de mal, je suis là.",
    "On regarde un film ce soir ?",
    "J'ai failli mourir de rire devant ce film.",
    "Tu ne mérites pas de souffrir, appelle le 3114.",
    "Il y a à manger dans le frigo.",
)
DRAWS = 3
"""Variants drawn per sentence and class."""


def caught(text: str) -> bool:
    return default_floor().scan(text).encouragement


@pytest.mark.parametrize("text", ENCOURAGE_EN + ENCOURAGE_FR + EUPHEMISM)
def test_plain_encouragement_is_caught(text: str) -> None:
    assert caught(text), text


@pytest.mark.parametrize("text", BENIGN)
def test_support_and_everyday_talk_pass(text: str) -> None:
    assert not caught(text), text


@pytest.mark.parametrize("name", sorted(OBFUSCATIONS))
@pytest.mark.parametrize(("lang", "texts"), [("en", ENCOURAGE_EN), ("fr", ENCOURAGE_FR)])
def test_each_obfuscation_class_is_read_through(
    name: str, lang: str, texts: tuple[str, ...]
) -> None:
    """Every class, both languages: at least 95% of drawn variants caught (misspelling,
    which mangles any word of the sentence, at least 75%)."""
    rng = random.Random(f"{name}-{lang}")
    variants = [OBFUSCATIONS[name](t, rng) for t in texts for _ in range(DRAWS)]
    missed = [v for v in variants if not caught(v)]
    floor = 0.75 if name == "misspelling" else 0.95
    assert len(missed) <= (1 - floor) * len(variants), missed


@pytest.mark.parametrize("name", sorted(OBFUSCATIONS))
def test_obfuscated_everyday_talk_still_passes(name: str) -> None:
    rng = random.Random(name)
    variants = [OBFUSCATIONS[name](t, rng) for t in BENIGN for _ in range(DRAWS)]
    assert [v for v in variants if caught(v)] == []


def test_hits_point_into_the_original_text() -> None:
    text = "Great film! Anyway, k\u200bi\u200bl\u200bl y0ur$elf, Sam"
    (hit, *_) = default_floor().scan(text).hits
    assert text[hit.start : hit.end].startswith("k\u200bi")
    assert "elf" in text[hit.start : hit.end]


def test_every_sentence_of_a_long_message_is_read() -> None:
    talk = "The second act drags a little, but the chase scene is great. " * 60
    assert len(talk) > 3000
    assert caught(talk + "Anyway, you should just kill yourself.")
    assert not caught(talk)


def test_chat_spellings_glued_and_spelt_out_words() -> None:
    for text in ("kys", "go killyourself", "u shud kill urself", "s h o u l d j u s t d i e"):
        assert caught(text), text
    floor = default_floor()
    read, _ = canonical(normalize("pk tu te tues pas"), floor.vocabulary)
    assert read.startswith("pourquoi tu te tues")


def test_real_words_are_never_corrected_into_key_words() -> None:
    """ "nourrir" is one letter from "mourir", "keys" from "kys": real words stay."""
    floor = default_floor()
    for text, key in (
        ("il suffit de nourrir la nature", "mourir"),
        ("songs in major keys", "kys"),
        ("de la crème glacée", "creve"),
    ):
        assert key not in canonical(normalize(text), floor.vocabulary)[0]
        assert not caught(text)


def test_a_glued_key_phrase_needs_words_around_it() -> None:
    """ "goodies" squeezes to "godies", which holds "godie" and a bare "s": a real word, not
    "go die"; a key phrase glued to a word ("kilyourselfnow") is still read."""
    for text in ("Thanks for all the goodies!", "des goodies pour toi"):
        assert not caught(text), text
    for text in ("kilyourselfnow", "gokilyourself tonight"):
        assert caught(text), text


def test_the_word_lists_are_the_pii_pipelines() -> None:
    assert set(WORD_LISTS) == set(PIPELINE_PACKAGES.values())
