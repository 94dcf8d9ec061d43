"""Opt-out and opt-in wording in user messages, English and French.

Keywords count when they are (nearly) the whole message, as carriers and the FCC
treat them; free wording ("please stop texting me", "ne m'écris plus") counts
anywhere. Matching ignores case, accents and punctuation. Word lists come from the
policy, so packs can add languages without code changes.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_STOP = [
    "stop",
    "stop please",
    "please stop",
    "unsubscribe",
    "cancel",
    "end",
    "quit",
    "revoke",
    "optout",
    "opt out",
    "opt-out",
    "arret",
    "arrete",
    "arretez",
    "desabonner",
    "desabonnement",
    "desinscription",
    "stopper",
]
DEFAULT_STOP_ALL = ["stopall", "stop all", "unsubscribe all", "arret tout", "arreter tout"]
DEFAULT_START = ["start", "unstop", "yes", "subscribe", "demarrer", "reprendre"]
DEFAULT_HELP = ["help", "info", "aide"]
DEFAULT_STOP_PHRASES = [
    r"\b(stop|quit|cease) (messaging|texting|contacting|writing to|sending me|bothering) ?(me)?\b",
    r"\b(do not|dont|don't|never) (message|text|contact|write to|send) me\b",
    r"\bleave me alone\b",
    r"\bno more (messages|texts)\b",
    r"\bunsubscribe me\b",
    r"\btake me off\b",
    r"\barret(e|ez|er)? de m(e |')?(ecrire|envoyer|contacter|harceler)",
    r"\bne m(e |')?(ecris|ecrivez|envoie|envoyez|contacte|contactez|ecrire) plus\b",
    r"\bje ne veux plus (de (tes|vos) )?(messages|recevoir|etre contacte)",
    r"\bdesabonne[rz]?[- ]moi\b",
    r"\blaisse[rz]?[- ]moi tranquille\b",
]


class ConsentWords(BaseModel):
    """The ``consent:`` section of a policy."""

    model_config = ConfigDict(extra="forbid")

    stop: list[str] = Field(
        default_factory=lambda: list(DEFAULT_STOP),
        description="whole-message keywords that opt the user out of this bot",
    )
    stop_all: list[str] = Field(
        default_factory=lambda: list(DEFAULT_STOP_ALL),
        description="whole-message keywords that opt the user out of every bot",
    )
    start: list[str] = Field(
        default_factory=lambda: list(DEFAULT_START),
        description="whole-message keywords that opt an opted-out user back in",
    )
    stop_phrases: list[str] = Field(
        default_factory=lambda: list(DEFAULT_STOP_PHRASES),
        description="regular expressions over the normalised text (lower case, no accents)",
    )
    help: list[str] = Field(
        default_factory=lambda: list(DEFAULT_HELP),
        description="whole-message keywords asking for help about the messages (CTIA HELP)",
    )
    help_reply: str | None = Field(
        default=None,
        description="the automatic answer to a help keyword, returned in the event result for "
        "the messaging engine to send as a reply; none: help keywords are only reported",
    )


@dataclass(frozen=True)
class ConsentSignal:
    action: Literal["opt_out", "opt_in"]
    scope: Literal["bot", "all"]
    matched: str


def normalise(text: str) -> str:
    """Lower case, strip accents and punctuation, collapse spaces ("ARRÊT !" → "arret")."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    bare = bare.replace("\u2019", "'")
    return " ".join(re.sub(r"[^\w' -]+", " ", bare).split())


class ConsentDetector:
    def __init__(self, words: ConsentWords) -> None:
        self._stop = {normalise(w) for w in words.stop}
        self._stop_all = {normalise(w) for w in words.stop_all}
        self._start = {normalise(w) for w in words.start}
        self._phrases = [re.compile(p) for p in words.stop_phrases]
        self._help = {normalise(w) for w in words.help}

    def is_help(self, text: str) -> bool:
        """The message is a help keyword ("HELP", "Aide ?"), nothing more."""
        return normalise(text).strip(" '-") in self._help

    def detect(self, text: str, *, currently_opted_out: bool) -> ConsentSignal | None:
        """Opt-out/opt-in intent of one user message, or None.

        "yes" and the other start words only opt back in a user who is opted out, so
        ordinary chat never flips consent.
        """
        norm = normalise(text)
        bare = norm.removesuffix(" please").removeprefix("please ").strip(" '-")
        if bare in self._stop_all:
            return ConsentSignal("opt_out", "all", bare)
        if bare in self._stop:
            return ConsentSignal("opt_out", "bot", bare)
        if currently_opted_out and bare in self._start:
            return ConsentSignal("opt_in", "bot", bare)
        for pattern in self._phrases:
            match = pattern.search(norm)
            if match:
                return ConsentSignal("opt_out", "bot", match.group(0))
        return None
