"""Opt-out and opt-in wording in user messages, English and French.

Two kinds of wording, as carriers and the FCC treat them:

- **keywords** (STOP, ARRET, UNSUBSCRIBE, CANCEL, START...) count when they are the whole
  message, give or take polite wrappers ("stop please", "stop svp"), repetitions ("stop
  stop stop"), punctuation ("Stop. Now."), emoji and common misspellings ("unsubcribe",
  "sotp", "arette"). "stop, you're making me blush" is not the keyword STOP; "this is
  spam, stop" is (a keyword as the last clause of a complaint, not after a laugh).
- **phrases** (policy regular expressions: "stop texting me", "ne m'écris plus") count
  anywhere, unless the words just before them negate or report them: "please don't stop
  messaging me", "my ex won't stop texting me", "tell my brother to stop texting me",
  "why did you stop messaging me?", "pourquoi tu ne m'écris plus ?" are not opt-outs.

Matching ignores case and accents. Word lists come from the policy, so packs can add
languages without code changes; the grammar around them (negators, laughter) is here.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from rapidfuzz.distance import OSA, Indel

from classifiers.linear_regex import PatternError, compile_all, compile_linear

DEFAULT_STOP = [
    "stop",
    "unsubscribe",
    "cancel",
    "end",
    "quit",
    "revoke",
    "optout",
    "opt out",
    "opt-out",
    "remove me",
    "wrong number",
    "no more messages",
    "no more texts",
    "arret",
    "arrete",
    "arretez",
    "stopper",
    "stoppez",
    "desabonner",
    "desabonnement",
    "desinscription",
    "desinscrire",
    "mauvais numero",
    "plus de messages",
]
DEFAULT_STOP_ALL = [
    "stopall",
    "stop all",
    "unsubscribe all",
    "arret tout",
    "arreter tout",
    "stop tout",
]
DEFAULT_START = [
    "start",
    "unstop",
    "yes",
    "subscribe",
    "resubscribe",
    "start again",
    "oui",
    "demarrer",
    "reprendre",
]
DEFAULT_HELP = ["help", "info", "aide"]
DEFAULT_FILLER = [
    "please",
    "now",
    "right now",
    "immediately",
    "asap",
    "thanks",
    "thank you",
    "thx",
    "ok",
    "okay",
    "just",
    "already",
    "svp",
    "stp",
    "s'il vous plait",
    "s'il te plait",
    "merci",
    "maintenant",
    "tout de suite",
]
_FOR_ME = r"(messaging|texting|contacting|writing to|writing|sending|bothering|spamming|calling)"
_THESE = r"(the |these |those |your |all |all these |all the |all your )?"
DEFAULT_STOP_PHRASES = [
    rf"\b(stop|quit|cease) {_FOR_ME}( me)?\b",
    rf"\b(stop|end|cancel|quit) {_THESE}(messages|texts|sms|notifications|alerts)\b",
    r"\b(do not|don't|never) (ever )?(message|text|contact|write to|send|call|bother) me\b",
    r"\bleave me alone\b",
    r"^(you have the |you've got the |you have |this is the |this is a |sorry )?"
    r"wrong (number|person)$",
    r"^(please )?remove (me|my number)$",
    r"\bno more (messages|texts|sms)\b",
    r"\b(unsubscribe|opt) me( out)?\b",
    r"\b(take|remove) (me|my number) (off|from) (this|the|your|these|all) "
    r"(list|lists|messages|texts|program|service)\b",
    r"\b(want|like|wish|need) to (unsubscribe|opt out|stop (getting|receiving) "
    r"(these|this|your|the|messages|texts))\b(?! from (?!(this|these|you|your|here)\b))",
    r"\b(no longer|don't|do not) want (to (get|receive) )?(these|this|your|any more|any)"
    r" ?(messages|texts|sms)\b",
    r"\barret(e|es|ez|er)? (de |d')m(e |')?(ecrire|envoyer|contacter|harceler|spammer|texter)",
    r"\barret(e|es|ez|er)? (les|vos|tes|ces) (messages|sms|textos|notifications)\b",
    r"\bstop (les|vos|tes|ces|aux) (messages|sms|textos|notifications)\b",
    r"\bne (plus )?m(e |')?(ecris|ecrivez|ecrire|envoie|envoyez|envoyer|contacte|contactez"
    r"|contacter)( plus)?\b",
    r"\bj(e ne |e |')(veux|souhaite|desire) plus (recevoir|etre contacte|de (tes |vos |ces )?"
    r"(messages|sms|textos)|(tes|vos|ces) (messages|sms|textos))",
    r"\bj(e |')(veux|voudrais|souhaite|souhaiterais|aimerais) (me )?(desabonner|desinscrire)\b"
    r"(?! (de|d'|du|des) )",
    r"\bdesabonne[rz]?[- ]moi\b",
    r"\bdesinscri(s|vez)[- ]moi\b",
    r"\blaisse[rz]?[- ]moi tranquille\b",
    r"\bf(ous|outez)[- ]moi la paix\b",
    r"\bretire[sz]?[- ]moi (de|des) (la|votre|vos|ta|cette) listes?\b",
    r"\bsupprime[sz]? mon numero\b",
    r"^(c'est un |vous avez le |tu as le |desole )?mauvais numero$",
]


def _linear(pattern: str) -> str:
    """A stop phrase must run in linear time (RE2): refused when the policy loads."""
    try:
        compile_linear(pattern)
    except PatternError as exc:
        raise ValueError(f"{pattern!r}: {exc}") from None
    return pattern


LinearPatternText = Annotated[str, AfterValidator(_linear)]


class ConsentWords(BaseModel):
    """The ``consent:`` section of a policy."""

    model_config = ConfigDict(extra="forbid")

    stop: list[str] = Field(
        default_factory=lambda: list(DEFAULT_STOP),
        description="keywords that opt out of this bot when they are the whole message "
        "(repeated, misspelt, with polite words around them)",
    )
    stop_all: list[str] = Field(
        default_factory=lambda: list(DEFAULT_STOP_ALL),
        description="whole-message keywords that opt out of every bot of the tenant",
    )
    start: list[str] = Field(
        default_factory=lambda: list(DEFAULT_START),
        description="whole-message keywords that opt a user back in (only one who opted out)",
    )
    stop_phrases: list[LinearPatternText] = Field(
        default_factory=lambda: list(DEFAULT_STOP_PHRASES),
        description="regular expressions over the normalised text (lower case, no accents, "
        "one clause at a time; 'pls', 'u', 'txt', 'dont'... spelt out); a match preceded by "
        "a negation ('don't stop texting me') or reported ('tell him to stop...') is ignored. "
        "Run by RE2 in linear time: no backreferences or lookbehind, a lookahead only at the "
        "end",
    )
    filler: list[str] = Field(
        default_factory=lambda: list(DEFAULT_FILLER),
        description="words a keyword may come with and still be the whole message "
        "('stop please', 'arret svp', 'Stop. Now.')",
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


# Laughing and affectionate emoji turn "stop" into banter ("omg stop 😂"); kept as a word.
_LAUGH_EMOJI = re.compile(
    "[\U0001f602\U0001f923\U0001f606\U0001f605\U0001f639\U0001f60a"
    "\U0001f618\U0001f60d\U0001f970\U0001f63b\u263a]"
)
_LAUGHTER = {"lol", "haha", "hahaha", "lmao", "rofl", "hehe", "mdr", "ptdr", "xd", "jk", "lolol"}
_CLAUSE = re.compile(r"[.!?;:,\n\u2026]+")
_ALIASES = {
    "pls": "please",
    "plz": "please",
    "plse": "please",
    "pleas": "please",
    "u": "you",
    "ur": "your",
    "txt": "text",
    "txts": "texts",
    "txting": "texting",
    "texing": "texting",
    "msg": "message",
    "msgs": "messages",
    "msging": "messaging",
    "dont": "don't",
    "cant": "can't",
    "wont": "won't",
    "didnt": "didn't",
    "doesnt": "doesn't",
    "im": "i'm",
}
_NEGATORS = {"not", "never", "cannot", "ne", "n'", "pas", "jamais", "without", "sans"}
# A question, not a request: "why did you stop texting me?" ("have to stop" is a request).
_NOT_A_REQUEST = {"did", "does"}
_TELL_EN = {"tell", "tells", "told", "telling", "ask", "asks", "asked", "asking"}
_TELL_FR = {"dis", "dit", "dites", "demande", "demandes", "demandez", "demandait"}
_ADDRESSEE = {"you", "y'all", "ya"}
_SUBJECTS_FR = {"tu", "il", "elle", "on", "ils", "elles", "vous", "nous"}
# Keywords too common in other senses to count as the last clause of a longer message.
_WHOLE_ONLY = {"end", "cancel", "quit", "revoke", "remove me", "fin", "annuler"}


def _words(text: str) -> list[str]:
    return [_ALIASES.get(w, w) for w in normalise(text).split()]


def _clauses(text: str) -> list[list[str]]:
    """The message as clauses of normalised words; laughing emoji become the word 'lol'."""
    marked = _LAUGH_EMOJI.sub(" lol ", text)
    return [words for part in _CLAUSE.split(marked) if (words := _words(part))]


def _inner_swap(a: str, b: str) -> bool:
    """``a`` is ``b`` with two adjacent letters swapped, first and last letters kept."""
    diff = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
    return (
        len(diff) == 2
        and diff[1] == diff[0] + 1
        and diff[0] > 0
        and diff[1] < len(a) - 1
        and (a[diff[0]], a[diff[1]]) == (b[diff[1]], b[diff[0]])
    )


def _squeeze(word: str) -> str:
    """Doubled letters as one ("stopp", "arrette", "unsubscribbe" are common slips)."""
    return re.sub(r"(.)\1+", r"\1", word)


class _Keywords:
    """Whole-message keyword phrases, matched word by word with misspellings allowed."""

    def __init__(self, phrases: list[str]) -> None:
        self.phrases = {tuple(_words(p)) for p in phrases if _words(p)}
        self.tokens = {w for p in self.phrases for w in p}
        self._single = {_squeeze(p[0]): p[0] for p in self.phrases if len(p) == 1}

    def canonical(self, word: str) -> str:
        """``word``, or the one-word keyword it misspells: doubled letters always ("stopp");
        a swap of two inner letters ("sotp", not "arte" for "aret"); one letter more or
        less from six letters on ("stopé"), and any one edit from seven ("unsubcribe");
        never a new word of the same length below seven ("cancer" is not "cancel")."""
        squeezed = _squeeze(word)
        if squeezed in self._single:
            return self._single[squeezed]
        if len(squeezed) < 4:
            return word
        for key, original in self._single.items():
            if len(key) < 4 or abs(len(key) - len(squeezed)) > 1:
                continue
            if len(key) >= 7:
                close = OSA.distance(squeezed, key, score_cutoff=1) <= 1
            elif len(key) == len(squeezed):
                close = _inner_swap(squeezed, key)
            else:
                close = len(key) >= 6 and Indel.distance(squeezed, key, score_cutoff=1) <= 1
            if close:
                return original
        return word

    def longest(self, words: list[str], start: int) -> int:
        """Length of the longest keyword phrase at ``words[start:]``; 0 when none."""
        best = 0
        for phrase in self.phrases:
            n = len(phrase)
            if n > best and tuple(words[start : start + n]) == phrase:
                best = n
        return best


def _only(words: list[str], keys: _Keywords, filler: _Keywords) -> str | None:
    """The keywords ``words`` consist of (with filler around them), or None."""
    known = keys.tokens | filler.tokens
    memo: dict[str, str] = {}
    fixed = []
    for word in words:  # give up at the first word no keyword or filler has
        if word not in memo:
            memo[word] = word if word in filler.tokens else keys.canonical(word)
        if memo[word] not in known:
            return None
        fixed.append(memo[word])
    found: list[str] = []
    i = 0
    while i < len(fixed):
        n = keys.longest(fixed, i)
        if n:
            found.append(" ".join(fixed[i : i + n]))
            i += n
            continue
        n = filler.longest(fixed, i)
        if not n:
            return None
        i += n
    return " ".join(dict.fromkeys(found)) or None


def _negated(before: list[str]) -> bool:
    near = before[-3:]
    return any(w in _NEGATORS or w.endswith(("n't", "n'")) for w in near) or any(
        w in _NOT_A_REQUEST for w in before[-2:]
    )


def _reported(before: list[str]) -> bool:
    """Someone else is asked to stop: "tell my brother to stop", "dis à ma sœur d'arrêter"."""
    for i in range(len(before) - 1, -1, -1):
        word, after = before[i], before[i + 1] if i + 1 < len(before) else ""
        if word in _TELL_EN:
            return after not in _ADDRESSEE
        if word in _TELL_FR:
            return after in {"a", "au", "aux"}
    return False


def _described(before: list[str]) -> bool:
    """A statement about someone ("tu ne m'écris plus"), not an order ("ne m'écris plus");
    "je veux que tu arrêtes" stays an order."""
    return bool(before) and before[-1] in _SUBJECTS_FR and before[-2:-1] not in (["que"], ["qu'"])


class ConsentDetector:
    def __init__(self, words: ConsentWords) -> None:
        self._stop = _Keywords(words.stop)
        self._stop_all = _Keywords(words.stop_all)
        self._start = _Keywords(words.start)
        self._filler = _Keywords(words.filler)
        self._phrases = compile_all(words.stop_phrases)
        self._help = {normalise(w) for w in words.help}

    def is_help(self, text: str) -> bool:
        """The message is a help keyword ("HELP", "Aide ?"), nothing more."""
        return normalise(text).strip(" '-") in self._help

    def detect(self, text: str, *, currently_opted_out: bool) -> ConsentSignal | None:
        """Opt-out/opt-in intent of one user message, or None.

        "yes" and the other start words only opt back in a user who is opted out, so
        ordinary chat never flips consent.
        """
        clauses = _clauses(text)
        every = [w for clause in clauses for w in clause]
        if not every:
            return None
        found = _only(every, self._stop_all, self._filler)
        if found:
            return ConsentSignal("opt_out", "all", found)
        found = _only(every, self._stop, self._filler)
        if found:
            return ConsentSignal("opt_out", "bot", found)
        if currently_opted_out:
            found = _only(every, self._start, self._filler)
            if found:
                return ConsentSignal("opt_in", "bot", found)
        if len(clauses) > 1 and not _LAUGHTER.intersection(every):
            found = _only(clauses[-1], self._stop, self._filler)
            if found and found not in _WHOLE_ONLY:
                return ConsentSignal("opt_out", "bot", found)
        for clause in clauses:
            phrase = self._phrase(" ".join(clause))
            if phrase:
                return ConsentSignal("opt_out", "bot", phrase)
        return None

    def _phrase(self, clause: str) -> str | None:
        if not self._phrases.may_match(clause):
            return None
        for pattern in self._phrases:
            for match in pattern.finditer(clause):
                head = clause[: match.start()]
                before = head.split()
                if head.endswith("n'"):
                    continue  # "n'arrête de m'écrire": the verb itself is negated
                if _negated(before) or _reported(before) or _described(before):
                    continue
                return match.group(0)
        return None
