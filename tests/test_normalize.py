"""The one normalisation every content check reads: each obfuscation class undone, plain
text untouched, and every character traced back to the original (for redaction)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from classifiers.normalize import bounded, fold, normalize, visible

# Invented sentences; the obfuscations are of the word "window", a harmless target.
OBFUSCATED = {
    "spaced": "open the w i n d o w now",
    "dotted": "open the w.i.n.d.o.w now",
    "leet": "open the w1nd0w now",
    "fullwidth": "open the \uff57\uff49\uff4e\uff44\uff4f\uff57 now",
    "math bold": "open the \U0001d430\U0001d422\U0001d427\U0001d41d\U0001d428\U0001d430 now",
    "cyrillic": "open the w\u0456nd\u043ew now",  # look-alike letters
    "greek": "open the wind\u03bfw now",  # look-alike letters
    "zero width": "open the win\u200bd\u200dow now",
    "soft hyphen": "open the win\u00addow now",
    "zalgo": "open the w\u0337i\u0337n\u0337d\u0337o\u0337w now",
    "markdown": "open the **window** now",
    "markdown split": "open the *win*dow now",
    "html entity": "open the &#119;indow now",
    "percent": "open the w%69ndow now",
    "html tag": "open the <b>window</b> now",
}


@pytest.mark.parametrize("text", OBFUSCATED.values(), ids=OBFUSCATED.keys())
def test_each_obfuscation_reads_as_the_plain_text(text: str) -> None:
    assert normalize(text).text == "open the window now"


@pytest.mark.parametrize(
    "text",
    [
        "I hope you're having a wonderful day! Discovered any new soundtracks lately?",
        "J'espère que vous passez une magnifique journée ! Des nouvelles musiques ?",
        "See you at 4pm for the 2nd screening, row 3, seat 21st.",
        "My mp3 player and the ps5 are both broken :(",
        "Привет, как дела?",  # a Cyrillic text stays Cyrillic
        "Ça va très bien, à demain 😊",
        "il y a un film ce soir",
        "snake_case_name stays",
    ],
)
def test_ordinary_text_is_left_as_it_is(text: str) -> None:
    assert normalize(text).text == text


def test_repeated_letters_squeeze_to_two_and_fold_to_one() -> None:
    """Two keeps ordinary doubles (kill, good); the folded form meets the plain spelling."""
    assert normalize("open the windowwww now").text == "open the windoww now"
    assert fold("open the windowwww now") == fold("open the window now")


def test_struck_out_words_are_dropped_as_a_reader_skips_them() -> None:
    assert normalize("~~don't~~ open it").text.strip() == "open it"
    assert normalize("<s>don't</s> open it").text.strip() == "open it"


@pytest.mark.parametrize(
    "text",
    [
        "- open\n- the\n- window\n- now",
        "# open the\n## window now",
        "> open the window\n> now",
        "1. open the\n2) window now",
        "* open the window\n+ now",
        "\u200b- open the\n\x00- window now",  # a marker behind an invisible character
        "> - open the window now",  # nested markers
        "*- open the window now*",
    ],
)
def test_markdown_line_markers_are_dropped_as_a_reader_sees_the_words(text: str) -> None:
    """A sentence cut into list items, headings or quotes reads as its words, one per line."""
    assert " ".join(normalize(text).text.split()) == "open the window now"


@pytest.mark.parametrize(
    "text", ["It's -5 outside", "#TeamWindow wins", "3.5 stars", "-> next step"]
)
def test_a_marker_sign_inside_a_line_stays(text: str) -> None:
    assert normalize(text).text == text


def test_small_capitals_and_uppercase_leet() -> None:
    assert normalize("\u1d21\u026a\u0274\u1d05\u1d0f\u1d21").text == "window"
    assert normalize("ST0P").text == "STOP"
    assert normalize("$top").text == "stop"


def test_link_text_kept_target_dropped() -> None:
    assert normalize("[the window](http://example.test/a) now").text == "the window now"


def test_fold_is_what_lexicons_match() -> None:
    assert fold("STOOOP!") == fold("stop!") == "stop!"
    assert fold("ARRÊT") == "aret"  # accents off, doubled letters squeezed
    assert fold("k i l l") == fold("kill") == "kil"


def test_spans_map_back_to_the_original() -> None:
    text = "hi &#119;in\u200bdow there"
    n = normalize(text)
    start = n.text.index("window")
    begin, end = n.span(start, start + len("window"))
    assert text[begin:end] == "&#119;in\u200bdow"
    assert n.original == text and n.changed


@given(st.text(max_size=80))
def test_any_text_normalises_without_error_and_stays_put(text: str) -> None:
    """No input crashes it; a second pass changes nothing; origins run forward."""
    once = normalize(text)
    assert normalize(once.text).text == once.text
    assert list(once.origins) == sorted(once.origins)
    assert all(0 <= i < len(text) for i in once.origins)
    assert len(once.origins) == len(once.text)


def test_underscore_runs_are_markup_beside_punctuation_and_stay_inside_words() -> None:
    """A second pass must change nothing (found by the property test: ``0__``)."""
    assert normalize("0__").text == normalize("0_").text == "0"
    assert normalize("__fine__").text == "fine"
    assert normalize("snake_case").text == "snake_case"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("k-i-l-l y-o-u-r-s-e-l-f", "kill yourself"),  # one separator per run
        ("t.u.e t.o.i", "tue toi"),
        ("il y a à manger", "il y a à manger"),  # single-letter words stay words
        ("y-o-u", "you"),
        ("d i e", "die"),
    ],
)
def test_spaced_runs_use_one_separator_and_leave_words_alone(text: str, expected: str) -> None:
    assert normalize(text).text == expected


def test_censor_stars_stay_and_emphasis_goes() -> None:
    assert normalize("open the w*ndow now").text == "open the w*ndow now"
    assert normalize("open the w**dow now").text == "open the w**dow now"
    assert normalize("open the *win*dow now").text == "open the window now"


def test_enclosed_letters_read_as_letters() -> None:
    squared = "".join(chr(0x1F170 + ord(c) - ord("a")) for c in "window")  # 🅆🄸... negative
    assert normalize(f"open the {squared} now").text.lower() == "open the window now"


def test_visible_keeps_what_pii_reads() -> None:
    """Fullwidth digits and invisible characters go; an e-mail's ``_`` and digits stay."""
    text = "mail jo_hn2@example.test or call \uff10\uff16 12\u200b34 56 78"
    seen = visible(text)
    assert seen.text == "mail jo_hn2@example.test or call 06 1234 56 78"
    start = seen.text.index("06")
    assert seen.span(start, len(seen.text)) == (text.index("\uff10"), len(text))


def test_bounded_breaks_only_long_runs_and_keeps_offsets() -> None:
    word = "a" * 200
    text = f"call me at jo.doe@example.test {word} 555 0100"
    out = bounded(text)
    assert len(out) == len(text)
    assert out.startswith("call me at jo.doe@example.test ")
    assert out.endswith(" 555 0100")
    assert max(len(w) for w in out.split()) <= 48
    assert bounded("an ordinary message") == "an ordinary message"


@pytest.mark.parametrize("text", ["0-\x080-A", "1µ", "K|µ", "Þ%\x1066", "!µ\x96@\x9f", "k-1-l-l"])
def test_a_step_that_uncovers_another_is_read_again(text: str) -> None:
    """A control character inside a percent escape, a digit leetspeak makes a letter of a
    spelt-out run, a Greek letter a Latin word now surrounds: a second normalisation used
    to change these (the property test above found them at random)."""
    once = normalize(text)
    assert normalize(once.text).text == once.text
    assert list(once.origins) == sorted(once.origins)
