"""Presidio recognizers that guardrail's PII stage adds to, or puts in place of, Presidio's own.

Why each one exists:

- :class:`OfflineEmailRecognizer`: Presidio's ``EmailRecognizer`` validates the domain with
  ``tldextract.extract``, whose module-level extractor fetches the Public Suffix List over
  HTTP the first time it runs. This one validates against tldextract's bundled snapshot
  (``suffix_list_urls=()``, no disk cache), so a message with an e-mail address never
  triggers a download. :func:`ensure_tldextract_offline` makes the same true for any other
  caller of ``tldextract.extract`` in the process (Presidio's stock recognizer included).
- :class:`ValidatedPhoneRecognizer`: Presidio's ``PhoneRecognizer`` scores every number
  0.4, below the stage's default threshold of 0.5, so only numbers with a context word
  nearby would survive. A number that libphonenumber finds *valid* for one of the
  configured regions is strong evidence by itself; it is scored 0.6 here.
- :class:`PhoneShapeRecognizer`: libphonenumber rejects numbers that are well formed but
  not allocated (``555`` exchanges, made-up area codes), and local numbers written without
  their area code. Those still identify a person when someone writes "call me at ...",
  so a looser digit-group shape is scored below the threshold (0.3) and only passes with a
  phone context word nearby (Presidio's context enhancer adds 0.35).
- :class:`LuhnCreditCardRecognizer`: Presidio's pattern requires 13 to 17 digits and
  issuer prefixes 1 and 3 to 6; it misses 12-digit Maestro, 19-digit Visa / UnionPay and
  the 2-series Mastercard / JCB ranges. This one takes 12 to 19 digits with an issuer
  prefix 1 to 6 and keeps only Luhn-valid numbers.
- :class:`StreetAddressRecognizer`: Presidio ships no street-address recognizer. Strong
  shapes (US "1600 Pennsylvania Avenue NW, Washington, DC 20500", European "Via Roma 131",
  French "12 bis, rue de la Paix, 75002 Paris", PO boxes, APO/FPO, flat numbers) and weak
  ones that need an address cue nearby (a street without a number, "Name 12", a ZIP).

Every constructor takes ``supported_language`` because a Presidio recognizer serves one
language; :func:`build_recognizers` makes one instance per language.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Final

# Nothing may be downloaded at run time: tldextract reads this when an extractor is
# constructed (including the module-level one, at import), and an empty value means
# "no suffix-list URLs", i.e. the bundled snapshot. Set before tldextract is imported.
os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")

import tldextract
import tldextract.tldextract as _tldextract_module
from presidio_analyzer import (
    EntityRecognizer,
    Pattern,
    PatternRecognizer,
    RecognizerResult,
)
from presidio_analyzer.nlp_engine import NlpArtifacts
from presidio_analyzer.predefined_recognizers import (
    EmailRecognizer,
    IbanRecognizer,
    IpRecognizer,
    PhoneRecognizer,
)

__all__ = [
    "CONTEXT_WORDS",
    "DEFAULT_PHONE_REGIONS",
    "LuhnCreditCardRecognizer",
    "OfflineEmailRecognizer",
    "PhoneShapeRecognizer",
    "PrefilteredIbanRecognizer",
    "StreetAddressRecognizer",
    "ValidatedPhoneRecognizer",
    "build_recognizers",
    "ensure_tldextract_offline",
    "luhn_valid",
    "offline_tld_extractor",
]

Language = str
"""A Presidio language code: ``"en"`` or ``"fr"`` here."""

DEFAULT_PHONE_REGIONS: Final[dict[Language, tuple[str, ...]]] = {
    # National formats are only found for the regions listed (international "+CC ..."
    # numbers are found whatever the region). A French user may well write a US number and
    # the other way round, so both lists hold both countries, plus the neighbours most
    # likely to appear in each language.
    "en": ("US", "CA", "GB", "IE", "AU", "FR"),
    "fr": ("FR", "BE", "CH", "LU", "CA", "US"),
}

CONTEXT_WORDS: Final[dict[str, dict[Language, list[str]]]] = {
    # Presidio matches these as substrings of the lemmas of the five tokens before a
    # finding (and, as configured in classifiers.pii, the two after it). The pipelines
    # load no lemmatizer (classifiers.pii.PIPELINE_KEEP): the "lemma" is the lower-cased
    # token, so inflected words need a stem here ("appel" for appelle, appelez, appelé).
    "PHONE_NUMBER": {
        "en": [
            "phone",
            "call",
            "mobile",
            "cell",
            "tel",
            "fax",
            "number",
            "text me",
            "sms",
            "whatsapp",
            "reach",
            "contact",
        ],
        "fr": [
            "téléphon",
            "telephon",
            "tél",
            "tel",
            "portable",
            "mobile",
            "appel",
            "numéro",
            "numero",
            "fixe",
            "fax",
            "sms",
            "whatsapp",
            "joign",
            "joindr",
            "contact",
        ],
    },
    "CREDIT_CARD": {
        "en": [
            "credit",
            "card",
            "visa",
            "mastercard",
            "amex",
            "discover",
            "jcb",
            "diners",
            "maestro",
            "cc",
        ],
        "fr": [
            "carte",
            "crédit",
            "credit",
            "bancaire",
            "cb",
            "visa",
            "mastercard",
            "amex",
            "maestro",
        ],
    },
    "STREET_ADDRESS": {
        "en": ["address", "live", "living", "street", "house", "apartment", "ship", "deliver"],
        "fr": ["adresse", "habit", "domicil", "livr"],
    },
    "EMAIL_ADDRESS": {"en": ["email", "e-mail", "mail"], "fr": ["courriel", "mail", "e-mail"]},
    "IBAN_CODE": {"en": ["iban", "bank", "account"], "fr": ["iban", "rib", "compte", "banque"]},
    "IP_ADDRESS": {"en": ["ip", "ipv4", "ipv6"], "fr": ["ip", "ipv4", "ipv6", "adresse"]},
}


def _digits(text: str) -> int:
    return sum(ch.isdigit() for ch in text)


def _number_part(phone: str) -> str:
    """A phone number without its extension ("x1234", "ext. 12", "poste 5")."""
    return re.split(r"(?i)\s?(?:x|ext\.?|poste)\s?\d", phone)[0]


def _context(entity: str, language: Language) -> list[str]:
    return list(CONTEXT_WORDS.get(entity, {}).get(language, []))


# --------------------------------------------------------------------------- tldextract


_OFFLINE_EXTRACTOR: tldextract.TLDExtract | None = None


def offline_tld_extractor() -> tldextract.TLDExtract:
    """The process's one snapshot-only extractor: no suffix-list URL, no disk cache.

    ``cache_dir=None`` keeps it from writing ``~/.cache/python-tldextract`` (read-only
    containers); the snapshot parses once, lazily, on first use.
    """
    global _OFFLINE_EXTRACTOR
    if _OFFLINE_EXTRACTOR is None:
        _OFFLINE_EXTRACTOR = tldextract.TLDExtract(
            cache_dir=None, suffix_list_urls=(), fallback_to_snapshot=True
        )
    return _OFFLINE_EXTRACTOR


def ensure_tldextract_offline() -> None:
    """Make ``tldextract.extract`` (what Presidio's stock ``EmailRecognizer`` calls) offline.

    The module-level extractor is built at import from the environment; if something
    imported tldextract before this module could set ``TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS``,
    it would still hold the public URLs and fetch them on first use. Swapping it for the
    snapshot-only extractor closes that gap for every caller in the process.
    """
    extractor = _tldextract_module.TLD_EXTRACTOR
    if extractor is not offline_tld_extractor() and extractor.suffix_list_urls:
        _tldextract_module.TLD_EXTRACTOR = offline_tld_extractor()


# --------------------------------------------------------------------------- e-mail


class OfflineEmailRecognizer(EmailRecognizer):
    """Presidio's e-mail pattern, with the domain checked against the bundled suffix list."""

    def validate_result(self, pattern_text: str) -> bool:
        """True when the domain ends in a public suffix (``.com``, ``.co.uk``, ``.fr``…)."""
        return offline_tld_extractor()(pattern_text).fqdn != ""


# --------------------------------------------------------------------------- phones


class ValidatedPhoneRecognizer(PhoneRecognizer):
    """libphonenumber's matcher over the configured regions, valid numbers scored 0.6.

    Numbers of fewer than seven digits are dropped: some regions have valid short numbers
    ("75002" is one in Luxembourg) that are far more often a French postcode, an order
    number or a year than someone's phone. So are SSN-, IPv4- and date-shaped matches.
    """

    SCORE = 0.6
    MIN_DIGITS: Final = 7
    NOT_PHONES: Final = re.compile(
        r"\d{3}-\d{2}-\d{4}"  # US SSN layout
        r"|\d{1,3}(?:\.\d{1,3}){3}"  # dotted IPv4
        r"|(?:19|20)\d\d([-./])\d{1,2}\1\d{1,2}"  # 2024-03-12
        r"|\d{1,2}([-./])\d{1,2}\2(?:19|20)\d\d"  # 12/03/2024
    )
    """Layouts some regions' valid numbers can mimic: SSNs, IPv4 addresses, dates."""

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        """Presidio's phone matching, without the too-short numbers.

        libphonenumber's matcher is pure Python and runs once per region; most messages
        hold no phone number at all, and a text with fewer digits than the shortest number
        kept cannot, so it is skipped before any region is tried.
        """
        if _digits(text) < self.MIN_DIGITS:
            return []
        results: list[RecognizerResult] = super().analyze(
            text,
            entities,
            nlp_artifacts,  # type: ignore[arg-type]
        )
        return [
            r
            for r in results
            if _digits(text[r.start : r.end]) >= self.MIN_DIGITS
            and not self.NOT_PHONES.fullmatch(text[r.start : r.end])
        ]


class PhoneShapeRecognizer(PatternRecognizer):
    """Digit groups shaped like a phone number, scored by their layout and the words around.

    libphonenumber (:class:`ValidatedPhoneRecognizer`) rejects numbers that are well formed
    but not allocated, and local numbers written without their area code; they still reach
    a person. Score, from a base of 0.3 (below the stage's 0.5 threshold):

    - +0.25 for a layout that is hardly anything but a phone number: a ``+``/``00`` country
      code, a bracketed area code, a trunk ``0`` followed by 9+ digits in groups, pairs
      (``06 12 34 56 78``), NANP ``555-0132`` / ``415.555.0132``;
    - +0.35 for a phone word among the ~40 characters before (``phone``, ``call``, ``mobile``,
      ``téléphone``, ``appelle``…) or a contact-card label right after (``office``, ``fax``,
      ``bureau``…).

    A word naming another kind of number just before (``license``, ``social security``,
    ``order``, ``commande``…) cancels both. The context test is done here on the raw text
    rather than by Presidio's lemma-based enhancer, which skips spaCy stop words, and "call"
    is an English stop word. Never phones: the US SSN shape ``123-45-6789``, dates
    written year first, and more than 15 digits; bare digit runs and six-digit numbers only
    with a phone word near, never fewer than six digits.
    """

    SCORE: Final = 0.3
    SHAPE_BOOST: Final = 0.25
    CONTEXT_BOOST: Final = 0.35
    PATTERN: Final = (
        r"(?<![\w+/.-])"  # not inside a longer token (an IBAN, a version, a date)
        r"(?:(?:\+|00)\d{1,3}[ .-]?)?"  # country code
        r"(?:\(0\)[ .-]?)?"  # the "(0)" of "+44 (0)20 ..."
        r"(?:\(\d{1,4}\)[ .-]?|\d{1,4}[ .-]?)"  # area code, bracketed or not
        r"\d{2,4}(?:[ .-]?\d{2,4}){0,4}"  # subscriber number in groups
        r"(?:\s?(?:x|ext\.?|poste)\s?\d{1,5})?"  # extension
        r"(?!\w|[.-]\d)"
    )
    MIN_DIGITS: Final = 7
    MAX_DIGITS: Final = 15
    BEFORE: Final = 40
    AFTER: Final = 12
    CUES_BEFORE: Final[dict[Language, str]] = {
        "en": r"\b(?:(?:tele|cell|smart)?phone|call|mobile|cell|tel|fax|number|sms|text|messag"
        r"|whatsapp|reach|contact|ring|dial|answer|voicemail|landline|hotline)",
        "fr": r"\b(?:t[ée]l[ée]phon|t[ée]l\b|portable|mobile|appel|joindre|num[ée]ro|fixe|fax"
        r"|sms|messag|r[ée]pond|whatsapp|contact|texto)",
    }
    CUES_AFTER: Final[dict[Language, str]] = {
        "en": r"^\W{0,3}(?:office|fax|mobile|cell|home|work|phone)\b",
        "fr": r"^\W{0,3}(?:bureau|fax|portable|mobile|domicile|fixe|t[ée]l)",
    }
    OTHER_NUMBERS: Final[dict[Language, str]] = {
        "en": r"\b(?:licen[cs]e|social security|ssn|passport|account|order|invoice|tracking"
        r"|card|policy|serial|id)\b[^\n]{0,20}$",
        "fr": r"\b(?:permis|s[ée]curit[ée] sociale|passeport|compte|commande|facture|suivi"
        r"|carte|contrat|dossier|siret|siren)\b[^\n]{0,20}$",
    }
    SSN_SHAPE: Final = re.compile(r"\d{3}-\d{2}-\d{4}")
    DATE_SHAPE: Final = re.compile(r"(?:19|20)\d\d[-./ ]\d{1,2}[-./ ]\d{1,2}")
    STRONG_SHAPES: Final = re.compile(
        r"(?:\+|00)\d.*"  # international
        r"|.*\(\d{1,4}\).*"  # bracketed area code
        r"|0\d{1,4}(?:[ .-]\d{2,4}){2,}.*"  # trunk prefix and groups (checked: 9+ digits)
        r"|\d{2}([ .-])\d{2}(?:\1\d{2}){2,}"  # pairs: 06 12 34 56 78, 25-62-29-72
        r"|(?:\d{3}([.-]))?\d{3}[.-]\d{4}(?:\s?(?:x|ext\.?|poste)\s?\d{1,5})?",  # NANP
        re.IGNORECASE,
    )

    def __init__(self, supported_language: Language = "en") -> None:
        super().__init__(
            supported_entity="PHONE_NUMBER",
            name="PhoneShapeRecognizer",
            supported_language=supported_language,
            patterns=[Pattern("phone shape", self.PATTERN, self.SCORE)],
        )
        lang = supported_language if supported_language in self.CUES_BEFORE else "en"
        self._before = re.compile(self.CUES_BEFORE[lang], re.IGNORECASE)
        self._after = re.compile(self.CUES_AFTER[lang], re.IGNORECASE)
        self._other = re.compile(self.OTHER_NUMBERS[lang], re.IGNORECASE)

    def analyze(
        self,
        text: str,
        entities: list[str],
        nlp_artifacts: NlpArtifacts | None = None,
        regex_flags: int | None = None,
    ) -> list[RecognizerResult]:
        """Pattern matches, scored by the phone words around them (see the class doc)."""
        if _digits(text) < self.MIN_DIGITS - 1:
            return []  # every match needs six digits (invalidate_result): skip the regex
        results: list[RecognizerResult] = super().analyze(
            text, entities, nlp_artifacts, regex_flags
        )
        kept: list[RecognizerResult] = []
        for result in results:
            number = text[result.start : result.end]
            before = text[max(0, result.start - self.BEFORE) : result.start]
            after = text[result.end : result.end + self.AFTER]
            if self._other.search(before):
                continue
            cued = bool(self._before.search(before) or self._after.search(after))
            strong = self.STRONG_SHAPES.fullmatch(number) is not None and (
                not number.startswith("0") or _digits(number) >= 9
            )
            if not cued and (number.isdigit() or _digits(_number_part(number)) < self.MIN_DIGITS):
                continue  # bare digit runs and six-digit numbers need something to say so
            result.score = min(
                1.0,
                self.SCORE + self.SHAPE_BOOST * strong + self.CONTEXT_BOOST * cued,
            )
            # Presidio's enhancer must not add its own boost on top.
            result.recognition_metadata[RecognizerResult.IS_SCORE_ENHANCED_BY_CONTEXT_KEY] = True
            kept.append(result)
        return kept

    def invalidate_result(self, pattern_text: str) -> bool:
        """Reject SSN and year-first date shapes, and too few or too many digits.

        Six digits pass here (some countries' local numbers have six); ``analyze`` keeps
        them only when a phone word is near.
        """
        if self.SSN_SHAPE.fullmatch(pattern_text) or self.DATE_SHAPE.fullmatch(pattern_text):
            return True
        return not self.MIN_DIGITS - 1 <= _digits(_number_part(pattern_text)) <= self.MAX_DIGITS


# --------------------------------------------------------------------------- cards


def luhn_valid(digits: str) -> bool:
    """The Luhn (mod 10) check every payment card number carries in its last digit."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


class LuhnCreditCardRecognizer(PatternRecognizer):
    """12 to 19 digits, issuer prefix 1 to 6, separated by single spaces or dashes, Luhn-valid."""

    PATTERN: Final = r"(?<![\w+-])[1-6]\d{3}(?:[ -]?\d{2,6}){2,4}(?![\w]|-\d)"

    def __init__(self, supported_language: Language = "en") -> None:
        super().__init__(
            supported_entity="CREDIT_CARD",
            name="LuhnCreditCardRecognizer",
            supported_language=supported_language,
            patterns=[Pattern("card number", self.PATTERN, 0.3)],
            context=_context("CREDIT_CARD", supported_language),
        )

    def validate_result(self, pattern_text: str) -> bool:
        """Luhn-valid with 12 to 19 digits: scored 1.0; anything else is dropped."""
        digits = "".join(ch for ch in pattern_text if ch.isdigit())
        return 12 <= len(digits) <= 19 and luhn_valid(digits)


# --------------------------------------------------------------------------- addresses

# Upper and lower case letters of the Latin, Latin-1, Latin Extended-A and Greek scripts.
_UP = "Α-ΩΆΈΉΊΌΎΏA-ZÀ-ÖØ-ÞĀĂĄĆČĎĐĒĖĘĚĞĪĮİĶĹĻĽŁŃŅŇŌŐŒŔŘŚŞŠŢŤŪŮŰŲŸŹŻŽ"  # noqa: RUF001
_LOW = "α-ωάέήίόύώϊϋΐΰa-zß-öø-ÿāăąćčďđēėęěğīįıķĺļľłńņňōőœŕřśşšţťūůűųźżž"  # noqa: RUF001
_WORD_MAX: Final = 30
"""Letters after the first that a word of an address may have: every word pattern is
bounded, so a long run of letters costs each start position at most this much (an
unbounded one made a 4,000-letter word cost seconds: its work grew with the square)."""
# A Capitalised word: "Elm", "O'Neil", "Bailén-Motril".
_CAP = rf"[{_UP}][{_UP}{_LOW}'\u2019.-]{{0,{_WORD_MAX}}}"
_LINK = r"(?:de|del|della|delle|dei|degli|di|da|do|dos|das|du|des|la|le|les|el|von|van|der|den|am|an|of|the)"  # noqa: E501
"""Lower-case words inside street names ("Via delle Coste", "Rua das Pedras")."""
_NOT_NAME = (
    r"(?!(?:The|A|An|I|My|Our|Your|His|Her|Their|We|You|He|She|It|They|This|That|On|At|In|To"
    r"|From|And|But|So|Or|If|Meet|Go|Take|Walk|Turn|Down|Up|Off|Along|Near|Via|Is|Was|During"
    r"|Since|Until|After|Before|Chapter|Page|Season|Episode|Level|Version|Windows|Apt|Suite"
    r"|Unit|Apartment|Room|Floor|Box)\b)"
)
"""Capitalised words that start a sentence or a phrase, never a street name."""
_NAME = rf"{_NOT_NAME}(?:{_CAP}|\d{{1,3}}(?i:st|nd|rd|th))(?:[ \t]+(?:{_LINK}[ \t]+)?{_CAP}){{0,3}}"
_HOUSE = r"\b\d{1,6}[A-Za-z]?(?:-\d{1,4})?,?[ \t]+"
_DIR = r"(?i:n|s|e|w|ne|nw|se|sw|north|south|east|west)\.?"
_EN_STREET_TYPES = (
    "street|st|avenue|ave|av|road|rd|boulevard|blvd|lane|ln|drive|dr|court|ct|place|pl|way"
    "|terrace|ter|parkway|pkwy|circle|cir|highway|hwy|square|sq|trail|trl|alley|loop|plaza"
    "|crescent|close|row|pike|path|walk|broadway|mall|gardens|gateway|rapids|hills|heights"
    "|ridge|park|expressway|freeway|turnpike|mews|wharf|quay"
)
_UNIT_WORDS = (
    r"apt|apartment|suite|ste|unit|flat|floor|fl|room|rm|appt|app|appartement|bâtiment|bât"
    r"|batiment|bat|escalier|esc|étage|etage"
)
_UNIT = (
    rf"(?:(?i:{_UNIT_WORDS})\.?[ \t]*(?:n[o°]\.?[ \t]*)?#?\d{{1,5}}[A-Za-z]?\b"
    r"|#[ \t]?\d{1,5}\b)"
)
_ZIP = r"\d{5}(?:-\d{4})?"
_TAIL = (
    rf"(?:,?[ \t]+{_UNIT})?"  # "Apt 3B", "Suite 932"
    # ", Springfield"
    rf"(?:,[ \t]*{_NOT_NAME}{_CAP}(?:[ \t]+(?:{_LINK}[ \t]+)?{_CAP}){{0,3}}){{0,2}}"
    r"(?:,?[ \t]+[A-Z]{2}\b\.?)?"  # state: ", IL"
    rf"(?:,?[ \t]+{_ZIP}\b)?"  # ZIP
)
"""What may follow a street on the same line: unit, city, state, ZIP (never a new line)."""

_EN_ADDRESS = (
    rf"{_HOUSE}(?:{_DIR}[ \t]+)?{_NAME}[ \t]+(?i:{_EN_STREET_TYPES})\b\.?"
    rf"(?:[ \t]+{_DIR}(?![\w]))?(?:[ \t]+\d{{1,5}}\b\.?)?{_TAIL}"
)
"""US/UK style: [number] Capitalised name + street type ("1600 Pennsylvania Avenue NW")."""

_STREET_NAME = (
    rf"(?<![\w'.-])(?<!\d[ \t]){_NAME}[ \t]+(?i:{_EN_STREET_TYPES})\b\.?(?:[ \t]+{_DIR}(?![\w]))?"
)
"""A street named without a house number ("Andreassen Street"): needs a cue (see below)."""
_STREET_NAME_RE: Final = re.compile(_STREET_NAME, re.MULTILINE)

_PREFIX_TYPES = (
    r"Via|Viale|Vicolo|Piazza|Piazzale|Corso|Largo|Strada|Contrada|Borgo|Rue|Rua|R\.|Calle|C/"
    r"|Carrer|Camino|Camiño|Avenida|Avda\.?|Av\.|Paseo|Passeig|Plaza|Praça|Praca|Travessa"
    r"|Travesía|Estrada|Rodovia|Ctra\.|Carretera|Rambla|Ronda|Bulevar|Zona|Quinta|Urb\."
    r"|ul\.|ulica|Ulica|al\.|Aleja|Plac|Trg|Odos|Leoforos|Chemin|Allée|Impasse|Quai|Route"
    r"|Cours|Boulevard|Avenue|Place"
)
_SUFFIXES = (
    r"vej|vei|veien|vegen|vägen|väg|gade|gaden|gata|gatan|gate|gaten|straße|strasse|str\."
    r"|stræde|straat|steeg|weg|gasse|laan|plein|gracht|kade|dreef|singel|tie|katu|kuja"
    r"|polku|utca|útja|út|u\.|tér|rakpart|ulica|ulice|cesta|tee|iela|gatve|allee|platz"
    r"|plads|torv|vænget|vangen|bakken|stien|vegur|braut|damm|ufer|markt|centret|hove|hof"
    r"|lei|baan"
)
_INTL_NUMBER = r"(?!(?:1[5-9]|20)\d\d\b)\d{1,5}[A-Ha-h]?\b\.?"
_INTL_ADDRESS = (
    rf"(?:{_HOUSE})?(?:"
    rf"\b(?:{_PREFIX_TYPES})[ \t]+(?:{_LINK}[ \t]+){{0,2}}(?:{_CAP}|\d{{1,2}})"
    # "Via delle Coste", "Rua Graciliano Ramos"
    rf"(?:[ \t]+(?:{_LINK}[ \t]+){{0,2}}{_CAP}){{0,4}}"
    # "Søndergade", "Bem rakpart"
    rf"|{_NOT_NAME}(?:{_CAP}[ \t]+){{0,2}}[{_UP}{_LOW}'-]{{0,{_WORD_MAX}}}(?:{_SUFFIXES})"
    # "Kálmán Imre u.", "Luite tee"
    rf"|(?:{_CAP}[ \t]+){{0,2}}(?:{_CAP}[ \t]+)?(?i:{_SUFFIXES})"
    rf")[ \t]+{_INTL_NUMBER}{_TAIL}"
)
"""European style, name then number: a street-type prefix ("Via Roma 131") or suffix
("Søndergade 52", "Gumpendorfer Strasse 44", "Hegedûs Gyula utca 76.")."""

_NAME_NUMBER = rf"(?:{_HOUSE})?{_NOT_NAME}{_CAP}(?:[ \t]+{_CAP}){{0,2}}[ \t]+{_INTL_NUMBER}{_TAIL}"
"""Any "Capitalised words + number" ("Stubben 149"): kept only as part of an address
(a house number before, a unit after, or an address word before)."""

_MILITARY = (
    r"(?i:\b(?:(?:psc|unit|cmr)[ \t]+\d{3,5},?[ \t]+box[ \t]+\d{3,5}|(?:usns|usns|uss|usnv|uscgc)"
    r"(?:[ \t]+[^\W\d_][\w'-]{0,30}){1,3}),?\s*[>?]*\s*"
    r"(?:apo|fpo|dpo)[ \t]+(?:aa|ae|ap)[ \t]+\d{5}\b)"
)
"""US military mail: "PSC 4574, Box 8393 / APO AA 81998", "USNS Frías / FPO AE 12345"."""
_PO_BOX = (
    r"(?i:\b(?:p\.?[ \t]?o\.?[ \t]?box|post[ \t]+office[ \t]+box|bo[iî]te[ \t]+postale"
    r"|b\.p\.)[ \t]*\d{1,6}\b)"
    rf"{_TAIL}"
)
_CORNER = (
    rf"(?i:\b(?:the[ \t]+)?corner[ \t]+of)[ \t]+(?:{_HOUSE})?"
    rf"[^\W_][\w'.-]{{0,{_WORD_MAX}}}(?:[ \t]+[^\W_][\w'.-]{{0,{_WORD_MAX}}}){{0,6}}?"
    rf"[ \t]+(?:and|&)[ \t]+(?:{_HOUSE})?{_CAP}(?:[ \t]+(?:{_LINK}[ \t]+)?(?:{_CAP}|\d{{1,5}}\b))*"
)
"""An intersection: "the corner of 4748 Westfall Avenue and Maclean Street"."""
_UNIT_ALONE = (
    r"(?<![\w-])(?i:apt|apartment|suite|ste|appt|appartement)\.?[ \t]*#?\d{1,5}[A-Za-z]?\b"
)
_ZIP_CUED = r"\b\d{5}(?:-\d{4})?\b"

_FR_STREET_TYPES = (
    "rue|avenue|av|boulevard|bd|bld|place|pl|chemin|ch|impasse|imp|allée|allee|quai|route"
    "|rte|cours|square|passage|voie|faubourg|fg|cité|cite|résidence|residence|hameau"
    "|lieu-dit|sentier|promenade|esplanade|rond-point|parvis|villa|ruelle|montée|montee"
    "|traverse|sente|mail|domaine|lotissement|clos"
)
# Words that end an address when they follow the street name ("... rue de la Paix et je ...").
_FR_STOP = (
    r"(?:et|ou|mais|donc|car|je|j|tu|il|elle|on|nous|vous|ils|elles|à|a|au|aux|en|pour|par"
    r"|avec|sans|chez|dans|sur|sous|vers|depuis|est|sont|suis|c|ce|ça|ca|qui|que|quand|si"
    r"|demain|cet|cette|ici)\b"
)
_FR_CONNECTOR = (
    r"(?:de\s+la|de\s+l['\u2019]|du|des|de|d['\u2019]|la|le|les|l['\u2019]|aux|au|sur|sous|en|et)"
)
_FR_WORD = rf"[A-Za-zÀ-ÖØ-öø-ÿ][\wÀ-ÖØ-öø-ÿ'\u2019.-]{{0,{_WORD_MAX}}}"
_FR_CITY = (
    rf"[A-ZÀ-ÖØ-Þ][\wÀ-ÖØ-öø-ÿ'\u2019-]{{0,{_WORD_MAX}}}"
    rf"(?:[ \t-][A-ZÀ-ÖØ-Þ][\wÀ-ÖØ-öø-ÿ'\u2019-]{{0,{_WORD_MAX}}}){{0,3}}"
)
_FR_HEAD = rf"(?i:{_FR_STREET_TYPES})\.?[ \t]+(?:{_FR_CONNECTOR}[ \t]*)?"
_FR_REST = (
    rf"(?!{_FR_STOP}){_FR_WORD}"  # first name word
    rf"(?:[ \t]+(?:{_FR_CONNECTOR}[ \t]*)?(?!{_FR_STOP})(?=[A-ZÀ-ÖØ-Þ0-9]){_FR_WORD}){{0,4}}"
    rf"(?:,?[ \t]+{_UNIT})?"
    rf"(?:,?[ \t]+(?i:code[ \t]+postal[ \t]+|cp[ \t]+)?\d{{5}}[ \t]+{_FR_CITY})?"
)
_FR_ADDRESS = rf"\b\d{{1,4}}(?:[ \t]?(?i:bis|ter|quater|[a-d])\b)?,?[ \t]+{_FR_HEAD}{_FR_REST}"
"""French style: "12 bis, rue de la Paix, 75002 Paris" (lower-case names too)."""
_FR_NAMED_STREET = rf"(?<![\w'\u2019-]){_FR_HEAD}(?=[A-ZÀ-ÖØ-Þ]){_FR_REST}"
"""A French street without a number ("rue de la Paix"): kept only after an address word."""


_WEAK: Final = frozenset({"street name", "name and number", "zip", "rue (FR)"})
"""Patterns whose matches need something more (see ``StreetAddressRecognizer.analyze``)."""


class StreetAddressRecognizer(PatternRecognizer):
    """Street addresses, US/UK, European and French, one line at a time.

    Strong shapes score 0.7 by themselves: a house number + Capitalised name + street type
    ("1600 Pennsylvania Avenue NW, Washington, DC 20500"), a name with a street-type prefix
    or suffix + number ("Via Roma 131", "Søndergade 52"), a French number + type + name
    ("12 bis, rue de la Paix, 75002 Paris"), military mail (PSC/APO), PO boxes, an
    intersection ("the corner of X and Y") and a flat or suite number ("Apt. 4B").

    Weak shapes start at 0.3, under the stage's threshold, and are raised to 0.6 only with
    evidence, checked here on the raw text (Presidio's lemma enhancer skips stop words such
    as "at" and "on"):

    - a street without a number ("Elm Street", "rue de la Paix") after an address word or a
      preposition of place ("lives on", "at", "j'habite"), and never a figure of speech
      ("memory lane", "easy street");
    - "Capitalised words + number" ("Stubben 149") after a house number, before a unit, or
      after an address word ("my address is");
    - five digits after "zip code" / "code postal".

    Case matters (only street-type and unit keywords ignore it): the capitalised name is
    what tells "1600 Pennsylvania Avenue" from "5 blocks down the road". A match never runs
    past the end of its line, so a letter-style address gives one finding per line.
    """

    SCORE: Final = 0.7
    WEAK_SCORE: Final = 0.3
    CUED_SCORE: Final = 0.6
    BEFORE: Final = 40
    PLACE_CUES: Final[dict[Language, str]] = {
        "en": r"\b(?:address(?:es)?|live[sd]?|living|moved|located|send|sent|ship(?:ped)?"
        r"|deliver(?:ed)?|meet|at|on|onto|off|in|to|from|near|along|of|is|via|and)\W{0,3}$",
        "fr": r"(?:\b(?:adresse|habite\w*|domicil\w*|vi[st]|vivons|vivent|suis|sommes|livr\w*"
        r"|rendez-vous|rdv|retrouve\w*|chez|dans|sur|vers|au|à|a|de|près\s+de)\W{0,3}|[:,]\s*)$",
    }
    ADDRESS_CUES: Final[dict[Language, str]] = {
        "en": r"\b(?:address(?:es)?(?:\s+is)?|lives?\s+(?:at|on)|lived\s+(?:at|on)|moved\s+to"
        r"|located\s+(?:at|on)|(?:send|sent|ship|deliver)\w*(?:\s+\w+)?\s+to|is\s+at"
        r"|meet(?:\s+\w+)?\s+at|taxi\s+to|office\s+is\s+at|refers\s+to)\W{0,3}$",
        "fr": r"\b(?:adresse|habite\w*(?:\s+au)?|domicil\w*|livr\w*(?:\s+au)?)\W{0,3}$",
    }
    ZIP_CUES: Final = (
        r"(?i)\b(?:zip(?:\s*code)?|post(?:al)?\s*code|code\s+postal|cp)(?:\s+(?:is|est))?\W{0,6}$"
    )
    UNIT_AFTER: Final = re.compile(rf"^,?\s*[>?]*\s*{_UNIT}")
    FIGURES_OF_SPEECH: Final = re.compile(
        r"(?i)^(?:memory\s+lane|easy\s+street|wall\s+street|main\s+street|sesame\s+street"
        r"|abbey\s+road|downing\s+street|fleet\s+street|madison\s+avenue|skid\s+row"
        r"|death\s+row|lovers'?\s+lane|fast\s+lane|slow\s+lane|rue\s+morgue)\b"
    )

    def __init__(self, supported_language: Language = "en") -> None:
        strong = self.SCORE
        weak = self.WEAK_SCORE
        patterns = [
            Pattern("street address (US)", _EN_ADDRESS, strong),
            Pattern("street address (EU)", _INTL_ADDRESS, strong),
            Pattern("adresse (FR)", _FR_ADDRESS, strong),
            Pattern("military mail", _MILITARY, strong),
            Pattern("po box", _PO_BOX, strong),
            Pattern("intersection", _CORNER, strong),
            Pattern("unit", _UNIT_ALONE, strong - 0.1),
            Pattern("rue (FR)", _FR_NAMED_STREET, weak),
            Pattern("name and number", _NAME_NUMBER, weak),
            Pattern("zip", _ZIP_CUED, weak),
        ]
        super().__init__(
            supported_entity="STREET_ADDRESS",
            name="StreetAddressRecognizer",
            supported_language=supported_language,
            patterns=patterns,
            context=_context("STREET_ADDRESS", supported_language),
            global_regex_flags=re.MULTILINE,
        )
        lang = supported_language if supported_language in self.PLACE_CUES else "en"
        self._place = re.compile(self.PLACE_CUES[lang], re.IGNORECASE)
        self._address = re.compile(self.ADDRESS_CUES[lang], re.IGNORECASE)
        self._zip = re.compile(self.ZIP_CUES)

    def analyze(
        self,
        text: str,
        entities: list[str],
        nlp_artifacts: NlpArtifacts | None = None,
        regex_flags: int | None = None,
    ) -> list[RecognizerResult]:
        """Pattern matches, weak ones kept only with evidence; overlaps resolved longest first.

        Always run with this recognizer's own (case-sensitive) flags: ``AnalyzerEngine``
        passes none, but ``PatternRecognizer.analyze`` would let a caller's IGNORECASE
        through, which would defeat the capitalisation rule.
        """
        results: list[RecognizerResult] = super().analyze(text, entities, nlp_artifacts, None)
        results += self._street_names(text)
        kept: list[RecognizerResult] = []
        for result in results:
            pattern = (
                result.analysis_explanation.pattern_name if result.analysis_explanation else ""
            )
            if pattern in _WEAK:
                if not self._has_evidence(text, result, pattern):
                    continue
                result.score = self.CUED_SCORE
            # The evidence was weighed here; Presidio's enhancer must not add to it.
            result.recognition_metadata[RecognizerResult.IS_SCORE_ENHANCED_BY_CONTEXT_KEY] = True
            kept.append(result)
        kept.sort(key=lambda r: (-(r.end - r.start), -r.score, r.start))
        chosen: list[RecognizerResult] = []
        for result in kept:
            if all(result.end <= c.start or result.start >= c.end for c in chosen):
                chosen.append(result)
        return sorted(chosen, key=lambda r: r.start)

    def _street_names(self, text: str) -> list[RecognizerResult]:
        """Street names without a number ("Elm Street"): the US pattern's own matches minus
        the house number are not found by it (it takes the number when there is one)."""
        out: list[RecognizerResult] = []
        for match in _STREET_NAME_RE.finditer(text):
            out.append(
                RecognizerResult(
                    entity_type="STREET_ADDRESS",
                    start=match.start(),
                    end=match.end(),
                    score=self.WEAK_SCORE,
                    analysis_explanation=self.build_regex_explanation(
                        "StreetAddressRecognizer",
                        "street name",
                        _STREET_NAME,
                        self.WEAK_SCORE,
                        False,
                        re.MULTILINE,
                    ),
                    recognition_metadata={
                        RecognizerResult.RECOGNIZER_NAME_KEY: "StreetAddressRecognizer",
                        RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
                    },
                )
            )
        return out

    def _has_evidence(self, text: str, result: RecognizerResult, pattern: str) -> bool:
        found = text[result.start : result.end]
        before = text[max(0, result.start - self.BEFORE) : result.start]
        if pattern == "zip":
            return bool(self._zip.search(before))
        if pattern == "name and number":
            return (
                found[0].isdigit()
                or bool(self.UNIT_AFTER.match(text[result.end : result.end + 20]))
                or bool(self._address.search(before))
            )
        if self.FIGURES_OF_SPEECH.match(found):
            return False
        return bool(self._place.search(before))


# --------------------------------------------------------------------------- registry


class PrefilteredIbanRecognizer(IbanRecognizer):
    """Presidio's IBAN recognizer, skipped on texts that cannot hold an IBAN.

    Its pattern (every country's layout, spaces allowed between characters) was the
    costliest recognizer on everyday chat (~12% of the PII stage's time under load). Every
    IBAN starts with a country code and two check digits, which the pattern lets be spaced
    ("FR76", "F R 7 6"): a text with no such run has no IBAN, so the result is unchanged.
    """

    _CAN_START = re.compile(r"[A-Za-z] ?[A-Za-z] ?[0-9] ?[0-9]")

    def analyze(
        self,
        text: str,
        entities: list[str],
        nlp_artifacts: NlpArtifacts | None = None,
        regex_flags: int | None = None,
    ) -> list[RecognizerResult]:
        if not self._CAN_START.search(text):
            return []
        found: list[RecognizerResult] = super().analyze(
            text,
            entities,
            nlp_artifacts,  # type: ignore[arg-type]  # Presidio's signature says no None
            regex_flags,  # type: ignore[arg-type]  # ...but its defaults are None
        )
        return found


def build_recognizers(
    languages: Iterable[Language],
    phone_regions: Mapping[Language, Sequence[str]] | None = None,
) -> list[EntityRecognizer]:
    """One instance of each built-in (non-NER) recognizer per language.

    Entities: EMAIL_ADDRESS, PHONE_NUMBER (validated and shape), CREDIT_CARD, IBAN_CODE,
    IP_ADDRESS, STREET_ADDRESS. PERSON comes from the spaCy pipeline (classifiers.pii).
    """
    regions = dict(DEFAULT_PHONE_REGIONS)
    if phone_regions:
        regions.update({k: tuple(v) for k, v in phone_regions.items()})
    recognizers: list[EntityRecognizer] = []
    for lang in languages:
        recognizers += [
            OfflineEmailRecognizer(
                supported_language=lang, context=_context("EMAIL_ADDRESS", lang) or None
            ),
            ValidatedPhoneRecognizer(
                supported_language=lang,
                supported_regions=regions.get(lang, regions["en"]),
                context=_context("PHONE_NUMBER", lang),
                leniency=1,
            ),
            PhoneShapeRecognizer(supported_language=lang),
            LuhnCreditCardRecognizer(supported_language=lang),
            PrefilteredIbanRecognizer(
                supported_language=lang,
                context=_context("IBAN_CODE", lang),
                # Upper case is not guaranteed in a chat ("my iban is fr76 3000 ...");
                # the checksum still validates the match.
                regex_flags=re.DOTALL | re.MULTILINE | re.IGNORECASE,
            ),
            IpRecognizer(supported_language=lang, context=_context("IP_ADDRESS", lang)),
            StreetAddressRecognizer(supported_language=lang),
        ]
    return recognizers
