"""Crisis grammar: acute suicidal crisis read from a user message as slots, not phrases.

A message is normalised and folded (``classifiers.normalize.fold``: case, accents, repeated
letters, zero-width and look-alike characters), apostrophes dropped ("i'm" and "im", "j'ai"
and "jai" read alike), emoji read as words (💊 pills, 🔫 gun), and long words one edit away
from a key word read as it ("tonigth", "sucide"). Then, per language
(``lexicons/crisis_<lang>.yaml``, folded the same way), mentions are found: subjects (first
person, third, "you"), negations, modals (intent, wish, thought, question, tried), acts
(kill, die, ingest, jump, hang, shoot, cut, drown, crash, "do it") with their tense, means
(pills, poison, rope, gun, blade, height, train, water, car) with quantity or ownership,
possession and readiness, places, times, goodbyes, notes, give-aways, bleeding, symptoms
of poisoning (``W``: an ingestion told with them is an overdose), and the
contexts that make a match play (laughter, games), someone else's (grief, prevention
talk, fiction) or a condition ("if").

Within a clause an act takes the nearest modal before it, the nearest subject (none: the
chat's implied "I"), a negation only when one governs the act or its modal ("I'm not going
to..."; "I can't stop thinking about..." is not one), its object (a means, or "them" / "it
all") and the sentence's times. Each first-person, unnegated reading becomes a *fact*: a
short code with no words of the message (``A:intent:kill:none:g`` = intent to kill oneself,
tonight). :func:`derive` turns facts into a C-SSRS level and an ``imminent`` flag; because it
reads facts, it reads several messages as well as one: "I have 40 pills" then "I took them"
is an attempt, "I'm going to do it" then "tonight" is imminent. The gateway keeps each
message's facts for a few minutes (never its text) and derives over the last few.

French is read with its chat spellings folded (``fold_french``): verb endings that sound
alike (tuer, tué(e)(s), tuez), "j'" glued to a verb split off, "jme" as "j me". Other facts:
``Q`` a plan or a decision ("I've worked it all out", "ma décision est prise": a plan when a
means is named with it), ``K`` a goodbye with a return ("see you tomorrow": no farewell),
``U`` the prescribed intake ("as the doctor said"), ``G:weak2`` / ``V:weak2`` a second weak
goodbye or give-away in one message (as strong as one strong one); time letter ``u`` a
habit of the past ("I used to be..."), ``h`` a habit ("often": no time within hours).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Final

import yaml

from classifiers.cssrs import SEVERITY_OF, Cssrs, cssrs_index
from classifiers.labels import Severity
from classifiers.normalize import _plain, fold  # _plain: the same test normalize skips by
from classifiers.pattern_keys import required_words

LEXICON_DIR: Final = Path(__file__).resolve().parent / "lexicons"
LANGUAGES: Final[tuple[str, ...]] = ("en", "fr")
_APOSTROPHES: Final = str.maketrans("", "", "'\u2019\u2018\u02bc`\u00b4")
_CLAUSE_MARKS: Final = frozenset(".!?;,:")
_SENTENCE_MARKS: Final = frozenset(".!?")
_SOON: Final = frozenset("ngys")
"""Time letters of now, tonight, today and soon (within hours)."""
_RECENT: Final = frozenset("ngysp")
"""... and a recent past ("an hour ago", "just"): an act this close is imminent."""
TIME_LETTERS: Final[dict[str, str]] = {
    "now": "n",
    "tonight": "g",
    "today": "y",
    "soon": "s",
    "recent": "p",
    "later": "l",
    "far": "f",
    "long": "a",
    "before": "u",
    "habit": "h",
}
_YEARS_AGO: Final = "attempt-years-ago"
"""The reading of an attempt dated years back (time ``long``): the writer's history, which
vetoes the words about it (:func:`derive`)."""
_NOT_SOON: Final = str.maketrans("", "", "ngys")
"""``before``: a habit of the past ("I used to be suicidal", "avant j'avais des idées
noires"): ideation that is history, not an acute crisis."""
METHOD_MEANS: Final = frozenset({"pills", "poison", "rope", "gun", "blade", "height", "train",
                                 "water", "car", "gas", "wrist"})  # fmt: skip
"""Means that name a method (a person, a time word or "them" do not)."""
OVERDOSE_MEANS: Final = frozenset({"pills", "poison"})
_USE_MEANS: Final = frozenset({"gun", "rope", "height", "train", "gas", "poison", "water"})
"""Means one "uses" only to die ("I could use my dad's gun", "which bridge I'd use"): a
knife or pills are used every day."""
_USE_MODES: Final = frozenset({"would", "intent", "think", "wish", "ask", "how"})
"""... when the writer would, will or wants to use them ("the army uses guns" is not)."""
_GOTO_MEANS: Final = frozenset({"height", "train", "water"})
_RIDDEN: Final = frozenset({"train", "car"})
"""Means one "takes" by riding them: an ingest verb on them is travel."""
"""Where going is a plan, when something else in the conversation says crisis ("once
everyone's asleep I'm going up to the roof", "je monterai sur le toit")."""
_MODE_GAP: Final = 3
"""At most this many words between a modal and its act ("going to just go and take")."""
_OBJECT_GAP: Final = 4
"""At most this many words between an act and its object ("took all of my sleeping pills")."""
_NEG_REACH: Final = 3
"""A negation governs an act when it stands at most this many words before its modal."""

# Emoji read as the words they stand for; 💀 and 😭 stay neutral (laughter as often as grief).
EMOJI: Final[dict[str, str]] = {
    "\U0001f48a": "pils",  # pill
    "\U0001f52b": "gun",  # pistol
    "\U0001f52a": "knife",
    "\U0001f5e1": "knife",  # dagger
    "\U0001fa78": "blod",  # drop of blood
    "\U0001fa62": "rope",
    "\U0001faa2": "rope",  # knot
    "\U0001f309": "bridge",  # bridge at night
    "\U0001f682": "train",
    "\U0001f686": "train",
    "\U0001f687": "train",
    "\U0001f684": "train",
    "\U0001f44b": "bye",  # waving hand
    "\u26b0": "cofin",
    "\U0001faa6": "grave",  # headstone
    "\U0001f602": " lol ",
    "\U0001f923": " lol ",
    "\U0001f606": " lol ",
    "\U0001f639": " lol ",
}


# --------------------------------------------------------------------------- text

_NOOSE: Final = re.compile(r"n+o{2,}s+e+", re.IGNORECASE)
"""Folding squeezes "noose" into "nose": it is marked before (a typo "nose" is lost)."""


def squeeze(text: str) -> str:
    return re.sub(r"([^\W\d_])\1+", r"\1", text)


_LATIN: Final = re.compile(r"[\x20-\x7e\n\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u00ff\u2018\u2019]*")
"""Printable ASCII, Latin-1 letters (no signs NFKC would rewrite) and curly apostrophes."""


def quick_fold(text: str) -> str:
    """``fold(text)`` for the commonest chat: ASCII and accented Latin letters with none of
    the obfuscations ``normalize`` undoes. Those need nothing but lower case, accents off and
    squeezing, which is what ``fold`` then does; anything else goes through ``fold``."""
    t = text.replace("\u2019", "'").replace("\u2018", "'")
    if t.isascii():
        return squeeze(t.lower()) if _plain(t) else fold(text)
    if not _LATIN.fullmatch(t):
        return fold(text)
    bare = "".join(c for c in unicodedata.normalize("NFD", t) if not unicodedata.combining(c))
    if not _plain(bare):
        return fold(text)
    return squeeze(bare.lower())


_LIGATURES: Final = str.maketrans({"œ": "oe", "Œ": "oe", "æ": "ae", "Æ": "ae"})
"""« nœud », « sœur », « cœur » read as typed without the ligature."""


def prepare(text: str) -> str:
    """The text the grammar reads: folded, no apostrophes, emoji as words, one space
    between tokens, clause punctuation as tokens of its own."""
    t = quick_fold(_NOOSE.sub(" hangnoose ", text.translate(_LIGATURES)))
    for emoji, word in EMOJI.items():
        if emoji in t:
            t = t.replace(emoji, f" {word} ")
    t = squeeze(t.translate(_APOSTROPHES))
    t = re.sub(r"\n+", " . ", t)
    t = re.sub(r"(\d)[:h](\d)", r"\1h\2", t)
    t = re.sub(r"[^\w\s.!?;,:]", " ", t)
    t = re.sub(r"([.!?;,:])[.!?;,:]*", r" \1 ", t)
    t = t.replace("_", " ")
    return " ".join(t.split())


_FR_ENDING: Final = re.compile(r"(?<![a-z\\])([a-z]{2,}?)(?:er|ez|es)(?![a-z])")
"""French verb endings that sound alike and are written for one another in chat (tuer,
tué(e)(s), tuez; avaler, avalées): folded to ``-e`` in texts and patterns of the French
grammar, as are plural ``-es`` (toutes, veines)."""


def _french_endings(pattern: str) -> str:
    folded = _ELISION.sub(r"\1 ", _FR_ENDING.sub(r"\1e", pattern))
    return _DE_VERB.sub("de ", _DE.sub("d ", _QU.sub(r"qu \1", folded)))


_ELISION: Final = re.compile(
    r"(?<![a-z\\])(j)(?=(?:aval|aim|aur|achet|esai|esay|ecri|ouvr|ir|ingurg|englout|enfil|atend"
    r"|envisag|imagin|espe|abandon)[a-z]*(?![a-z]))"
)
"""The French "j'" the apostrophe's removal glued to a verb ("j'avale", "j'aimerais"):
split again, in texts and patterns alike, so the verb has its subject ("quand mon mari
part, j'avale..."). Verb stems only: "jeu", "jour", "juste", "javel" are words of their
own, and "jai" stays one token as every pattern writes it."""


_JME: Final = re.compile(r"(?<![a-z])j(me|te|men|ten|le|la|les|lai|y)(?![a-z])")
_QU: Final = re.compile(r"(?<![a-z\\])qu?(un|une|il|ils|on)(?![a-z])")
"""The "qu'" glued to the subject after it ("qu'un mec a fait une overdose", "qu'il se
tue"; squeezed: "qun"): split, in texts and patterns alike, so the subject is read as
one. Not "quelle": a word of its own."""


_DE: Final = re.compile(
    r"(?<![a-z\\])d(?=(?:(?:antidep|anxio|advil|aspirin|eferalgan|ibuprof|insulin|atarax|antidouleur"
    r"|antihistamin|opiace|oxy|alcol)[a-z]*|en (?:finir|terminer))(?![a-z]))"
)
"""The "d'" glued to a drug's name ("une trentaine d'antidépresseurs") or to "en finir"
("j'ai décidé d'en finir", read "den finir" and so no act at all): split, in texts and
patterns alike, so the quantity or the modal before it is read."""


_ME: Final = re.compile(
    r"(?<![a-z\\])m ?(?=(?:bute|tue|suicide|pend|pends|flingue|jete|noie|noye|tire|fout|foutre"
    r"|taillade|scarifie|coupe|defenestre|brule|laise|mutile|cole|loge)(?![a-z]))"
)
"""The chat's "m'" before a verb of harm that starts with a consonant ("jvais m'buter",
"m'flinguer": squeezed to "mbute" or "m bute"): read "me", so every verb has its reflexive
form without a pattern spelling each elision. Before a vowel "m'" is French itself
("m'ouvrir"), and the patterns spell it."""


_DE_VERB: Final = re.compile(r"(?<![a-z\\])d ?(?=(?:etre|existe|avale|ingere|absorbe)(?![a-z]))")
"""The "d'" glued to a verb that starts with a vowel ("plus envie d'être là", "marre
d'exister", "peur d'avaler": squeezed "detre", "dexiste"): read "de", in texts and patterns
alike, so "envie de" takes every verb whether it was elided or not."""


CHAT: Final[dict[str, str]] = {
    "fo": "faut", "pa": "pas", "pr": "pour", "koi": "quoi", "ki": "qui", "ke": "que",
    "jsp": "je sais pas", "bcp": "beaucoup", "pk": "pourquoi", "pq": "pourquoi", "ds": "dans",
    "qd": "quand", "tjrs": "toujours", "tjr": "toujours", "mtn": "maintenant",
    "sui": "suis", "chuis": "chui", "vx": "veux", "veu": "veux", "jpeu": "jpeux",
    "pcq": "parce que", "pke": "parce que", "tkt": "tinquiete",
}  # fmt: skip
"""French chat spellings, whole tokens of the prepared text (folded, squeezed, no
apostrophes), read as the words the patterns spell: the patterns list a few ("jvais",
"chui", "g"), not every one. Not the floor's table (``classifiers.floor.ALIASES``), though
they overlap: that one reads bot messages in both languages at once, where "sui" is the
English chat's "suicide"; here a user's French "sui" is "suis"."""


def fold_french(text: str) -> str:
    """``-er``, ``-ez``, ``-es`` at the end of a word of three letters or more read ``-e``
    (``me tuer`` and ``me tuée``, ``toutes prises`` and ``toute prise``); the chat's
    ``jme``, ``jte`` read ``j me``, ``j te`` (``jme tue`` as ``je me tue``), its ``m'``
    before a verb of harm ``me`` (``_ME``); elisions are split (``_ELISION``)."""
    return _ME.sub("me ", _JME.sub(r"j \1", _french_endings(text)))


def fold_pattern(pattern: str) -> str:
    """A lexicon pattern folded as texts are: lower case, no accents, no apostrophes,
    repeated letters squeezed (patterns avoid upper-case escapes and ``\\b``). Not through
    ``normalize``: its markup and leetspeak steps would rewrite regular expressions."""
    low = unicodedata.normalize("NFD", pattern.lower())
    bare = "".join(c for c in low if unicodedata.category(c) != "Mn")
    return squeeze(bare.translate(_APOSTROPHES)).replace("(?p<", "(?P<")


class _Fuzzy:
    """Long tokens one edit (deletion, insertion, substitution, swap) from a key word; short
    key words (four or five letters: "want", "veux") from two letters typed in the wrong
    order only ("wnat", "vuex"), the commonest slip that still leaves them unmistakable."""

    def __init__(self, keys: Iterable[str], known: Iterable[str]) -> None:
        keys = list(keys)
        self.keys = frozenset(k for k in keys if len(k) >= 6)
        short = frozenset(k for k in keys if 4 <= len(k) < 6)
        self.known = frozenset(known) | self.keys | short
        self.index: dict[str, str] = {}
        for k in sorted(self.keys):
            for variant in _deletions(k) | {k}:
                self.index.setdefault(variant, k)
        self.swaps: dict[str, str] = {}
        for k in sorted(short):
            for i in range(len(k) - 1):
                variant = k[:i] + k[i + 1] + k[i] + k[i + 2 :]
                if variant != k and variant not in self.known:
                    self.swaps.setdefault(variant, k)

    def __call__(self, token: str) -> str:
        if 4 <= len(token) < 6:
            return self.swaps.get(token, token)
        if len(token) < 6 or token in self.known or not token.isalpha():
            return token
        if token in self.index:
            return self.index[token]
        for variant in _deletions(token):
            if variant in self.index:
                return self.index[variant]
        return token


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


# --------------------------------------------------------------------------- lexicon


@dataclass(frozen=True)
class _Entry:
    pattern: re.Pattern[str]
    attrs: Mapping[str, str]
    core: str
    """The pattern without its optional lead-in (a means' quantity or article): enough to
    tell whether it can match at all."""
    keys: frozenset[str] | None = None
    """Words one of which any match holds (None: unknown): the entry is skipped for a text
    without any of them."""


_TRIGGERS: Final = ("act", "means", "goodbye", "place", "note", "giveaway", "bleed", "toxic",
                     "hopeless", "plan")  # fmt: skip
_COMMON: Final = frozenset(
    {"a", "an", "the", "to", "of", "in", "on", "at", "it", "is", "be", "do", "go"}
)
"""Kinds of mention without which a message holds no crisis fact (only times, for later)."""


@dataclass(frozen=True)
class _Language:
    code: str
    kinds: Mapping[str, tuple[_Entry, ...]]
    trigger_words: frozenset[str]
    """Words one of which every trigger pattern's match holds (``classifiers.pattern_keys``)."""
    trigger: re.Pattern[str] | None
    """The trigger patterns without such words, as one alternation."""
    idioms: re.Pattern[str] | None
    breaks: re.Pattern[str] | None
    fuzzy_keys: tuple[str, ...]
    known: tuple[str, ...]
    function_words: frozenset[str]
    """Common words of the language: a message is read by the grammar of the language whose
    words it uses most (by every grammar when that is unclear)."""
    clipped: Mapping[str, str] = field(default_factory=dict)
    """English words read as the lexicon's: "-in'" for "-ing" ("thinkin", "killin": the
    clipped form of each "-ing" word the lexicon uses), and a means' plural or glued "'s"
    ("belts", "the belt's in my bag", "cliffs") where the lexicon does not use that form
    itself. The apostrophe is gone by then."""


MENTION_KINDS: Final[tuple[str, ...]] = (
    "subject", "negation", "modal", "act", "means", "object", "time", "possess", "ready",
    "place", "goodbye", "note", "giveaway", "bleed", "toxic", "hopeless", "cond", "laugh",
    "context", "third", "resolve", "hedge", "plan", "back", "routine", "retract",
)  # fmt: skip


class GrammarError(ValueError):
    """A crisis lexicon file is malformed."""


def _expand(pattern: str, words: Mapping[str, str], depth: int = 0) -> str:
    if depth > 8:
        raise GrammarError(f"word references nest too deep in {pattern!r}")

    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in words:
            raise GrammarError(f"unknown word list {{{name}}}")
        return f"(?:{_expand(words[name], words, depth + 1)})"

    return re.sub(r"\{([a-z_]+)\}", sub, pattern)


_OPEN: Final = "(?<![^ ])(?:"
_CLOSE: Final = ")(?![^ ])"


def _compile(pattern: str) -> re.Pattern[str]:
    """A pattern that matches whole tokens only."""
    return re.compile(f"{_OPEN}{pattern}{_CLOSE}")


def _load_language(path: Path) -> _Language:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise GrammarError(f"{path.name}: expected a mapping")
    words = {
        k: fold_pattern(re.sub(r"\s*\|\s*", "|", str(v).strip()))
        for k, v in (data.get("words") or {}).items()
    }
    code = str(data.get("language", path.stem))
    morph = _french_endings if code == "fr" else str
    kinds: dict[str, tuple[_Entry, ...]] = {}
    for kind in MENTION_KINDS:
        entries = []
        for spec in data.get(kind) or []:
            attrs = {k: str(v) for k, v in spec.items() if k != "p"} if isinstance(spec, dict) \
                else {}  # fmt: skip
            raw = fold_pattern(str(spec["p"] if isinstance(spec, dict) else spec))
            core = raw
            if kind == "means":  # "all my", "the", "my" before a means: quantity, definite, own
                prep = "(?:{prep} )?" if "prep" in words else ""  # "du", "sous le"...
                raw = (
                    "(?:(?P<q>{qty}) )?(?:(?P<d>{det}) )?(?:(?P<o>{own}) )?(?:{adj} ){0,2}"
                    f"{prep}(?:{raw})"
                )
            try:
                full = morph(_expand(raw, words))
                keys = required_words(re.sub(r"\(\?P<[a-z]+>", "(?:", full), shortest=1)
                entries.append(_Entry(_compile(full), attrs, morph(_expand(core, words)), keys))
            except re.error as exc:
                raise GrammarError(f"{path.name}/{kind}: {raw!r}: {exc}") from exc
        kinds[kind] = tuple(entries)
    idioms = data.get("idioms") or []
    breaks = data.get("clause_breaks")
    # One alternation of every trigger pattern, each without its own word boundaries: a
    # cheap (over-)approximation that lets most messages skip the mention search.
    common = _COMMON | frozenset(
        morph(
            fold_pattern(f"{data.get('function_words', '')} {data.get('common_words', '')}")
        ).split()
    )
    keyed: set[str] = set()
    sources = []
    for e in (e for k in _TRIGGERS for e in kinds[k]):
        core = re.sub(r"\(\?P<[a-z]+>", "(?:", e.core)
        needed = required_words(core, common)
        if needed is None:
            sources.append(core)
        else:
            keyed |= needed
    return _Language(
        code=code,
        kinds=kinds,
        trigger_words=frozenset(keyed),
        trigger=re.compile("(?:^| )(?:" + "|".join(sources) + ")") if sources else None,
        idioms=_compile("|".join(f"(?:{morph(_expand(fold_pattern(p), words))})" for p in idioms))
        if idioms
        else None,
        breaks=_compile(morph(_expand(fold_pattern(str(breaks)), words))) if breaks else None,
        fuzzy_keys=tuple(fold_pattern(str(k)) for k in data.get("fuzzy") or []),
        known=tuple(fold_pattern(str(k)) for k in data.get("not_fuzzy") or []),
        function_words=frozenset(fold_pattern(str(data.get("function_words", ""))).split()),
        clipped=_clipped(path, kinds["means"]) if code == "en" else {},
    )


_NOT_PLURALS: Final = frozenset({"the", "her", "his", "top", "our", "their", "this", "that"})
"""Words of the means patterns (articles, lookaheads) whose "-s" form is no plural."""


def _clipped(path: Path, means: Sequence[_Entry]) -> dict[str, str]:
    """Every "-ing" word of a lexicon file by its clipped "-in" form, and every means word by
    its "-s" form where the file does not use that form (``_Language.clipped``)."""
    vocabulary = set(re.findall(r"[a-z]+", fold_pattern(path.read_text(encoding="utf-8"))))
    out = {w[:-1]: w for w in vocabulary if w.endswith("ing") and len(w) >= 6}
    for e in means:
        for w in re.findall(r"(?<![a-z\\])[a-z]{3,}(?![a-z])", e.core):
            if squeeze(w + "s") not in vocabulary and w not in _NOT_PLURALS:
                out.setdefault(squeeze(w + "s"), w)
    return out


# --------------------------------------------------------------------------- mentions


@dataclass(frozen=True)
class Mention:
    kind: str
    attrs: Mapping[str, str]
    start: int
    """First token."""
    end: int
    """One past the last token."""
    groups: Mapping[str, str] = field(default_factory=dict)


class _Tokens:
    """Token positions of a prepared text: char offset -> token index, clauses, sentences."""

    def __init__(self, text: str, breaks: re.Pattern[str] | None) -> None:
        self.text = text
        self.words = text.split(" ") if text else []
        self.at: list[int] = []
        for i, w in enumerate(self.words):
            self.at.extend([i] * (len(w) + 1))
        broken: set[int] = set()
        if breaks is not None:
            for m in breaks.finditer(text):
                broken.add(self.index(m.start()))
        self.clause: list[int] = []
        self.sentence: list[int] = []
        c = s = 0
        for i, w in enumerate(self.words):
            if w in _CLAUSE_MARKS or i in broken:
                c += 1
            if w in _SENTENCE_MARKS:
                s += 1
            self.clause.append(c)
            self.sentence.append(s)

    def index(self, offset: int) -> int:
        return self.at[offset] if offset < len(self.at) else len(self.words)


def _mentions(lang: _Language, tokens: _Tokens) -> list[Mention]:
    out = []
    present = frozenset(tokens.words)
    for kind, entries in lang.kinds.items():
        for entry in entries:
            if entry.keys is not None and entry.keys.isdisjoint(present):
                continue  # none of the words it cannot match without
            for m in entry.pattern.finditer(tokens.text):
                if m.end() <= m.start():
                    continue
                start = tokens.index(m.start())
                end = tokens.index(m.end() - 1) + 1
                groups = {k: v for k, v in m.groupdict().items() if v}
                out.append(Mention(kind, entry.attrs, start, end, groups))
    out.sort(key=lambda x: (x.start, -x.end))
    return out


# --------------------------------------------------------------------------- facts


@dataclass(frozen=True)
class Reading:
    """What the grammar read: a C-SSRS level, imminence, and the facts behind them."""

    level: Cssrs = "none"
    imminent: bool = False
    facts: tuple[str, ...] = ()
    """Codes of what was read (see the module docstring); no word of the message."""
    why: str = ""
    """The rule that set the level (for explanations and tests)."""
    vetoed: bool = False
    """Level none, and the grammar saw why: someone else's act, prevention talk, grief or
    fiction, laughter, a game, a denial. A keyword match elsewhere on such a message is no
    crisis; nor on one whose act applies to something harmless ("I took my vitamins", "je
    vais sauter dans la piscine"). (Other acts its rules set aside, for want of context, do
    not veto: on real validation data that cost 11 of 268 risk contexts.)"""
    figurative: bool = False
    """Level none, and a figure of speech is all the grammar found (an idiom, no other fact
    but times: "ce tableur va finir par me tuer", "I'd rather swallow a bottle of pills than
    do another group project"): a keyword match on it is no crisis unless the per-message
    head flags the message too (``classifiers.crisis.fuse``), as an idiom may be too broad."""
    language: str | None = None
    """The one language the message was read in (``CrisisGrammar.language``); None where
    that was unclear and every grammar read it, and for a conversation's merged facts."""

    @property
    def severity(self) -> Severity:
        return SEVERITY_OF[self.level]


NONE: Final = Reading()


def _flags(groups: Mapping[str, str], attrs: Mapping[str, str]) -> str:
    flags = ""
    for letter in "qdor":
        if groups.get(letter) or attrs.get(letter) == "true":
            flags += letter
    return flags + attrs.get("t", "")


_SUICIDAL: Final = (["suicidal"], ["suicidaire"])  # "suicidaires" is folded to "suicidaire"
_FIELDS: Final = frozenset(
    form
    for w in (
        "ideation", "risk", "risks", "behaviour", "behavior", "behaviours", "behaviors",
        "prevention", "patients", "patient", "callers", "clients", "youth", "teens",
        "adolescents", "students", "tendencies", "intervention", "assessment", "screening",
        "research", "warning", "risque", "risques", "conduite", "conduites", "comportement",
        "comportements", "reperage", "evaluation", "personnes", "jeunes", "ados", "etudiants",
    )
    for form in (squeeze(w), _FR_ENDING.sub(r"\1e", squeeze(w)))
)  # fmt: skip
"""Nouns of a field of study or care: "suicidal" beside one names a topic."""
_OF: Final = frozenset({"of", "de", "d", "du", "des"})
_THEM: Final = frozenset({"them", "those", "these", "it", "em", "eux", "ceux", "celles", "ca"})
_PHARMACY: Final = frozenset(
    squeeze(w)
    for w in (
        "bottle", "bottles", "blister", "blisters", "strip", "strips", "sheet", "packet",
        "packets", "pack", "tub", "jar", "pot", "prescription", "script", "flacon", "flacons",
        "plaquette", "plaquettes", "tube", "tablette", "ordonnance",
    )
)  # fmt: skip
"""Containers a pharmacy sells: "the whole bottle of (a drug the lexicon does not know)"
is still a dose. A box is food as often as pills: "the whole box of" needs its content."""


class _Clause:
    """The mentions of one message, with the questions the fact rules ask of them."""

    def __init__(self, mentions: list[Mention], tokens: _Tokens) -> None:
        self.m = mentions
        self.t = tokens
        self.kinds: dict[str, list[Mention]] = {}
        for x in mentions:
            self.kinds.setdefault(x.kind, []).append(x)

    def of(self, kind: str) -> list[Mention]:
        return self.kinds.get(kind, [])

    def same_clause(self, a: int, b: int) -> bool:
        n = len(self.t.clause)
        return a < n and b < n and self.t.clause[a] == self.t.clause[b]

    def same_sentence(self, a: int, b: int) -> bool:
        n = len(self.t.sentence)
        return a < n and b < n and self.t.sentence[a] == self.t.sentence[b]

    def modal_before(self, act: Mention) -> Mention | None:
        """The nearest modal before the act in its clause; else, when the act's clause has
        no subject of its own ("I'll drive to the cliff and jump"), the sentence's."""
        gap = int(act.attrs.get("gap", _MODE_GAP))
        found = [
            x for x in self.of("modal")
            if x.end <= act.start and act.start - x.end <= gap
            and self.same_clause(x.start, act.start)
        ]  # fmt: skip
        if not found and not self.subject_before(act.start) and gap == _MODE_GAP:
            found = [
                x for x in self.of("modal")
                if x.end <= act.start and act.start - x.end <= 2 * _MODE_GAP + 2
                and self.same_sentence(x.start, act.start)
            ]  # fmt: skip
        return max(found, key=lambda x: (x.end, x.end - x.start), default=None)

    def ask_before(self, act: Mention) -> Mention | None:
        """The nearest question about a method or an amount before the act, in its clause."""
        found = [
            x for x in self.of("modal")
            if x.attrs["mode"] in _ASKS and x.end <= act.start and act.start - x.end <= 6
            and self.same_clause(x.start, act.start)
        ]  # fmt: skip
        return max(found, key=lambda x: (x.end, x.end - x.start), default=None)

    def subject_before(self, at: int) -> Mention | None:
        best = None
        for x in self.of("subject"):
            if x.end <= at and self.same_clause(x.start, at):
                best = x
        return best

    def play(self, at: int) -> bool:
        """A game, a sport, a view or a show is spoken of in the sentence of token ``at``:
        what is said there of deaths, jumps, means and places is play."""
        return any(self.same_sentence(x.start, at) for x in self.of("context"))

    def person(self, at: int) -> str:
        """Person of the nearest subject before token ``at`` in its clause (none: first)."""
        best = self.subject_before(at)
        return best.attrs.get("person", "first") if best is not None else "first"

    def negated(self, anchor: Mention, act: Mention) -> bool:
        """A negation governs the act: it stands between its modal and the act, or at most
        ``_NEG_REACH`` words before the modal with no new subject in between ("I don't
        know if I want to die" is not a denial)."""
        own = set(self.t.words[act.start : act.end])
        for x in self.of("negation"):
            if x.attrs.get("particle") and own & _SECOND_HALF:
                continue  # "je n'ai plus envie de vivre": the act's own words negate
            inside = anchor.end <= x.start and x.end <= act.start
            before = x.end <= anchor.start and anchor.start - x.end <= _NEG_REACH
            if before and any(x.end <= s.start < anchor.start for s in self.of("subject")):
                before = False
            if (inside or before) and self.same_clause(x.start, anchor.start):
                return True
        return False

    def times(self, at: int) -> str:
        letters = {
            TIME_LETTERS[x.attrs["time"]]
            for x in self.of("time")
            if self.same_sentence(x.start, at)
        }
        return "".join(sorted(letters))

    def conditional(self, at: int) -> bool:
        return any(self.same_sentence(x.start, at) for x in self.of("cond"))

    def topic(self, act: Mention) -> bool:
        """The adjective alone ("suicidal", "suicidaire") names a field beside it ("suicidal
        ideation", "risk", "prevention"; "risque suicidaire") and no subject of the clause is
        the writer: a subject of study or care, not a state. "I've had suicidal ideation for
        weeks" has its subject and stays the writer's; a crisis ("crise suicidaire ce soir")
        is never a field."""
        w = self.t.words
        if [w[i] for i in range(act.start, act.end)] not in _SUICIDAL:
            return False
        near = {w[i] for i in (act.start - 1, act.end) if 0 <= i < len(w)}
        if not near & _FIELDS:
            return False
        return not any(
            x.attrs.get("person") == "first" and self.same_clause(x.start, act.start)
            for x in self.of("subject")
        )

    def names_a_thing(self, x: Mention, of: frozenset[str] = _OF) -> bool:
        """ "The whole box of chocolates", "toute la boîte de macarons", "the rest of the
        week": an amount whose "of" names what it is, and that is no means. A pharmacy's
        container ("the whole bottle of ...", "toute la plaquette de ...") stays a dose, since
        the lexicon does not know every drug's name."""
        w = self.t.words
        if x.end + 1 >= len(w) or w[x.end] not in of:
            return False
        if w[x.end + 1] in _THEM or any(x.end < m.start <= x.end + 3 for m in self.of("means")):
            return False  # "the whole box of them", "all of my pills", "la boîte de cachets"
        return not set(w[x.start : x.end]) & _PHARMACY

    def object_of(self, act: Mention, reach_back: Mention | None = None) -> tuple[str, str]:
        """(object, flags): a means right after the act, or a pronoun ("them all"); for a
        method act (jump, hang, drown, cut) a means anywhere in the sentence."""
        fixed = act.attrs.get("obj")
        if fixed:
            return fixed, _flags(act.groups, act.attrs)
        if (
            act.attrs["act"] == "od"
            and "dose" not in self.t.words[act.start : act.end]  # "dose létale du xanax"
            and self.names_a_thing(act, _OF | {"on"})
        ):
            return "thing", _flags(act.groups, act.attrs)  # "overdose de shopping"
        lo = reach_back.start if reach_back is not None else act.end
        for x in self.of("means"):
            if lo <= x.start and x.start - act.end <= _OBJECT_GAP \
                    and self.same_clause(x.start, act.start):  # fmt: skip
                return x.attrs["means"], _flags(x.groups, x.attrs) + _flags(act.groups, act.attrs)
        places = {"jump": _GOTO_MEANS, "drown": _GOTO_MEANS, "use": _USE_MEANS}.get(
            act.attrs["act"], frozenset()
        )
        for x in self.of("means"):  # "the bridge ... jumping off it", "which bridge I'd use"
            if x.attrs["means"] in places and self.same_sentence(x.start, act.start):
                return x.attrs["means"], _flags(x.groups, x.attrs) + _flags(act.groups, act.attrs)
        for x in self.of("object"):
            if act.end <= x.start <= act.end + 1 and self.same_clause(x.start, act.start):
                if self.names_a_thing(x):
                    return "thing", _flags(act.groups, act.attrs)
                return "pron", _flags(x.groups, x.attrs) + _flags(act.groups, act.attrs)
        if act.groups.get("pro"):
            return "pron", _flags(act.groups, act.attrs)
        return "none", _flags(act.groups, act.attrs)


_SECOND_HALF: Final = frozenset({"pas", "plus", "jamais", "rien", "personne"})
"""The second half of a French negation, when a pattern holds it ("plus envie de vivre")."""
_ASKS: Final = frozenset({"how", "count"})
_NOT_BEFORE_PAST: Final = frozenset({"intent", "wish", "think", "would"})
"""Modals a past tense ends ("I wanted to... I took", "tonight I swallowed"): the act is done."""
"""Questions about a method ("how do I...") or an amount ("how many pills...")."""
_PLAY_DROPS: Final = frozenset({"wish", "think", "intent", "bare", "ask", "how", "count", "would"})
"""Modes a laugh drops ("i want to die lol"), unless a time within hours is named."""


def _act_fact(c: _Clause, act: Mention, play: bool, laugh: bool) -> str | None:
    """The fact of one act mention: ``A:...``, or a mark (``Y`` someone else's, ``D``
    denied, ``H`` hedged, ``L`` laughed off, ``X`` play), or None (nothing said)."""
    needs = act.attrs.get("needs")
    if needs == "means":  # "ça suffit ?" is about pills only when pills are named
        if not any(
            x.attrs["means"] in OVERDOSE_MEANS and c.same_sentence(x.start, act.start)
            for x in c.of("means")
        ):
            return None
        needs = None
    modal = c.ask_before(act) if needs == "how" else c.modal_before(act)
    if needs and (modal is None or (needs == "how" and modal.attrs["mode"] not in _ASKS)):
        return None  # "suicide", "die", "end it" alone say nothing of the writer
    anchor = modal or act
    # "I" the act's own words begin with ("j avale" after "dès que ma coloc part"); not
    # "everyone" in "everyone would be better off without me", which is the writer's
    own = any(
        x.start == anchor.start and x.end <= anchor.end and x.attrs.get("person") == "first"
        for x in c.of("subject")
    )
    person = act.attrs.get("person") or ("first" if own else c.person(anchor.start))
    if person != "first":
        return "Y"
    if not own and c.topic(act):
        return None  # "the difference between passive suicidal ideation and a plan"
    if c.negated(anchor, act):
        return "D"  # the writer denies it ("I'd never...", "je vais pas...")
    if any(x.end <= anchor.start and c.same_clause(x.start, anchor.start) for x in c.of("hedge")):
        return "H"  # "not that I want to die, but...": said and denied at once, a signal
    tense = act.attrs.get("tense", "base")
    if modal is not None and tense == "past" and modal.attrs["mode"] in _NOT_BEFORE_PAST:
        modal = None  # "earlier tonight I swallowed...": "tonight I" announces nothing here
    mode = act.attrs.get("mode") or (
        modal.attrs["mode"] if modal is not None else {"past": "past", "prog": "prog"}.get(
            tense, "bare")
    )  # fmt: skip
    obj, flags = c.object_of(act, modal if mode in _ASKS else None)
    if act.attrs["act"] == "ingest" and obj in _RIDDEN and mode not in _USE_MODES:
        # "je prends le train", "take the car": travel, neither intake nor something
        # harmless taken, so no fact and no veto: the rest of the message decides ("à minuit
        # je prends le train jusqu'à la côte et je marche dans la mer").
        return None
    flags += c.times(act.start)
    if c.conditional(act.start):
        flags += "c"
    if play and act.attrs["act"] not in ("ingest", "od"):
        return "X"  # a game, a workout: deaths and jumps there are play
    soon = bool(set(flags) & set("gys")) and "c" not in flags
    if laugh and mode in _PLAY_DROPS and not soon:
        return "L"
    if laugh and "c" in flags:
        return "L"
    return f"A:{mode}:{act.attrs['act']}:{obj}:{''.join(sorted(set(flags)))}"


def _means_fact(c: _Clause, means: Mention) -> str | None:
    state = "none"
    anchor = means
    verbs = [
        x for x in c.of("possess")
        if x.end <= means.start and means.start - x.end <= _OBJECT_GAP
        and c.same_clause(x.start, means.start)
    ]  # fmt: skip
    if verbs:
        anchor = max(verbs, key=lambda x: (x.end, x.end - x.start))
        state = anchor.attrs.get("state", "have")
    if any(
        x.attrs.get("state") == "stock" and means.end <= x.start <= means.end + 3
        and c.same_clause(x.start, means.start)
        for x in c.of("possess")
    ):  # fmt: skip
        state = "stock"
    if any(c.same_clause(x.start, means.start) for x in c.of("ready")):
        state = "ready"
    if c.person(anchor.start) != "first" or c.negated(anchor, anchor):
        return None
    flags = _flags(means.groups, means.attrs) + c.times(means.start)
    return f"M:{means.attrs['means']}:{state}:{''.join(sorted(set(flags)))}"


_MARKS: Final = (("laugh", "L"), ("context", "X"), ("third", "Y"), ("back", "K"),
                  ("retract", "C"))  # fmt: skip
"""Marks read even in a message with no crisis word (a later one may need them)."""


def _facts(lang: _Language, text: str) -> list[str]:
    """The facts of one prepared text in one language."""
    if lang.code == "fr":
        text = fold_french(text)
    elif lang.clipped:
        text = " ".join(lang.clipped.get(w, w) for w in text.split(" "))
    idiom = False
    if lang.idioms is not None:
        text, found = lang.idioms.subn(" ~ ", text)
        text, idiom = " ".join(text.split()), found > 0
    if lang.trigger_words.isdisjoint(text.split(" ")) and not (
        lang.trigger is not None and lang.trigger.search(text)
    ):
        # Most messages: nothing but, perhaps, a time ("tonight") a later message may need.
        times = [f"T:{e.attrs['time']}" for e in lang.kinds["time"] if e.pattern.search(text)]
        marks = [
            code for kind, code in _MARKS if any(e.pattern.search(text) for e in lang.kinds[kind])
        ]
        return times + marks + (["I"] if idiom else [])
    tokens = _Tokens(text, lang.breaks)
    c = _Clause(_mentions(lang, tokens), tokens)
    laugh = bool(c.of("laugh"))
    facts: list[str] = []
    used: set[int] = set()
    for act in c.of("act"):
        fact = _act_fact(c, act, c.play(act.start), laugh)
        if fact is None:
            continue
        if fact == "H":
            facts.append("D")  # said and denied at once: a signal, never a crisis
        facts.append(fact)
        if fact.startswith("A:"):
            used |= {x.start for x in c.of("means")
                     if act.end <= x.start and x.start - act.end <= _OBJECT_GAP
                     and c.same_clause(x.start, act.start)}  # fmt: skip
    for means in c.of("means"):
        if means.start not in used and not c.play(means.start):
            fact = _means_fact(c, means)
            if fact is not None:
                facts.append(fact)
    for place in c.of("place"):  # "at the top of the tower, the view"
        if c.play(place.start):
            continue
        if c.person(place.start) == "first" and not c.negated(place, place):
            facts.append(f"P:{place.attrs.get('strength', 'strong')}:{c.times(place.start)}")
    for kind, code in (("note", "N"), ("giveaway", "V"), ("bleed", "B"), ("toxic", "W"),
                       ("resolve", "R"), ("plan", "Q")):  # fmt: skip
        weak = 0
        for x in c.of(kind):
            if (c.person(x.start) == "first" or _wound_subject(c, x)) and not c.negated(x, x):
                if x.attrs.get("strength") != "weak":
                    facts.append(code)
                    continue
                weak += 1
                facts.append(code + (":weak" if weak == 1 else ":weak2"))
    said: set[str] = set()
    for x in _apart(c.of("goodbye")):
        said_by = c.subject_before(x.start)
        if (
            said_by is not None
            and said_by.attrs.get("person") == "third"
            and x.start - said_by.end <= 1
            and " ".join(tokens.words[said_by.start : said_by.end]) not in _ADDRESSED
        ):
            continue  # "she won't be around much longer", "my ex texted 'goodbye forever'"
        strength = x.attrs.get("strength", "strong")
        words = " ".join(tokens.words[x.start : x.end])
        two = strength == "weak" and bool(said) and words not in said
        if strength == "weak":
            said.add(words)
        facts.append("G:weak2" if two else f"G:{strength}")
    for x in c.of("hopeless"):
        if not c.negated(x, x) and c.person(x.start) == "first":
            facts.append("H")
    for kind, code in (("laugh", "L"), ("context", "X"), ("third", "Y"), ("back", "K"),
                       ("routine", "U")):  # fmt: skip
        if c.of(kind):
            facts.append(code)
    if c.of("retract") and not c.of("means"):
        facts.append("C")  # "the photos i mean": "them" was something else
    facts.extend(f"T:{x.attrs['time']}" for x in c.of("time"))
    if idiom:
        facts.append("I")
    return facts


def _about_them(fact: str) -> bool:
    """An act on "them", "it", "everything" (a referent a correction may take back)."""
    return fact.startswith("A:") and fact.split(":")[3] == "pron"


_WOUND_PRONOUNS: Final = frozenset({"it", "they", "theyre", "ca", "sa", "ele", "eles", "il", "ils"})


def _wound_subject(c: _Clause, x: Mention) -> bool:
    """Bleeding said of "it" or "they" (the cuts, the wound: "they won't stop bleeding",
    "elles saignent encore"), not of a person named."""
    if x.kind != "bleed":
        return False
    s = c.subject_before(x.start)
    return s is not None and " ".join(c.t.words[s.start : s.end]) in _WOUND_PRONOUNS


def _apart(mentions: Sequence[Mention]) -> list[Mention]:
    """Mentions that do not overlap (the longest first at each place): two weak goodbyes
    are two things said, not one pattern matched twice."""
    out: list[Mention] = []
    for x in sorted(mentions, key=lambda m: (m.start, -m.end)):
        if not out or x.start >= out[-1].end:
            out.append(x)
    return out


# --------------------------------------------------------------------------- derive


@dataclass(frozen=True)
class _Act:
    mode: str
    act: str
    obj: str
    flags: str

    @classmethod
    def parse(cls, code: str) -> _Act:
        _, mode, act, obj, flags = code.split(":")
        return cls(mode, act, obj, flags)

    def has(self, letters: str) -> bool:
        return bool(set(letters) & set(self.flags))


def _overdose(a: _Act, ctx: bool, referent: bool) -> bool:
    """An ingestion that is an overdose: a quantity, "the pills", poison, or "them" when
    pills were named; "my meds" alone is routine (an overdose of a thing: ``_act_level``)."""
    if a.act == "od":
        return True
    if a.act not in ("ingest", "use"):
        return False
    if a.mode in _ASKS and a.obj in OVERDOSE_MEANS:
        return True  # "combien de cachets faut prendre pour..." asks for a dose
    if a.obj == "poison":
        return True
    if a.obj in METHOD_MEANS and a.obj not in OVERDOSE_MEANS:
        return False  # "take the train", "drink the sea water"
    if a.obj in METHOD_MEANS:
        return a.has("qd") or (not a.has("o") and (ctx or a.has("rp")))
    if a.obj == "pron":
        return a.has("q") or referent
    return a.obj == "none" and referent and a.mode in ("past", "prog")


def _act_level(
    a: _Act, ctx: bool, referent: bool, window_soon: bool, routine: bool = False
) -> tuple[Cssrs, bool, str]:
    """One act's level and imminence. ``ctx``: other crisis facts in the window;
    ``referent``: pills, poison or another means was named (what "them" may be);
    ``routine``: the message says the intake is the prescribed one ("as the doctor said")."""
    # "do it" with a means named is the act by that means ("je l'ai fait avec les cachets",
    # "I'll do it with his gun"); "did it with the gun" is more often the range than a shot
    if a.act == "doit" and a.obj in _PLANNED_MEANS and not (a.obj == "gun" and a.mode == "past"):
        a = _Act(a.mode, "od" if a.obj in OVERDOSE_MEANS else "kill", a.obj, a.flags)
    far = a.has("fl")
    soon = a.has("gysn") or (window_soon and a.mode in ("intent", "prog", "bare"))
    if a.has("h") and a.mode not in ("past", "tried"):
        soon = False  # "I often think of jumping on my way home": a habit, not a time
        a = _Act(a.mode, a.act, a.obj, a.flags.translate(_NOT_SOON))
    method = a.obj in METHOD_MEANS
    overdose = _overdose(a, ctx, referent) and not (routine and not a.has("q"))
    if (
        routine
        and a.act in ("od", "ingest", "use")
        and not a.has("q")
        and a.mode
        not in (
            "past",
            "prog",
        )
    ):
        return "none", False, "routine-dose"  # "how much tylenol is safe for a fever?"
    if a.act == "goto":  # going to the bridge, the roof, the tracks: a plan in a crisis only
        if a.obj not in _GOTO_MEANS or not ctx or a.mode in ("would", "count", "how", "ask"):
            return "none", False, "goto-no-context"
        if a.mode in ("past", "prog") and not a.has("lf"):
            return "preparatory", True, "on-the-way"
        return ("plan" if a.mode in ("intent", "bare") else "method"), soon, "goto-place"
    taken = a.act == "ingest" and a.obj in ("gun", "rope")  # "je pourrais prendre le fusil"
    if ((a.act == "use" and a.obj in _USE_MEANS) or taken) and a.mode in _USE_MODES:
        a = _Act(a.mode, "jump" if a.obj in _GOTO_MEANS else "shoot", a.obj, a.flags)
    if a.has("u") and not a.has("gys") and a.mode not in ("past", "tried", "prog"):
        return "none", False, "history"  # "I used to be suicidal"
    if a.act == "od" and a.obj == "thing":
        return "none", False, "od-of-a-thing"  # "an overdose of squats", "overdose de soldes"
    if a.act in ("ingest", "use"):
        if not overdose:
            return "none", False, "ingest-routine"
        if a.mode == "bare":
            if a.has("l") and not soon and (method or overdose):
                return "plan", False, "ingest-dated"  # "on the 14th I take them all with vodka"
            if not (soon or ctx):
                return "none", False, "ingest-habit"
            return ("plan" if soon else "method"), soon, "ingest-announced"
    if a.act == "doit" and not (ctx or "S" in a.flags):
        return "none", False, "doit-no-context"
    if a.act == "die" and a.mode in ("intent", "prog", "past") and not (ctx or a.has("gys")):
        return "none", False, "die-hyperbole"
    if a.act == "jump" and not (method or ctx):
        return "none", False, "jump-no-place"
    if a.act == "cut" and "B" in a.flags and a.mode in ("past", "prog", "bare", "tried"):
        return "attempt", True, "cut-bleeding"  # "I cut my wrist and it won't stop"
    if a.act == "cut" and a.obj != "wrist":
        if a.mode in ("past", "prog", "bare", "tried"):
            if "B" in a.flags:
                return "attempt", True, "cut-bleeding"
            return "preparatory", a.mode == "prog" and a.has("n"), "self-injury"
        return "none", False, "cut-urge"
    if a.mode == "past" and a.act == "doit" and "c" in a.flags:
        return "active_ideation", False, "if-i-did-it"  # "if I did it, I'd use...": hypothetical
    if a.mode in ("past", "tried"):
        if a.act == "die":
            return "none", False, "die-past"
        if a.has("a"):  # the act's own time: "now" elsewhere in the sentence is not its
            return "none", False, _YEARS_AGO  # "at 17 I overdosed, now I'm a nurse"
        return "attempt", not far, "attempt"
    if a.mode == "prog" and "c" in a.flags:  # "if ..., I'm jumping": a condition, not an act
        a = _Act("intent", a.act, a.obj, a.flags)
    if a.mode == "prog":
        if a.act in ("kill", "doit", "die") or a.has("lgys"):  # "I'm ending it (tonight)"
            return ("plan" if method else "intent"), not a.has("l"), "announced"
        # "stood with the cord round my neck ... last week": an attempt, not now
        return "attempt", not a.has("f"), "attempt-in-progress"
    if "c" in a.flags:
        return ("method" if method else "active_ideation"), False, "conditional"
    if a.mode == "intent":
        if method or overdose or a.act in ("jump", "hang", "shoot", "drown", "crash", "od"):
            return ("plan" if soon else "intent"), soon, "intent-method"
        return "intent", soon, "intent"
    wish_soon = a.has("gys")  # "now" with a wish is how it feels, not when
    if a.mode == "would":  # "I could...", "I'd...": a thought, or a figure of speech
        if a.act == "die":
            return "none", False, "would-die"
        return ("method" if method or overdose else "active_ideation"), False, "would"
    if a.act == "die" and a.mode == "count" and not method:
        return "none", False, "how-many-die"  # "how many more have to die"
    if a.act == "die":
        return ("intent" if wish_soon else "wish_to_die"), wish_soon, "wish"
    if a.mode in _ASKS:  # a question about a method, whenever asked, is no act within hours
        return "method", False, "method-question"
    if method or overdose or a.act not in ("kill", "doit"):
        return ("plan" if wish_soon else "method"), wish_soon, "method"
    return ("intent" if wish_soon else "active_ideation"), wish_soon, "ideation"


_CTX_CODES: Final = frozenset({"G:strong", "G:dated", "G:weak2", "N", "H", "R", "P:strong"})
_PLANNED_MEANS: Final = frozenset({"pills", "poison", "rope", "gun", "gas"})
"""Means that, named beside "I've worked it all out", make it a plan on their own (a
height, a train or water need more: "I've planned the day, we take the train")."""
_HARMLESS: Final = frozenset({"ingest-routine", "jump-no-place", "od-of-a-thing"})
"""Rules that set an act aside for what it applies to (not for want of context)."""
_VETO_CODES: Final = frozenset({"Y", "L", "X", "D"})
"""Someone else's act or talk about suicide, laughter, play, a denial (see ``Reading``). An
idiom is not one: it is taken out before the grammar reads, and whatever else the message
says still counts (real validation data: 4 of 268 risk contexts lost to it, no gain)."""


def _held(state: str, flags: str) -> bool:
    """A means someone keeps, buys or holds ready, that "them" may then be: not one's own
    single one ("j'ai oublié ma pilule... je l'ai prise à midi")."""
    return state != "none" and not (state == "have" and "o" in flags and "d" not in flags)


_ADDRESSED: Final = frozenset({"everyone", "everybody", "tout le monde", "people", "yall"})
"""Third-person words that, before a goodbye, are whom it is said to ("bye everyone")."""
_WEAK_FAREWELLS: Final = frozenset({"N:weak", "V:weak", "G:weak"})
"""Weak signs of leaving, each everyday alone ("wrote a letter to my mum", "gave my guitar
to a friend", "thanks for everything"): two of different kinds together are a crisis's."""
_NAMED_TIMES: Final = frozenset({"now", "tonight", "today", "soon", "later"})


def derive(facts: Sequence[str]) -> Reading:
    """The C-SSRS level and imminence of a set of facts (one message or several)."""
    if not facts:
        return NONE
    acts = [_Act.parse(f) for f in facts if f.startswith("A:")]
    means = [f.split(":") for f in facts if f.startswith("M:")]
    codes = set(facts)
    times = {f[2:] for f in facts if f.startswith("T:")}
    window_soon = bool(times & {"now", "tonight", "today", "soon"})
    referent = any(m[1] in METHOD_MEANS and ("q" in m[3] or _held(m[2], m[3])) for m in means) \
        or any(a.obj in METHOD_MEANS and a.has("q") for a in acts)  # fmt: skip
    routine, back = "U" in codes, "K" in codes
    # symptoms of poisoning said by the writer ("the room is spinning", "je vois flou"):
    # evidence that an ingestion just told of is an overdose (never the prescribed intake)
    poisoned = "W" in codes and not routine
    # Said with a goodbye or "it's done", "them" and "everything" swallowed are the pills.
    soft = bool(codes & {"G:weak", "G:weak2", "G:strong", "G:dated", "N", "N:weak"}) or any(
        a.act == "doit" and a.mode in ("past", "prog") for a in acts
    )
    best: tuple[Cssrs, bool, str] = ("none", False, "")

    urgent = harmless = history = False

    def better(level: Cssrs, imminent: bool, why: str) -> None:
        nonlocal best, urgent
        urgent = urgent or (imminent and level != "none")
        if (cssrs_index(level), imminent) > (cssrs_index(best[0]), best[1]):
            best = (level, imminent, why)

    def read(ctx: bool) -> None:
        nonlocal harmless, history
        for a in acts:
            if "B" in codes and a.act == "cut":
                a = _Act(a.mode, a.act, a.obj, a.flags + "B")
            if poisoned and a.act in ("ingest", "use") and a.mode in ("past", "prog", "tried"):
                # "took my insulin, way over my dose ... shaking and sweating": what was taken
                # is doing harm, whatever the amount said (the prescribed dose excepted)
                a = _Act(a.mode, a.act, a.obj, a.flags.replace("o", "") + "q")
            known = referent or (
                soft and a.mode in ("past", "prog") and (a.obj == "pron" or a.has("q"))
            )
            # "I did something stupid" with bleeding or poisoning: what was done is the wound
            done = ctx or (
                bool(codes & {"B", "W"}) and a.act == "doit" and a.mode in ("past", "tried")
            )
            level, imminent, why = _act_level(a, done, known, window_soon, routine)
            if why == _YEARS_AGO:  # history: vetoes its words, dates no other act
                history = True
            doit_planned = a.act == "doit" and a.mode in ("intent", "prog", "bare")
            if doit_planned and named_means and (a.has("nlgys") or dated):
                # "I'm doing it on the 14th... pills and the bath": a means and a date
                better("plan", a.has("ngys") or window_soon, "doit-with-means")
            # The act's object says it is harmless: "took my vitamins", "jump in the pool".
            harmless = harmless or (why in _HARMLESS and a.obj != "none")
            better(level, imminent, why)
        for _, kind, state, flags in means:
            soon = bool(_SOON & set(flags)) or window_soon
            strong = "q" in flags or "d" in flags or kind in ("rope", "gun", "poison")
            if routine and state == "ready":
                continue  # "lined up all my pills for the week in the organiser"
            if state == "ready" and kind not in _GOTO_MEANS and (strong or ctx):
                better("preparatory", True, "means-at-hand")
            elif state == "stock" and kind in METHOD_MEANS:
                better("preparatory", soon and ctx, "means-stocked")
            elif routine and "q" not in flags:
                continue  # "picked up my prescription, taking it like the doctor said"
            elif (
                state == "buy"
                and kind in METHOD_MEANS
                and (ctx or "q" in flags or (soon and strong and kind != "poison"))
            ):
                # bleach or weedkiller bought today is housework without another crisis fact
                better("preparatory", False, "means-bought")
            elif state == "none" and kind in METHOD_MEANS and "d" in flags and strong_ctx:
                # "I've made up my mind" ... "the bridge by the river" ... "at midnight"
                better("plan" if soon else "method", soon, "means-named-in-crisis")
            elif state == "have" and (("q" in flags and kind == "rope") or (strong and ctx)
                                      or ("q" in flags and soon)):  # fmt: skip
                better("preparatory", soon, "means-kept")
        for f in facts:
            if f.startswith("P:"):
                place_flags = f.split(":")[2]
                if "h" in place_flags:
                    continue  # "je passe sur le pont tous les matins": a route, not a ledge
                if "a" in place_flags and not _SOON & set(place_flags):
                    history = True  # "quinze ans plus tôt, j'étais sur le rebord d'un pont"
                    continue
                if f.split(":")[1] == "strong" or ctx:
                    better("preparatory", True, "at-the-place")
            elif f in ("N", "N:weak2") or (f == "N:weak" and ctx):
                better("preparatory", "G:strong" in codes or window_soon, "note")
            elif f in ("V", "V:weak2") or (f == "V:weak" and ctx):
                better("preparatory", False, "giving-away")
            elif back and f.startswith("G:"):
                continue  # "goodbye everyone, see you after the holidays"
            elif f in ("G:strong", "G:weak2") or (f == "G:weak" and ctx):
                better("intent", True, "goodbye")
            elif f == "G:dated":  # "I won't be alive at the end of the month": decided, not now
                better("intent", False, "farewell-dated")
            elif f == "Q" and any(m[1] in _PLANNED_MEANS for m in means):
                better("plan", window_soon, "planned")
            elif f == "Q" and named_means and dated:
                # "worked it out. 2am, the rail bridge": a plan names a means and a time
                better("plan", window_soon, "planned-when")
            elif f == "B" and ctx:
                better("attempt", True, "bleeding")

    named_means = any(m[1] in METHOD_MEANS for m in means) or any(
        a.obj in METHOD_MEANS for a in acts
    )
    dated = bool(times & _NAMED_TIMES)
    farewells = {f for f in codes & _WEAK_FAREWELLS if not (back and f.startswith("G"))}
    ctx_other = bool(codes & _CTX_CODES) or len(farewells) >= 2
    strong_ctx = bool(codes & (_CTX_CODES - {"H", "R"})) or "Q" in codes
    read(False)
    ctx = best[0] != "none" or ctx_other or "Q" in codes or history
    urgent = False
    read(ctx)
    level, _, why = best
    # a figure of speech and nothing else ("cette appli va finir par me tuer", "I'd rather
    # swallow a bottle of pills than do another group project"): its words are no crisis
    figurative = "I" in codes and all(f == "I" or f.startswith("T:") for f in facts)
    vetoed = level == "none" and (harmless or history or bool(codes & _VETO_CODES))
    return Reading(
        level, urgent and level != "none", tuple(facts), why, vetoed, level == "none" and figurative
    )


# --------------------------------------------------------------------------- the grammar


@dataclass(frozen=True)
class CrisisGrammar:
    """The compiled grammar of several languages; :meth:`read` one message."""

    languages: tuple[_Language, ...]
    fuzzy: _Fuzzy

    @classmethod
    def load(
        cls, languages: Sequence[str] = LANGUAGES, folder: Path = LEXICON_DIR
    ) -> CrisisGrammar:
        langs = tuple(_load_language(folder / f"crisis_{code}.yaml") for code in languages)
        keys = [k for lang in langs for k in lang.fuzzy_keys]
        known = [k for lang in langs for k in lang.known]
        return cls(langs, _Fuzzy(keys, known))

    def prepared(self, text: str) -> str:
        return " ".join(self.fuzzy(CHAT.get(w, w)) for w in prepare(text).split(" "))

    def facts(self, text: str) -> tuple[str, ...]:
        """The facts of one message (a fact is language-free), read by the grammar of its
        language, or of every language when that is unclear."""
        return self.facts_and_language(text)[0]

    def facts_and_language(self, text: str) -> tuple[tuple[str, ...], str | None]:
        """``facts`` and ``language`` from one preparation of the text."""
        prepared = self.prepared(text)
        if not prepared:
            return (), None
        out: list[str] = []
        languages = self.languages_of(prepared)
        for lang in languages:
            for f in _facts(lang, prepared):
                if f not in out:
                    out.append(f)
        return tuple(out), languages[0].code if len(languages) == 1 else None

    def languages_of(self, prepared: str) -> tuple[_Language, ...]:
        words = prepared.split(" ")
        scores = {
            lang.code: sum(w in lang.function_words for w in words) for lang in self.languages
        }
        top = max(scores.values(), default=0)
        rest = sorted(scores.values())[-2] if len(scores) > 1 else 0
        if top == 0 or (top < 2 * rest + 2 and rest > 0) or (top < 2 and rest > 0):
            return self.languages  # too short or too mixed to tell: every grammar reads it
        return tuple(lang for lang in self.languages if scores[lang.code] == top)

    def language(self, text: str) -> str | None:
        """The one language ``text`` is written in, by its function words; None when it is
        too short or too mixed to tell (``languages_of`` then reads it with every grammar)."""
        return self.facts_and_language(text)[1]

    def read(self, text: str) -> Reading:
        facts, language = self.facts_and_language(text)
        reading = derive(facts)
        return replace(reading, language=language) if language else reading


@cache
def default_grammar() -> CrisisGrammar:
    return CrisisGrammar.load()


def merge(history: Sequence[Sequence[str]], current: Sequence[str]) -> Reading:
    """The reading of a short conversation: the facts of earlier messages (oldest first)
    and of the current one, derived together. Laughter, play or an idiom in an earlier
    message does not excuse the current one: those codes are dropped from the history. A
    message that names only a time lends it to the acts of the last message that had any;
    a correction (``C``: "the photos i mean") takes "them" back from the last message that
    acted on it."""
    earlier = [list(message) for message in history]
    current = list(current)
    said = [*earlier, current]
    for i, message in enumerate(said):  # "i took them all" / "the photos i mean"
        if "C" in message:
            for before in reversed(said[:i]):
                if any(f.startswith("A:") for f in before):
                    before[:] = [f for f in before if not _about_them(f)]
                    break
    earlier = [
        [f for f in message if f not in ("L", "X", "I", "D", "Y", "K", "U", "C")]
        for message in earlier
    ]
    times = "".join(sorted({TIME_LETTERS[f[2:]] for f in current if f.startswith("T:")}))
    if times and all(f.startswith("T:") for f in current):
        for message in reversed(earlier):  # "tonight" after "I'm going to do it"
            if any(f.startswith("A:") for f in message):
                message[:] = [f + times if f.startswith("A:") else f for f in message]
                break
    return derive([f for message in earlier for f in message] + list(current))
