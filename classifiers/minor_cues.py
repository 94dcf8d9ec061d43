"""A small grammar of what a minor says about themselves, English and French.

Why a grammar beside the ``minor`` head: an explicit statement ("i'm 14", "je suis en
4e", "my mom took my phone") is a reason to believe the writer is a minor whatever a
model thinks, costs a few regular expressions, and is where a head trained on few
examples is weakest. The grammar only reads the first person in the present: "my son is
14", "I teach 7th grade", "when I was 15", "quand j'avais 13 ans" are not the writer's
own age. Those frames are reported apart (``adult``) so the fusion can keep the head from
flagging a parent or a teacher on the words they share with children.

Patterns match :func:`classifiers.normalize.fold`'s text (lower case, no accents, runs of
one letter squeezed: "school" reads "schol", "collège" reads "colege"), with straight
apostrophes.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from classifiers.normalize import fold

MINOR_CUES: Final[tuple[str, ...]] = ("age", "school_year", "parents_rules", "school_life")
"""What gives a minor away, as cue names (results and event details use them)."""
ADULT_CUES: Final[tuple[str, ...]] = (
    "adult_age", "about_a_child", "teacher", "past_self", "adult_life", "adult_school",
)  # fmt: skip
"""Frames in which the same words are about someone else, the past or an adult life."""
FRAMED: Final = frozenset({"about_a_child", "teacher", "past_self"})
"""Frames in which rules and school life are someone else's, or the writer's past: a
parent's "detention" or "grounded" is not the writer's own (ages and school years are
read in the first person present and stand)."""

_APOSTROPHES: Final = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'"})

Patterns = re.Pattern[str]
"""One alternation per category: one regex pass over a message, not one per pattern."""


def _squeeze(pattern: str) -> str:
    """A pattern as :func:`fold` spells: runs of one letter squeezed ("middle" reads
    "midle"), so patterns can be written in plain spelling (never after a backslash)."""
    return re.sub(r"(?<!\\)([a-z])\1+", r"\1", pattern)


def _compile(*parts: str) -> Patterns:
    """The parts as one alternation of whole words; a part's named groups (``n``, ``y``)
    are numbered apart (``n_0``, ``n_1``...) so that every part may name its own."""
    renamed = [re.sub(r"\(\?P<(\w+)>", rf"(?P<\1_{i}>", _squeeze(p)) for i, p in enumerate(parts)]
    return re.compile(r"(?<![\w'])(?:" + "|".join(f"(?:{p})" for p in renamed) + r")(?!\w)")


def _any(patterns: Patterns, text: str) -> bool:
    return patterns.search(text) is not None


def _groups(patterns: Patterns, text: str, prefix: str) -> list[str]:
    """The values of the groups named ``<prefix>_<i>`` in every match."""
    return [
        value
        for m in patterns.finditer(text)
        for name, value in m.groupdict().items()
        if value is not None and name.rsplit("_", 1)[0] == prefix
    ]


_EN_WORDS: Final = {
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
}  # fmt: skip
_FR_WORDS: Final = {
    "huit": 8, "neuf": 9, "dix": 10, "onze": 11, "douze": 12, "treize": 13, "quatorze": 14,
    "quinze": 15, "seize": 16, "dix-sept": 17, "dix sept": 17, "dix-huit": 18, "dix huit": 18,
}  # fmt: skip
_WORDS: Final = {_squeeze(k): v for k, v in {**_EN_WORDS, **_FR_WORDS}.items()}
_NUM_EN = r"(?P<n>\d{1,2}|" + "|".join(_EN_WORDS) + ")"
_NUM_FR = r"(?P<n>\d{1,2}|" + "|".join(sorted(_FR_WORDS, key=len, reverse=True)) + ")"

_UNITS: Final = (
    r"(?!\s*(?:min|mins|minutes?|secs?|seconds?|h|hrs?|hours?|days?|weks?|wks?|months?|"
    r"years?(?!\s*old)|yrs?(?!\s*old)|km|kms|kg|kgs|lbs?|pounds?|stone|miles?|%|percent|"
    r"times|x|th|st|nd|rd|episodes?|chapters?|levels?|pages?|points?|pts|games?|steps?|"
    r"dolars?|euros?|bucks|cm|inches|fet|ft|mg|am|pm|o'?clock|out of|of|/|:|\.\d|,\d|"
    r"\d|messages?|texts?|people|kids|students|in line|on the list))"
)
"""Not an age: a number followed by a unit ("i'm 15 minutes away", "i'm 16 weeks in")."""

_I_AM = r"(?:i'?m|i am|im|i m)"
_SOFT_EN = r"(?:(?:only|just|almost|nearly|barely|like|literally|already|actually|still) )?"
_SOFT_FR = r"(?:(?:que|seulement|bientot|deja|presque|a peine|juste|meme pas) )?"


# --- ages: a group ``n`` (an age now) or ``next`` (the age about to be reached)
_AGE_NOW: Final = _compile(
    rf"{_I_AM} {_SOFT_EN}{_NUM_EN}(?:\s*(?:years? old|yrs? old|yo|y/o|y\.o\.?|f|m))?{_UNITS}",
    rf"{_I_AM} an? {_NUM_EN}[- ]?(?:years?|yrs?|y)[- ]?old",
    rf"(?:i (?:just |only )?|i'?ve (?:just )?|ive (?:just )?|just )turned {_NUM_EN}{_UNITS}",
    r"[(\[]\s*(?P<n>1[0-7])\s*[fm]\s*[)\]]|[(\[]\s*[fm]\s*(?P<n2>1[0-7])\s*[)\]]",
    rf"(?:j'?ai|jai|g|j ai) {_SOFT_FR}{_NUM_FR}\s*(?:ans|an|a)(?!\s*(?:d'|de |d |et \d))",
    rf"(?<!quand )(?<!lorsque )(?:j'?ai|jai) eu {_NUM_FR} ans(?!\s*(?:d'|de ))",
    rf"(?:je viens|jviens|je vien) d'?avoir {_NUM_FR} ans",
    rf"(?:je suis|jsuis|j'suis|chui|chuis|jss) (?:une? )?(?:fille|garcon|gars|ado|"
    rf"adolescente?|meuf|mec|jeune) de {_NUM_FR} ans",
)
_AGE_NEXT: Final = _compile(
    rf"(?:i'?ll be|ill be|i will be|i'?m turning|im turning|i turn|turning) {_NUM_EN}"
    rf"(?!\s*(?:years? old)?\s*(?:min|minutes?|hours?|days?|months?|years? (?:ago|from)|%))"
    rf"{_UNITS}",
    rf"(?:je vais avoir|jvais avoir|j'aurai|jaurai|je fete mes|pour mes) {_NUM_FR} ans",
)
_YOUNG: Final = _compile(
    rf"{_I_AM} (?:still |way |far )?(?:to young|not old enough) (?:to|for)",
    r"i can'?t (?:drive|vote) yet|i'?m not alowed to drive yet",
    r"when i grow up|my (?:weekly )?allowance",
    r"(?:je suis|jsuis|chui) (?:encore |beaucoup |bien )?trop jeune pour",
    r"je (?:ne )?peux pas (?:encore )?(?:conduire|voter)(?: encore)?",
    r"quand je serai (?:grand|grande)|mon argent de poche",
)
"""Said by someone too young for adult things: an age, though no number is given."""
_BORN: Final = _compile(
    r"(?:i was|i'?m|im|i am|was) born in (?P<y>(?:19|20)\d\d)|^born in (?P<y2>(?:19|20)\d\d)",
    r"(?:je suis|jsuis|j'suis|chui|suis) n[e]?e? en (?P<y>(?:19|20)\d\d)",
    r"^n[e]e? en (?P<y>(?:19|20)\d\d)",
)

# --- school years (first person, present or the coming year)
_GRADE_EN = (
    r"(?:\d{1,2}(?:st|nd|rd|th)|first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|"
    r"tenth|eleventh|twelfth)"
)
_SCHOOL_YEAR: Final = _compile(
    rf"{_I_AM} (?:still |now |currently )?in (?:the )?{_GRADE_EN} grade",
    rf"(?:{_I_AM}|i'?ll be|i will be) (?:going |starting |moving )?(?:in(?:to)? )?(?:the )?"
    rf"{_GRADE_EN} grade",
    rf"{_I_AM} (?:going |starting )?(?:in(?:to)? )?(?:grade|year) (?:[5-9]|1[0-3])"
    r"(?!\s*(?:of|at uni|at university|at colege|in colege|of my))",
    rf"{_I_AM} an? {_GRADE_EN}[- ]?grader",
    rf"{_I_AM} (?:still |only |just )?(?:in|at|going to) (?:middle|high|junior high|jr high|"
    r"secondary|elementary|primary|grade) ?schol",
    rf"{_I_AM} (?:still |only )?in (?:hs|jr high|junior high|middle schol)",
    r"i (?:go to|atend) (?:middle|high|junior high|elementary|primary) ?schol",
    rf"{_I_AM} an? (?:high ?schol |hs )?(?:freshman|sophomore|junior|senior) (?:in|at) "
    r"(?:high ?schol|hs)",
    rf"{_I_AM} an? (?:high ?schol|hs) (?:freshman|sophomore|junior|senior|student)",
    r"(?:je suis|jsuis|j'suis|chui|chuis|jss|je rentre|je pase|je vais paser|"
    r"je redouble(?: ma| la)?|je serai) (?:en |au |en clase de |ma )?"
    r"(?:6e|6eme|sixieme|5e|5eme|cinquieme|4e|4eme|quatrieme|3e|3eme|troisieme|seconde|"
    r"2nde|2de|premiere|1ere|terminale|tle|cm1|cm2|ce1|ce2|cp|sec(?:ondaire)? ?[1-5]|"
    r"[1-6]e annee|[1-6]eme annee)"
    r"(?!\s*(?:annee|ane|position|place|ligne|de (?:fac|licence|master|medecine|droit|bts|"
    r"iut|prepa|these|doctorat|lettres|pharma)|d'))",
    r"(?:je suis|jsuis|j'suis|chui|chuis|jss) (?:encore |toujours )?(?:au|en) "
    r"(?:colege|lyce|primaire)(?!\s*(?:pour|chercher|recuperer|avec (?:mon|ma|mes)))",
    r"je vais au (?:colege|lyce)(?!\s*(?:pour|chercher|recuperer|avec (?:mon|ma|mes)))",
    r"je (?:pase|vais paser|passe) (?:le|mon) (?:brevet|bac de francais)",
    r"(?:premiere|deuxieme|troisieme|quatrieme|cinquieme|sixieme) annee (?:du|de) primaire",
)

# --- parents' rules
_PARENT = (
    r"(?:mom|mum|mother|dad|father|parents|stepmom|stepdad|mama|papa|momy|mommy|daddy|"
    r"dady)"
)
_DEVICE = r"(?:phone|ipad|tablet|laptop|switch|xbox|ps[45]|console|computer|games?)"
_PARENTS_RULES: Final = _compile(
    rf"my {_PARENT}(?:'s)? (?:took|takes|take|confiscated|is taking|wil take|gona take|"
    rf"is gona take|is going to take)(?: away)? my {_DEVICE}",
    rf"my {_PARENT} (?:won'?t|wont|doesn'?t|dont|don'?t|never|wouldn'?t|wouldnt) (?:ever )?"
    r"let me (?:go|stay up|have|use|get|play|watch|download|date|sleep ?over|wear|dye|"
    r"hang out|text|be online|stay out)",
    r"i (?:got|get) grounded|grounded (?:for|until|til|til) (?:a|the|two|\d|another)|"
    rf"{_I_AM} (?:so )?grounded (?:again|for|until)",
    rf"my {_PARENT} (?:says?|said|makes? me|made me) (?:that )?(?:i have to|i gota|"
    r"i need to|i can'?t|i cant|i'?m not alowed|go to bed|do my homework|turn off|"
    r"get off|put (?:my|the) phone)",
    r"my bedtime is|my curfew is",
    rf"(?:i need|i have|i gota|gota|need) (?:to )?ask my {_PARENT} (?:if i can|for "
    r"permision|first)",
    rf"{_I_AM} not alowed to (?:go|date|have|use|stay|be online|watch|play)"
    rf"(?:.{{0,40}})?(?:without my {_PARENT}|until i'?m|til i'?m)",
    r"(?:ma mere|mon pere|mes parents|ma daronne|mon daron|mes darons|mon beau-pere|"
    r"ma belle-mere)\s+(?:m'a|m'ont|ma|mont|me|vont me|va me|m'|me l'a|me l'ont) ?"
    r"(?:pris|prendre|prend|prennent|confisque|confisquer|enleve|enlever|retire|retirer) "
    r"(?:mon|ma) (?:tel|telephone|portable|phone|tablete|ordi|switch|console|play)",
    r"(?:mes parents|ma mere|mon pere|ma daronne|mon daron|mes darons) (?:ne )?"
    r"(?:veulent|veut|voudront) pas que (?:je|j')",
    r"(?:mes parents|ma mere|mon pere|ma daronne|mon daron|mes darons) (?:ne )?"
    r"(?:me laisent?|me laiseront) pas",
    r"je suis (?:prive|privee) de (?:tel|telephone|portable|sortie|console|jeux|ordi|wifi|"
    r"internet|ecran)",
    r"(?:ma mere|mon pere|mes parents) m'?(?:oblige|obligent|force|forcent|interdit|"
    r"interdisent)",
    r"je dois demander a (?:ma mere|mon pere|mes parents)",
    r"je suis (?:puni|punie)(?!\w)",
    rf"{_I_AM} (?:so |totally |literally |now )?grounded(?!\s*(?:in|by|person))",
    rf"my {_PARENT} (?:says?|said) (?:i can only|no \w+ until|i can'?t|i have to be)",
    rf"my {_PARENT} (?:check|checks|read|reads|go through|goes through) my (?:phone|messages|"
    r"texts|chats)",
    rf"my {_PARENT} (?:set|put) (?:a |the )?(?:screen ?time|parental control)",
    rf"my {_PARENT} (?:picks?|drops?) me (?:up|of) (?:from|after|at) (?:school|practice)",
    r"(?:ma mere|mon pere|mes parents|ma daronne|mon daron|mes darons) (?:me )?(?:dit|disent|"
    r"a dit|ont dit) que (?:je dois|j'ai pas le droit|je peux pas|j'ai droit)",
    r"(?:mes parents|ma mere|mon pere|mes darons) (?:lisent|lit|regardent|checkent|"
    r"surveilent|fouilent) mes (?:messages|textos|sms|conversations|convs)",
    r"(?:me prendre|me confisquer|m'enlever) (?:mon|ma) (?:tel|telephone|portable|console|"
    r"switch|tablette)",
    r"(?:engueuler|gronder|punir) par (?:ma mere|mon pere|mes parents)",
    r"controle parental sur (?:mon|ma)",
    r"(?:j'ai|jai) pas le droit (?:de|d')\s?\w+(?:.{0,40})?sans (?:ma mere|mon pere|"
    r"mes parents)",
)

# --- school life (only what a pupil says of themselves)
_SUBJECT = r"(?:math|maths|english|science|history|homeroom|gym|art|french|spanish|music|bio)"
_SCHOOL_LIFE: Final = _compile(
    r"i (?:got|have|get) (?:a )?detention(?! al)",
    rf"my {_SUBJECT} teacher (?:gave|is|says|said|made|wants|caled|took|hates|moved)",
    r"my (?:spelling test|book report|report card|permision slip|science fair project|"
    r"locker|homeroom teacher)",
    r"(?:i )?mised the schol bus",
    r"(?:a|pendant) la recre(?:ation)?(?! avec)",
    r"ma fiche de lecture|mon cahier de texte",
    r"(?:les autres |des )?eleves de ma clase",
    r"(?:le|la) prof(?: de \w+)? (?:m'a|nous a)",
    r"on a (?:un |une )?(?:controle|interro|eval)(?: de \w+| d'\w+)? demain",
    r"(?:j'ai|jai|g) eu \d{1,2}(?:[.,]\d)? (?:en|a) (?:mon |ma |le |la )?(?:controle|interro|eval)",
    r"(?:j'ai|jai|g) (?:eu )?(?:une |deux |trois |\d )?(?:heures? de )?(?:cole|retenue)",
    r"(?:mon|ma) prof(?:eseur)? principale?(?! de)",
    r"(?:mon|le) cpe m'",
    r"mon carnet de corespondance",
)

# --- adult frames: someone else's child, a pupil, the past, an adult life
_ADULT_FRAMES: Final = {
    "about_a_child": _compile(
        r"my \d{1,2}[- ]?(?:year|yr)s?[- ]?old(?! self)|"
        r"my (?:\d{1,2}[- ]?(?:year|yr)[- ]?old )?(?:son|sons|daughter|daughters|kid|kids|"
        r"child|children|stepson|stepdaughter|nephew|niece|grandson|granddaughter|grandkids|"
        r"grandchildren|toddler|baby|teen|teens|teenager|teenagers|boys|litle one)",
        r"(?:our|his|her) (?:son|daughter|kids?|child|children)",
        r"as a (?:parent|mom|mum|dad|mother|father)",
        r"(?:mon|ma|mes|notre|nos) (?:fils|file|files|enfants?|gamins?|gamines?|ados?|"
        r"petits?-enfants|petit-fils|petite-file|neveu|niece|bebe|beau-fils|belle-file|"
        r"garcons|petite?)(?!\w)",
        r"en tant que (?:parent|mere|pere|maman|papa)",
    ),
    "teacher": _compile(
        r"i teach|i'?m an? (?:\w+ ){0,3}(?:teacher|tutor|counselor|principal|coach)|"
        r"as an? (?:\w+ ){0,3}(?:teacher|tutor|counselor|coach)|my (?:students|pupils|clas of)|"
        r"my \d{1,2}(?:st|nd|rd|th) graders|parent-teacher",
        r"j'?enseigne|je suis (?:prof|profeseure?|instit|institutrice|enseignante?|"
        r"maitresse|cpe)|mes eleves|en tant que prof|(?:j'ai mis|je mets) (?:\w+ ){0,5}"
        r"en (?:retenue|cole)|conseils? de clase|reunion parents-profs",
    ),
    "past_self": _compile(
        r"when i was (?:a kid|a child|little|young|younger|smal|a teen|a tenager|in (?:high|"
        r"midle|grade|elementary) ?schol|\d{1,2}|in \d{1,2}(?:st|nd|rd|th) grade)|back when|"
        r"back in (?:high|middle|grade|elementary) ?schol|years ago|i used to|as a kid|"
        r"i remember being|al the time in (?:high|midle) ?schol|in (?:high|midle) ?schol i|"
        r"i was (?:\w+ ){0,5}in (?:\d{1,2}(?:st|nd|rd|th) grade|midle schol|high schol|"
        r"year \d{1,2}|junior high)",
        r"quand j'?(?:etais|avais)|a mon epoque|il y a \d+ ans|quand j'?etais (?:petit|ado|"
        r"gamin)|je me souviens|j'?etais (?:\w+ ){0,6}(?:en|au) (?:6e|5e|4e|3e|sixieme|"
        r"cinquieme|quatrieme|troisieme|seconde|premiere|terminale|colege|lyce|primaire|cm1|"
        r"cm2)",
    ),
    "adult_life": _compile(
        r"my (?:husband|wife|spouse|boss|coworkers?|colleagues?|mortgage|landlord|rent|"
        r"retirement|pension|employees?|student loans?|ex-wife|ex-husband)|my taxes|"
        r"after work|at the ofice",
        r"(?:mon|ma|mes) (?:mari|femme|epoux|epouse|patron|patrone|colegues|credit|pret|"
        r"retraite|loyer|proprio|impots)|apres le boulot|au boulot",
    ),
    "adult_school": _compile(
        r"(?:in|at|to) (?:colege|university|uni|grad schol|law schol|med schol)|"
        r"my (?:profesor|thesis|dorm|major|degre|master'?s)|colege (?:freshman|sophomore|"
        r"junior|senior)",
        r"(?:a|en) la fac|en (?:licence|master|prepa|bts|doctorat)|mon (?:memoire|master|"
        r"directeur de these)|(?:un|une|mon|ma) (?:master|licence|these|doctorat|bts|dut|"
        r"prepa)(?!\w)",
    ),
}


@dataclass(frozen=True, slots=True)
class CueFinding:
    """What the grammar read in one message."""

    minor: tuple[str, ...] = ()
    """Names from ``MINOR_CUES``: the writer says they are a minor."""
    adult: tuple[str, ...] = ()
    """Names from ``ADULT_CUES``: an adult age or a frame about someone else or the past."""


def _number(value: str) -> int | None:
    return int(value) if value.isdigit() else _WORDS.get(value)


def _ages(patterns: Patterns, text: str) -> list[int]:
    found = (_number(v) for prefix in ("n", "n2") for v in _groups(patterns, text, prefix))
    return [n for n in found if n is not None]


def _readings(text: str) -> tuple[str, ...]:
    """The text as lexicons read it (:func:`fold`), and, when that changed a digit, the same
    without reading digits as letters: "15f" and "1ère" are an age and a school year, not
    the leetspeak "isf" and "iere"."""
    folded = fold(text).translate(_APOSTROPHES)
    if sum(c.isdigit() for c in folded) == sum(c.isdigit() for c in text):
        return (folded,)
    bare = "".join(
        c for c in unicodedata.normalize("NFKD", text.lower()) if not unicodedata.combining(c)
    )
    plain = re.sub(r"([^\W\d_])\1+", r"\1", bare).translate(_APOSTROPHES)
    return folded, " ".join(plain.split())


def scan(text: str, year: int | None = None) -> CueFinding:
    """The minor and adult cues of ``text``; ``year`` dates a stated birth year (default:
    this year, UTC)."""
    readings = _readings(text)
    minor: list[str] = []
    this_year = year or datetime.now(UTC).year
    born = [
        this_year - int(y)
        for norm in readings
        for prefix in ("y", "y2")
        for y in _groups(_BORN, norm, prefix)
    ]
    ages = [
        *(n for norm in readings for n in _ages(_AGE_NOW, norm)),
        *(n - 1 for norm in readings for n in _ages(_AGE_NEXT, norm)),  # "i turn 15": 14 now
        *(a for a in born if a != 18),  # born 18 years ago: 17 or 18, unknown
    ]
    if any(6 <= a <= 17 for a in ages) or any(_any(_YOUNG, norm) for norm in readings):
        minor.append("age")
    for name, patterns in (
        ("school_year", _SCHOOL_YEAR),
        ("parents_rules", _PARENTS_RULES),
        ("school_life", _SCHOOL_LIFE),
    ):
        if any(_any(patterns, norm) for norm in readings):
            minor.append(name)
    adult = {"adult_age"} if any(a >= 18 for a in ages) else set()
    adult |= {
        name
        for name, patterns in _ADULT_FRAMES.items()
        if any(_any(patterns, norm) for norm in readings)
    }
    if adult & FRAMED:  # "my son got detention", "when I was 12 my mom took my phone"
        minor = [c for c in minor if c not in ("parents_rules", "school_life")]
    return CueFinding(tuple(minor), tuple(c for c in ADULT_CUES if c in adult))
