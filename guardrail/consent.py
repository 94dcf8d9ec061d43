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

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator
from rapidfuzz.distance import OSA, Indel

from classifiers.linear_regex import LinearPatterns, PatternError, compile_all, compile_linear
from guardrail.consent_text import prepare

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
    "subscribe",
    "resubscribe",
    "start again",
    "opt in",
    "optin",
    "opt-in",
    "demarrer",
    "reprendre",
    "reabonner",
    "reabonnement",
]
GENERIC_AFFIRMATIVES = frozenset(
    {
        "yes", "y", "yeah", "yea", "yep", "yup", "ya", "ok", "okay", "k", "kk", "sure",
        "confirm", "confirmed", "i confirm", "agree", "i agree", "go", "go ahead", "continue",
        "oui", "ouais", "ouai", "ui", "dac", "d'accord", "daccord", "bien sur", "je confirme",
        "confirme", "carrement", "volontiers", "si",
    }
)  # fmt: skip
"""Words that answer whatever the bot asked: never a re-subscription, whatever a policy
lists (a bot that asks "Reply YES to confirm you want to unsubscribe" would get one)."""
DEFAULT_BLUNT = [
    "go away",
    "get lost",
    "piss off",
    "fuck off",
    "f off",
    "eff off",
    "back off",
    "buzz off",
    "bugger off",
    "sod off",
    "shove off",
    "leave me alone",
    "degage",
    "degagez",
    "casse toi",
    "casse-toi",
    "cassez-vous",
    "barre toi",
    "barre-toi",
    "va t'en",
    "va-t'en",
    "allez-vous-en",
    "fiche moi la paix",
    "fiche-moi la paix",
    "lache moi",
    "lache-moi",
    "lachez-moi",
    "oublie moi",
    "oublie-moi",
    "oubliez-moi",
    "va te faire voir",
    "va te faire foutre",
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
    "bot",
    "deja",
]
_FOR_ME = (
    r"(messaging|texting|contacting|writing to|writing|sending|bothering|spamming|calling"
    r"|bugging|pestering|harassing|hassling|nagging|pinging)"
)
_THESE = r"(the |these |those |your |all |all these |all the |all your )?"
DEFAULT_STOP_PHRASES = [
    rf"\b(stop|quit|cease) {_FOR_ME}( me)?\b",
    rf"\b(stop|end|cancel|quit) {_THESE}(messages|texts|sms|notifications|alerts)\b",
    r"\b(do not|don't|never) (ever )?(message|text|contact|write to|send|call|bother) me\b",
    r"\bleave me (the (hell|heck|fuck|f|eff|frick) )?alone\b",
    r"\b(lose|delete|forget|erase) my (number|contact|details)\b",
    r"\b(prefer|rather) not (to )?(receive|get|be (contacted|messaged|texted))\b",
    r"\b(don't|do not|no longer) (want|wish) to be (contacted|messaged|texted|bothered)\b",
    r"\b(don't|do not|never) want to hear from (you|this bot)\b",
    r"\b(i'm|i am) (so |really )?done with (you|this bot|this chat|your (messages|texts)"
    r"|these (messages|texts))\b",
    r"\blast (message|text) i (want|need) (from you|to (get|receive))\b",
    r"^(i'm |i am )?(really |just )?not interested( anymore| any more)?( thanks| thank you)?$",
    r"^(you have the |you've got the |you have |this is the |this is a |sorry )?"
    r"wrong (number|person)$",
    r"^(please )?remove (me|my number)$",
    r"\bno more (messages|texts|sms)\b",
    r"\b(unsubscribe me|opt me out)\b",
    r"\b(take|remove) (me|my number) (off|from) (this|the|your|these|all) "
    r"(list|lists|messages|texts|program|service)\b",
    r"\b(want|like|wish|need) to (unsubscribe|opt out|stop (getting|receiving) "
    r"(these|this|your|the|messages|texts))\b(?! from (?!(this|these|you|your|here)\b))",
    r"\b(no longer|don't|do not) want (to (get|receive) )?(these|this|your|any more|any)"
    r" ?(messages|texts|sms)\b",
    r"\b(arret|cess)(e|es|ez|er)? (de |d')m(e |')?(ecrire|envoyer|contacter|harceler|spammer"
    r"|texter|saouler|souler|gonfler|deranger|embeter|relancer|solliciter)",
    r"\b(arret|cess)(e|es|ez|er)? (les|vos|tes|ces) (messages|sms|textos|notifications)\b",
    r"\bne plus (recevoir|etre (contacte|contactee|sollicite|sollicitee|derange|derangee))\b",
    r"\bn'essaie[sz]? plus de m(e |')(contacter|ecrire|joindre|relancer)",
    r"\bca suffit (avec )?(les|tes|vos|ces) (messages|sms|textos|notifications)\b",
    r"\bj(e ne |e |')veux plus (avoir )?de (tes|vos) nouvelles\b",
    r"\blache[sz]?[- ]moi (un peu )?avec (tes|vos|ces) (messages|sms|textos|notifications)\b",
    r"\b(casse|barre|tire)[sz]?[- ](toi|vous) de (mon|ma|mes)\b",
    r"^(je ne suis |je suis |j'suis )?(plus|pas) interesse(e)?s?( merci)?$",
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
    r"\bf(ous|outez|iche|ichez)[- ]moi la paix\b",
    r"\blaisse[rz]?[- ]moi en paix\b",
    r"\bretire[sz]?[- ]moi (de|des) (la|votre|vos|ta|cette) listes?\b",
    r"\b(supprime|retire|efface|oublie)([sz]|r)? mon numero\b",
    r"^(c'est un |vous avez le |tu as le |desole )?mauvais numero$",
]
_AGAIN_FR = r"(a nouveau|de nouveau)"
DEFAULT_START_PHRASES = [
    r"^(you can|you may|feel free to|it's ok to|it's okay to|it's fine to|ok to|okay to|"
    r"please) (start )?(message|text|write to|contact|email) me again\b",
    r"\b(resubscribe|re-subscribe|subscribe) me( again| back)?\b",
    r"\bopt me (back )?in\b",
    r"\bsign me (back )?up( again)?\b",
    r"\b(turn|switch) (the |your |my )?(messages|texts|notifications) back on\b",
    r"\bi('d| would)? (want|like) (to get|to receive) (your |the )?(messages|texts) again\b",
    r"\bstart (messaging|texting|writing to) me again\b",
    r"\br[e]?abonne[rz]?[- ]moi\b",
    r"\bje (me )?reabonne\b",
    rf"^(tu peux|vous pouvez) ({_AGAIN_FR} )?(me recontacter|me reecrire|m'ecrire {_AGAIN_FR}"
    rf"|m'envoyer des messages {_AGAIN_FR})",
    rf"^(tu peux|vous pouvez) {_AGAIN_FR} m'(ecrire|envoyer des messages)",
    rf"\bje (veux|voudrais|souhaite) ({_AGAIN_FR} )?recevoir {_AGAIN_FR} (tes|vos|les) messages",
    rf"\bje (veux|voudrais|souhaite) {_AGAIN_FR} recevoir (tes|vos|les) messages",
    r"\breprend(s|re|ez) (l'envoi des|les|tes|vos) messages\b",
    r"\bremet(s|tez)?[- ]moi (sur|dans) (la|ta|votre) liste\b",
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
        description="whole-message keywords that opt a user back in (only one who opted out, "
        "and only when typed: never a button the bot offered); generic affirmatives (yes, "
        "ok, oui...) are refused here, since they answer whatever the bot asked",
    )
    start_phrases: list[str] = Field(
        default_factory=lambda: list(DEFAULT_START_PHRASES),
        description="regular expressions over the normalised text (as stop_phrases) for a "
        "re-subscription in the user's own words ('you can text me again', 'réabonnez-moi'); "
        "a negated one does not count",
    )
    blunt: list[str] = Field(
        default_factory=lambda: list(DEFAULT_BLUNT),
        description="blunt free wording that opts out like a keyword: the whole message or "
        "its last clause ('go away', 'dégage', 'leave me alone, bot'), never in banter",
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

    @field_validator("start")
    @classmethod
    def _no_generic_yes(cls, words: list[str]) -> list[str]:
        generic = [w for w in words if generic_affirmative(w)]
        if generic:
            raise ValueError(
                f"{', '.join(map(repr, generic))}: a generic affirmative never re-subscribes "
                "a user (it answers whatever the bot asked, e.g. 'Reply YES to confirm'); "
                "use explicit words such as START or UNSTOP"
            )
        return words


def generic_affirmative(text: str) -> bool:
    """Whether ``text`` is only an affirmative ("Yes", "OK!", "oui oui"): an answer to
    whatever was asked, nothing of the user's own."""
    words = _words(prepare(text))
    return (
        bool(words)
        and all(w in _AFFIRMATIVE_WORDS or w in _FILLER_WORDS for w in words)
        and any(w in _AFFIRMATIVE_WORDS for w in words)
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
    """The message as a person reads it (:func:`guardrail.consent_text.prepare`: spaced,
    zero-width and digit-for-letter spellings undone, stop-sign emoji as 'stop', laughing
    ones as 'lol'), as clauses of normalised words."""
    return [words for part in _CLAUSE.split(prepare(text)) if (words := _words(part))]


_AFFIRMATIVE_WORDS = {w for phrase in GENERIC_AFFIRMATIVES for w in phrase.split()}
_FILLER_WORDS = {w for phrase in DEFAULT_FILLER for w in normalise(phrase).split()}


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
        self._blunt = _Keywords(words.blunt)
        self._filler = _Keywords(words.filler)
        # "Yes, START": an affirmative beside an explicit start word is only filler.
        self._start_filler = _Keywords([*words.filler, *GENERIC_AFFIRMATIVES])
        self._phrases = compile_all(words.stop_phrases)
        self._start_phrases = compile_all(words.start_phrases)
        self._help = {normalise(w) for w in words.help}

    def is_help(self, text: str) -> bool:
        """The message is a help keyword ("HELP", "Aide ?"), nothing more."""
        return normalise(text).strip(" '-") in self._help

    def detect(
        self, text: str, *, currently_opted_out: bool, choice: bool = False
    ) -> ConsentSignal | None:
        """Opt-out/opt-in intent of one user message, or None.

        Any opt-out reading wins. An opt-in needs explicit words of the user's own (START,
        UNSTOP, "you can text me again"), only counts for a user who is opted out, and never
        comes from a ``choice`` (a button or quick reply the bot offered) or a generic
        affirmative ("yes", "ok", "oui"), which answer whatever the bot asked.
        """
        clauses = _clauses(text)
        every = [w for clause in clauses for w in clause]
        if not every:
            return None
        signal = self._opt_out(clauses, every)
        if signal is not None or not currently_opted_out or choice:
            return signal
        found = _only(every, self._start, self._start_filler)
        if found:
            return ConsentSignal("opt_in", "bot", found)
        for clause in clauses:
            phrase = _first_match(self._start_phrases, " ".join(clause))
            if phrase:
                return ConsentSignal("opt_in", "bot", phrase)
        return None

    def not_an_opt_in(self, text: str, *, choice: bool) -> str | None:
        """Why a message from an opted-out user that a bot could pass off as consent is no
        re-subscription (for the event result and the audit log), or None."""
        if choice:
            typed = self.detect(text, currently_opted_out=True)
            if typed is not None and typed.action == "opt_in":
                return (
                    f"{typed.matched!r} is a choice the bot offered (a button or quick reply it "
                    "labelled), not the user's own words: no re-subscription"
                )
        if generic_affirmative(text):
            return (
                f"{text.strip()[:40]!r} is a generic affirmative (it answers whatever the bot "
                "asked): no re-subscription; the user writes START (or the policy's words)"
            )
        return None

    def _opt_out(self, clauses: list[list[str]], every: list[str]) -> ConsentSignal | None:
        found = _only(every, self._stop_all, self._filler)
        if found:
            return ConsentSignal("opt_out", "all", found)
        found = _only(every, self._stop, self._filler) or _only(every, self._blunt, self._filler)
        if found:
            return ConsentSignal("opt_out", "bot", found)
        if len(clauses) > 1 and not _LAUGHTER.intersection(every):
            last = clauses[-1]
            found = _only(last, self._stop, self._filler) or _only(last, self._blunt, self._filler)
            if found and found not in _WHOLE_ONLY:
                return ConsentSignal("opt_out", "bot", found)
        for clause in clauses:
            phrase = _first_match(self._phrases, " ".join(clause))
            if phrase:
                return ConsentSignal("opt_out", "bot", phrase)
        return None


def _first_match(patterns: LinearPatterns, clause: str) -> str | None:
    """The first match of ``patterns`` in ``clause`` that is neither negated, reported nor
    a statement about someone (one RE2 pass first: most clauses match none)."""
    if not patterns.may_match(clause):
        return None
    for pattern in patterns:
        for match in pattern.finditer(clause):
            head = clause[: match.start()]
            before = head.split()
            if head.endswith("n'"):
                continue  # "n'arrête de m'écrire": the verb itself is negated
            if _negated(before) or _reported(before) or _described(before):
                continue
            return match.group(0)
    return None
