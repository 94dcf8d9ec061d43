"""The content-analysis stage: what the message says, computed once per decision.

The pipeline asks for an :class:`Analysis` only when an enabled rule of the matched policy
needs one (:meth:`guardrail.rules.base.Rule.needs`), and only when the message reaches the
content rules (a message blocked by a cap is never analysed). The analysis runs two
components side by side and waits for both:

- **PII**, in one worker thread per process (:class:`PiiService`): spaCy pipelines load
  there on first use, once per language, and requests from concurrent decisions are
  drained together and analysed in one ``nlp.pipe`` batch per language. Loading lazily
  keeps gateways whose policies never ask for PII (and test runs) free of spaCy.
- **Classifiers**, through the gateway's micro-batcher (anything with
  ``classify(texts, role) -> list[TextScores]``, sync or async): the whole text and,
  when it has more than one, each sentence, in one call, so a rule can tell which
  sentence carries a tactic.

A component that is missing, fails or times out is named in ``unavailable`` (and why:
turned off, still loading, failed to load, no answer in time); the rules that needed it
then fail closed or open as their policy says. Nothing here raises.

Every check reads the text as a person reads it (:mod:`classifiers.normalize`): the
classifier stack normalises what it is given, and PII is detected in the visible text
(NFKC, invisible characters removed, look-alike letters folded: fullwidth digits are
digits) with its findings mapped back, so redaction acts on the original.

Fairness: the PII worker serves tenants in turn (:data:`TENANT`, set by the use case),
in batches of bounded size, so one tenant's backlog delays another's decision by at most
one batch; decisions go to the micro-batcher's decision lane, ahead of bulk classify
traffic (``classifiers.batcher``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import inspect
import logging
import threading
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, TypeVar, cast

from classifiers.normalize import visible
from classifiers.pii_redact import PiiConfig, PiiFinding, language_for_locale, sentence_spans
from classifiers.results import Role, TextScores
from guardrail.heap import freeze_heap
from guardrail.stages import CLOCK

if TYPE_CHECKING:
    from classifiers.pii import PiiDetector
    from classifiers.pii_redact import Lang

T = TypeVar("T")

log = logging.getLogger("guardrail.analysis")

PII = "pii"
CLASSIFIERS = "classifiers"
NO_STACK = "no classifier stack is loaded"
"""Why ``classifiers`` is unavailable when the gateway runs without a stack (not a failure)."""
LOADING = "the classifiers are still loading"
FAILED = "the classifiers failed to load"

TENANT: ContextVar[str] = ContextVar("guardrail_tenant", default="")
"""The tenant whose work is being done, for the PII worker's turns (set by use cases)."""
PII_BATCH_CHARS = 16_384
"""Characters the PII worker analyses in one batch at most (a batch holds at least one
text): what another tenant's backlog can put ahead of a decision."""


# --------------------------------------------------------------------------- records


@dataclass(frozen=True, slots=True)
class AnalysisRequest:
    """What the enabled rules of one policy need analysed."""

    pii: PiiConfig | None = None
    """The PII configuration to detect with (None: no PII analysis)."""
    classifiers: bool = False

    def __or__(self, other: AnalysisRequest) -> AnalysisRequest:
        return AnalysisRequest(
            pii=self.pii or other.pii, classifiers=self.classifiers or other.classifiers
        )

    def __bool__(self) -> bool:
        return self.pii is not None or self.classifiers


NOTHING = AnalysisRequest()


@dataclass(frozen=True, slots=True)
class SentenceScores:
    """Classifier scores of one sentence, by its character span in the analysed text."""

    start: int
    end: int
    scores: TextScores


@dataclass(frozen=True, slots=True)
class Analysis:
    """Everything the content rules read about one text. Offsets refer to ``text``."""

    text: str
    locale: str | None = None
    pii: tuple[PiiFinding, ...] | None = None
    """Findings, sorted by position; None when PII was not asked for or is unavailable."""
    scores: TextScores | None = None
    """The whole text's scores; None when not asked for or unavailable."""
    sentences: tuple[SentenceScores, ...] = ()
    """Per sentence, when the text has more than one (else just ``scores``)."""
    unavailable: Mapping[str, str] = field(default_factory=dict)
    """Component (``pii``, ``classifiers``) → why it gave no answer."""

    def decision_scores(self) -> dict[str, float]:
        """The figures a decision shows: head scores and the top score per PII type."""
        out: dict[str, float] = {}
        if self.scores is not None:
            out["self_harm"] = round(self.scores.self_harm.score, 4)
            if self.scores.manipulation is not None:
                out["manipulation"] = round(self.scores.manipulation.score, 4)
            if self.scores.toxicity is not None:
                out["toxicity"] = round(self.scores.toxicity.score, 4)
            if self.scores.sensitive is not None:
                out["sensitive"] = round(self.scores.sensitive.score, 4)
        for finding in self.pii or ():
            key = f"pii.{finding.entity_type}"
            out[key] = max(out.get(key, 0.0), finding.score)
        return out


class Classifier(Protocol):
    """The classifier micro-batcher as the analysis uses it (``classifiers.batcher``)."""

    def classify(
        self, texts: Sequence[str], role: Role
    ) -> list[TextScores] | Awaitable[list[TextScores]]: ...


# --------------------------------------------------------------------------- PII worker

Done = Callable[[list[PiiFinding] | BaseException], None]


@dataclass(frozen=True, slots=True)
class _Job:
    text: str
    lang: str
    config: PiiConfig
    done: Done
    abandoned: Callable[[], bool] = lambda: False
    """True once nobody waits for the answer (the caller timed out): the worker skips it,
    so a backlog left by a slow start is not analysed long after it stopped mattering."""
    owner: str = ""
    """Whose work it is (a tenant): owners are served in turn."""


class _Turns:
    """Jobs waiting per owner, taken in turns: one job per owner per round, up to a batch
    of ``max_batch`` jobs and ``max_chars`` characters (at least one job)."""

    def __init__(self) -> None:
        self._queues: dict[str, deque[_Job]] = {}
        self._ready = threading.Condition()

    def put(self, job: _Job) -> None:
        with self._ready:
            self._queues.setdefault(job.owner, deque()).append(job)
            self._ready.notify()

    def take(self, max_batch: int, max_chars: int) -> list[_Job]:
        """The next batch (waits for one); jobs nobody waits for any more are dropped here,
        so they take no one's turn."""
        with self._ready:
            out: list[_Job] = []
            chars = 0
            while not out:
                while not self._queues:
                    self._ready.wait()
                while self._queues and len(out) < max_batch:
                    for owner in list(self._queues):
                        queue = self._queues[owner]
                        job = queue[0]
                        if not job.abandoned() and out and chars + len(job.text) > max_chars:
                            return out  # the owner keeps its place for the next batch
                        queue.popleft()
                        del self._queues[owner]
                        if queue:
                            self._queues[owner] = queue  # back of the line
                        if job.abandoned():
                            continue
                        out.append(job)
                        chars += len(job.text)
                        if len(out) >= max_batch:
                            break
            return out


def _detection_key(config: PiiConfig) -> str:
    """Detectors differ by what they detect, not by what is done with the findings."""
    return config.model_dump_json(
        include={"entities", "score_threshold", "custom_recognizers", "allow_list", "phone_regions"}
    )


class PiiService:
    """PII detection in one worker thread: detectors built once, requests batched.

    spaCy pipelines are not shared across threads here: everything that touches them runs
    in the worker, which drains every waiting request and analyses them per (detection
    configuration, language) with ``PiiDetector.analyze_batch``.
    """

    def __init__(
        self,
        factory: Callable[[PiiConfig, str], PiiDetector] | None = None,
        max_batch: int = 64,
        max_chars: int = PII_BATCH_CHARS,
    ) -> None:
        self._factory = factory or _build_detector
        self._max_batch = max_batch
        self._max_chars = max_chars
        self._jobs = _Turns()
        self._detectors: dict[tuple[str, str], PiiDetector] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def languages(self) -> tuple[str, ...]:
        """Languages with a detector already loaded."""
        return tuple(dict.fromkeys(lang for _, lang in self._detectors))

    def submit(
        self,
        text: str,
        locale: str | None,
        config: PiiConfig,
        done: Done,
        abandoned: Callable[[], bool] = lambda: False,
        owner: str | None = None,
    ) -> None:
        """Queue ``text``; ``done`` is called from the worker with findings or the error.
        ``owner`` (default: the current :data:`TENANT`) takes its turn with the others."""
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="pii-worker", daemon=True)
                self._thread.start()
        who = TENANT.get() if owner is None else owner
        self._jobs.put(_Job(text, language_for_locale(locale), config, done, abandoned, who))

    async def analyze(self, text: str, locale: str | None, config: PiiConfig) -> list[PiiFinding]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[PiiFinding]] = loop.create_future()

        def settle(result: list[PiiFinding] | BaseException) -> None:
            if future.done():
                return
            if isinstance(result, BaseException):
                future.set_exception(result)
            else:
                future.set_result(result)

        def done(result: list[PiiFinding] | BaseException) -> None:
            # RuntimeError: the caller's loop has closed, so nobody is waiting.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(settle, result)

        self.submit(text, locale, config, done, abandoned=future.done)
        return await future

    def analyze_blocking(
        self, text: str, locale: str | None, config: PiiConfig, timeout: float
    ) -> list[PiiFinding]:
        """``analyze`` for synchronous callers (the audit hook); raises on timeout."""
        future: concurrent.futures.Future[list[PiiFinding]] = concurrent.futures.Future()

        def done(result: list[PiiFinding] | BaseException) -> None:
            if isinstance(result, BaseException):
                future.set_exception(result)
            else:
                future.set_result(result)

        self.submit(text, locale, config, done)
        return future.result(timeout=timeout)

    def _run(self) -> None:
        while True:
            jobs = self._jobs.take(self._max_batch, self._max_chars)
            groups: dict[tuple[str, str], list[_Job]] = {}
            for job in jobs:
                if job.abandoned():
                    continue
                groups.setdefault((_detection_key(job.config), job.lang), []).append(job)
            for (key, lang), group in groups.items():
                try:
                    detector = self._detector(key, lang, group[0].config)
                    with CLOCK.cpu("pii", items=len(group)):
                        found = detector.analyze_batch([j.text for j in group], lang)
                except Exception as exc:  # reported to every waiting caller
                    log.warning("PII analysis failed (%s): %s", type(exc).__name__, exc)
                    for job in group:
                        job.done(exc)
                    continue
                for job, findings in zip(group, found, strict=True):
                    job.done(findings)

    def _detector(self, key: str, lang: str, config: PiiConfig) -> PiiDetector:
        detector = self._detectors.get((key, lang))
        if detector is None:
            detector = self._factory(config, lang)
            self._detectors[(key, lang)] = detector
            freeze_heap()  # the pipeline just loaded lives as long as the process
        return detector


def _build_detector(config: PiiConfig, lang: str) -> PiiDetector:
    """A one-language detector over the process-wide pipeline (loaded by path, once)."""
    from classifiers.pii import PiiDetector, load_pipeline

    customs = [c for c in config.custom_recognizers if lang in c.languages]
    config = config.model_copy(update={"custom_recognizers": customs})
    return PiiDetector(config, pipelines={lang: load_pipeline(cast("Lang", lang))})


_shared: PiiService | None = None
_shared_lock = threading.Lock()


def shared_pii() -> PiiService:
    """The process's PII worker (one per process, whatever the number of gateways)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = PiiService()
        return _shared


def loaded_pii() -> PiiService | None:
    """The process's PII worker if something already created it, else None."""
    return _shared


# --------------------------------------------------------------------------- the stage


class Analyzer:
    """Runs the components a decision needs, concurrently, with a deadline."""

    def __init__(
        self,
        classifiers: Classifier | Callable[[], Classifier | None] | None = None,
        pii: PiiService | None = None,
        timeout_s: float = 30.0,
        state: Callable[[], str] | None = None,
    ) -> None:
        self._classifiers = classifiers
        """The micro-batcher, or a function returning it (None while a gateway loads it)."""
        self._state = state
        """The gateway's classifier state (off, loading, ready, failed: ...), to say why
        no classifier answered."""
        self._pii = pii
        self.timeout_s = timeout_s
        """Generous by default: the first PII request of a process waits for spaCy."""

    @property
    def classifiers(self) -> Classifier | None:
        source = self._classifiers
        if source is None or hasattr(source, "classify"):
            return cast("Classifier | None", source)
        return source()

    @property
    def pii(self) -> PiiService:
        if self._pii is None:
            self._pii = shared_pii()
        return self._pii

    async def analyze(
        self, text: str, locale: str | None, request: AnalysisRequest, role: Role = "bot"
    ) -> Analysis:
        unavailable: dict[str, str] = {}
        spans = sentence_spans(text) if request.classifiers else []
        pii_task = (
            self._guard(PII, self._detect_pii(text, locale, request.pii), unavailable)
            if request.pii is not None
            else None
        )
        cls_task = (
            self._guard(CLASSIFIERS, self._classify(text, spans, role), unavailable)
            if request.classifiers
            else None
        )
        pii_result, cls_result = await asyncio.gather(
            pii_task if pii_task is not None else _none(),
            cls_task if cls_task is not None else _none(),
        )
        scores: TextScores | None = None
        sentences: tuple[SentenceScores, ...] = ()
        if cls_result is not None:
            scores, *per_sentence = cls_result
            if len(spans) > 1:
                sentences = tuple(
                    SentenceScores(s, e, sc) for (s, e), sc in zip(spans, per_sentence, strict=True)
                )
        return Analysis(
            text=text,
            locale=locale,
            pii=tuple(pii_result) if pii_result is not None else None,
            scores=scores,
            sentences=sentences,
            unavailable=unavailable,
        )

    async def _detect_pii(
        self, text: str, locale: str | None, config: PiiConfig
    ) -> list[PiiFinding]:
        """Findings in the visible text, with spans in ``text``."""
        seen = visible(text)
        found = await self.pii.analyze(seen.text, locale, config)
        if not seen.changed:
            return found
        return [f._replace(start=a, end=b) for f in found for a, b in [seen.span(f.start, f.end)]]

    async def _classify(
        self, text: str, spans: Sequence[tuple[int, int]], role: Role
    ) -> list[TextScores]:
        classifiers = self.classifiers
        if classifiers is None:
            state = self._state() if self._state is not None else "off"
            if state == "loading":
                raise LookupError(LOADING)
            if state.startswith("failed"):
                raise LookupError(FAILED)
            raise LookupError(NO_STACK)
        texts = [text, *(text[s:e] for s, e in spans)] if len(spans) > 1 else [text]
        classify = classifiers.classify
        if inspect.iscoroutinefunction(classify):
            result = await classify(texts, role)
        else:
            result = await asyncio.to_thread(classify, texts, role)
            if inspect.isawaitable(result):
                result = await result
        scores = list(cast("list[TextScores]", result))
        if len(scores) != len(texts):
            raise ValueError(f"{len(texts)} texts classified, {len(scores)} results")
        return scores

    async def _guard(self, name: str, work: Awaitable[T], unavailable: dict[str, str]) -> T | None:
        try:
            return await asyncio.wait_for(work, self.timeout_s)
        except TimeoutError:
            unavailable[name] = f"no answer within {self.timeout_s:g} s"
        except LookupError as exc:  # not loaded: the message says it all
            unavailable[name] = str(exc)
        except Exception as exc:
            unavailable[name] = f"{type(exc).__name__}: {exc}"
        return None


async def _none() -> None:
    return None


class Analyze(Protocol):
    """What the pipeline needs of an analyzer: :class:`Analyzer`, or :class:`SharedAnalyses`."""

    async def analyze(
        self, text: str, locale: str | None, request: AnalysisRequest, role: Role = "bot"
    ) -> Analysis: ...


class SharedAnalyses:
    """An analyzer that answers a repeated request from memory, for one decision and its
    shadow policies: candidates mostly ask for the very analysis the live policy asks for,
    and PII detection is the costly part of a decision. Keyed by text, locale, role and
    what is asked (the PII settings by value); short-lived, one per decision."""

    def __init__(self, inner: Analyze) -> None:
        self._inner = inner
        self._done: dict[tuple[str, str | None, str, bool, str | None], Analysis] = {}

    async def analyze(
        self, text: str, locale: str | None, request: AnalysisRequest, role: Role = "bot"
    ) -> Analysis:
        pii = request.pii.model_dump_json() if request.pii is not None else None
        key = (text, locale, role, request.classifiers, pii)
        if key not in self._done:
            self._done[key] = await self._inner.analyze(text, locale, request, role)
        return self._done[key]
