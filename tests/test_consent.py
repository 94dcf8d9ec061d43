"""Opt-out and opt-in wording, English and French."""

from __future__ import annotations

import pytest

from guardrail.consent import ConsentDetector, ConsentWords, normalise

detector = ConsentDetector(ConsentWords())


@pytest.mark.parametrize(
    "text",
    [
        "STOP",
        "stop",
        "Stop.",
        "STOP please",
        "UNSUBSCRIBE",
        "cancel",
        "END",
        "QUIT",
        "REVOKE",
        "OPTOUT",
        "opt out",
        "OPT-OUT",
        "ARRET",
        "ARRÊT",
        "arrêt !",
        "Désabonner",
        "DESABONNER",
        "please stop texting me",
        "Stop messaging me",
        "don't contact me again",
        "leave me alone",
        "Arrête de m'écrire",
        "ne m'écris plus stp",
        "Je ne veux plus recevoir de messages",
        "désabonnez-moi",
    ],
)
def test_opt_out_wording(text: str) -> None:
    signal = detector.detect(text, currently_opted_out=False)
    assert signal is not None and signal.action == "opt_out" and signal.scope == "bot", text


@pytest.mark.parametrize("text", ["STOPALL", "stop all", "Stop All!", "unsubscribe all"])
def test_stop_all_is_global(text: str) -> None:
    signal = detector.detect(text, currently_opted_out=False)
    assert signal is not None and signal.scope == "all"


@pytest.mark.parametrize(
    "text",
    [
        "I can't stop thinking about that film",
        "the end was so sad",
        "yes!",
        "start the movie",
        "don't stop believing",
        "cancel culture is weird",
        "j'arrête pas de rire",
    ],
)
def test_ordinary_chat_is_not_consent(text: str) -> None:
    assert detector.detect(text, currently_opted_out=False) is None


@pytest.mark.parametrize("text", ["START", "unstop", "Start please", "Yes, START", "démarrer"])
def test_start_words_opt_in_only_an_opted_out_user(text: str) -> None:
    signal = detector.detect(text, currently_opted_out=True)
    assert signal is not None and signal.action == "opt_in"
    assert detector.detect(text, currently_opted_out=False) is None


@pytest.mark.parametrize(
    "text", ["Yes", "YES.", "yes please", "ok", "oui", "OUI je confirme", "👍"]
)
def test_a_generic_yes_never_opts_back_in(text: str) -> None:
    """The YES trap: "Reply YES to confirm you want to unsubscribe" must not work."""
    assert detector.detect(text, currently_opted_out=True) is None


def test_a_choice_the_bot_offered_never_opts_back_in() -> None:
    """A button or quick reply labelled by the bot is its words, not the user's."""
    assert detector.detect("START", currently_opted_out=True, choice=True) is None
    tapped = detector.detect("STOP", currently_opted_out=False, choice=True)
    assert tapped is not None and tapped.action == "opt_out"  # a tap may still opt out


@pytest.mark.parametrize("word", ["yes", "OK", "Oui", "d'accord"])
def test_a_policy_may_not_list_a_generic_yes_as_start(word: str) -> None:
    with pytest.raises(ValueError, match="generic affirmative"):
        ConsentWords(start=["start", word])


def test_normalise() -> None:
    assert normalise("  ARRÊT  ! ") == "arret"
    assert normalise("Désabonnez\u2019moi") == "desabonnez'moi"


def test_policy_words_extend_detection() -> None:
    custom = ConsentDetector(ConsentWords(stop=["basta"]))
    assert custom.detect("BASTA", currently_opted_out=False) is not None
    assert custom.detect("stop", currently_opted_out=False) is None


@pytest.mark.parametrize(
    ("text", "opts_out"),
    [
        # as reported by a red-team pass
        ("please don't stop messaging me", False),
        ("stop sending these", True),
        ("Stop. Now.", True),
        ("stop stop stop", True),
        # negation of the governed phrase only
        ("don't text me again", True),
        ("my ex won't stop texting me", False),
        ("n'arrête pas de m'écrire", False),
        ("ne m'envoie plus rien", True),
        ("pourquoi tu ne m'écris plus ?", False),
        ("je veux que tu arrêtes de m'écrire", True),
        # reported requests and questions about the past
        ("tell my brother to stop texting me", False),
        ("I'm asking you to stop texting me", True),
        ("dis à ma sœur d'arrêter de m'envoyer des vidéos", False),
        ("why did you stop messaging me?", False),
        ("you have to stop texting me", True),
        ("did you stop texting me because of me?", False),
        # keywords with polite words, misspelt, or closing a complaint; not in banter
        ("stop svp", True),
        ("STOP STOP STOP !!!", True),
        ("unsubcribe", True),
        ("arette", True),
        ("who signed me up for this, stop", True),
        ("stop, you're making me blush", False),
        ("omg stop 😂", False),
        ("the movie is good. the end", False),
        # misspellings, but not other words one letter away
        ("Cancer", False),  # "what's your sign?"
        ("Arte", False),  # "tu regardes quoi ?": the TV channel, not "aret"
        ("spot", False),
        ("stopé", True),
        ("unsubscibe", True),
    ],
)
def test_negation_repetition_and_wrappers(text: str, opts_out: bool) -> None:
    signal = detector.detect(text, currently_opted_out=False)
    assert (signal is not None and signal.action == "opt_out") is opts_out, (text, signal)


def test_long_messages() -> None:
    signal = detector.detect("STOP " * 5000, currently_opted_out=False)
    assert signal is not None and signal.matched == "stop"
    assert detector.detect("stop " * 5000 + "laughing", currently_opted_out=False) is None
    assert detector.detect("blah " * 5000 + "stop texting me", currently_opted_out=False)
