"""The classifier stack: one encoder pass per batch of texts serves every head.

``ClassifierStack.classify(texts, role)`` encodes the texts once with the shared MiniLM
encoder, then runs the heads of that role on the same embeddings: self-harm (both roles),
emotional dependency and minor (user role) and manipulation (bot role), plus any configured
extra backends (``classifiers.backends``); the sensitive head (special categories, both
roles) rides on the same vectors. The dependency and manipulation heads are optional:
they are loaded only when their module and weight file exist; otherwise their field stays
None and the reason is logged once.

The encoder is configuration: ``encoder_name``, else ``$GUARDRAIL_ENCODER``, else the name the
self-harm head records as trained on (``encoder_name`` in its metadata; files without one
were trained on MiniLM). Every loaded head must name the same encoder: a head trained on
other vectors is refused at load, never run on the wrong ones.

Device and precision (MiniLM, the torch encoder): CUDA with fp16 when a GPU is present, else
CPU with int8 dynamic quantization (``resolve_device``); fp16 on CPU and int8 on CUDA are
refused up front. USE and e5 run on CPU (numpy / C engine).
"""

from __future__ import annotations

import importlib
import logging
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from classifiers.backends import Backend, load_backends
from classifiers.crisis import HeadReading
from classifiers.encoder import Precision, SentenceEncoder
from classifiers.encoders import ENCODER_ENV, configured_encoder
from classifiers.normalize import bounded, normalize
from classifiers.results import (
    DependencyResult,
    ManipulationResult,
    MinorResult,
    Role,
    SelfHarmResult,
    SensitiveResult,
    TextScores,
    ToxicityResult,
)
from classifiers.self_harm import SelfHarmClassifier

log = logging.getLogger("guardrail.classifiers")

ROLES: tuple[Role, ...] = ("user", "bot")


class StageSink(Protocol):
    """Anything that adds up CPU seconds per stage (``guardrail.stages.StageClock``)."""

    def add(self, stage: str, seconds: float, items: int = 1) -> None: ...


class DependencyHead(Protocol):
    def score(self, embeddings: Any, texts: Sequence[str]) -> list[DependencyResult]: ...


class ManipulationHead(Protocol):
    def score(self, embeddings: Any, texts: Sequence[str]) -> list[ManipulationResult]: ...


class ToxicityHead(Protocol):
    def score(self, embeddings: Any, texts: Sequence[str]) -> list[ToxicityResult]: ...


class SensitiveHead(Protocol):
    def score(self, embeddings: Any, texts: Sequence[str]) -> list[SensitiveResult]: ...


class MinorHead(Protocol):
    def score(self, embeddings: Any, texts: Sequence[str]) -> list[MinorResult]: ...


def detoxify_scores(backends: Sequence[Backend], other: Mapping[str, float]) -> dict[str, float]:
    """The first Detoxify backend's scores in ``other`` (``<name>.<class>``), unprefixed."""
    from classifiers.backends.detoxify import DetoxifyBackend

    for b in backends:
        if isinstance(b, DetoxifyBackend):
            prefix = f"{b.name}."
            found = {k[len(prefix) :]: v for k, v in other.items() if k.startswith(prefix)}
            if found:
                return found
    return {}


def resolve_device(
    device: str | None = None, precision: Precision | None = None
) -> tuple[str, Precision]:
    """The device and precision to run on; a ValueError for combinations that cannot run.

    For the torch parts only (MiniLM, model-folder backends): it imports torch."""
    from classifiers.encoder_minilm import default_precision, select_device

    dev = select_device(device)
    prec: Precision = precision or default_precision(dev)
    if prec == "fp16" and dev.type != "cuda":
        raise ValueError(f"precision fp16 needs a CUDA device, not {dev}; use int8 or fp32")
    if prec == "int8" and dev.type != "cpu":
        raise ValueError(f"precision int8 (dynamic quantization) runs on CPU only, not {dev}")
    return str(dev), prec


def _optional_head(module: str, cls: str, weights: str, path: Path | None) -> Any | None:
    """``module.cls.load(path)`` when the module and its weight file exist, else None (logged)."""
    try:
        mod = importlib.import_module(module)
    except ImportError as exc:
        log.warning("%s head not loaded: %s is not available (%s)", cls, module, exc)
        return None
    weight_file = Path(path) if path is not None else Path(getattr(mod, weights))
    if not weight_file.is_file():
        log.warning("%s head not loaded: no weight file %s", cls, weight_file)
        return None
    return getattr(mod, cls).load(weight_file)


def head_encoder_name(head: Any) -> str:
    """The encoder a loaded head was trained on (its metadata; older files: MiniLM)."""
    meta = getattr(getattr(head, "head", None), "metadata", None)
    if meta is None:
        model = getattr(head, "model", None)
        meta = getattr(getattr(model, "head", None), "metadata", None)
    return str((meta or {}).get("encoder_name", "minilm"))


def check_encoder(name: str, heads: dict[str, Any]) -> None:
    """A ValueError when a head was trained on another encoder than ``name``."""
    for part, head in heads.items():
        if head is not None and head_encoder_name(head) != name:
            raise ValueError(
                f"the {part} head was trained on the {head_encoder_name(head)!r} encoder, "
                f"not {name!r}: retrain it or configure that encoder"
            )


def self_harm_results(
    clf: SelfHarmClassifier, embeddings: Any, texts: Sequence[str], role: Role
) -> list[SelfHarmResult]:
    """SelfHarmResult per text; uses ``clf.results`` when the classifier provides it."""
    results = getattr(clf, "results", None)
    if role == "user":
        if results is not None:
            out: list[SelfHarmResult] = results(embeddings, texts)
            return out
        return [
            SelfHarmResult(score=s.score, severity=s.fused_severity, flagged=s.flagged)
            for s in clf.score_user_messages(embeddings, texts)
        ]
    # Bot role: the bot-encouragement head (when loaded) OR the lexicon's encouragement.
    return [
        SelfHarmResult(
            score=max(b.score or 0.0, 1.0 if b.lexicon.encouragement else 0.0)
            if b.score is not None
            else (1.0 if b.encourages else 0.0),
            severity=b.lexicon.severity,
            flagged=b.encourages,
            encourages=b.encourages,
        )
        for b in clf.score_bot_messages(texts, embeddings)
    ]


@dataclass
class ClassifierStack:
    encoder: SentenceEncoder
    self_harm: SelfHarmClassifier
    dependency: DependencyHead | None = None
    manipulation: ManipulationHead | None = None
    toxicity: ToxicityHead | None = None
    backends: list[Backend] = field(default_factory=list)
    sensitive: SensitiveHead | None = None
    """Both roles: special categories a text names (``classifiers.sensitive``)."""
    minor: MinorHead | None = None
    """User role: the writer reveals they are a minor (``classifiers.minor``)."""
    timings: dict[str, float] = field(default_factory=dict)
    """Seconds spent per part over this stack's life (encoder, self_harm, ..., backends)."""
    clock: StageSink | None = None
    """Where the CPU time of the encoder and of the heads goes, if anywhere (the gateway
    gives its stage clock, ``guardrail.stages.CLOCK``)."""

    @classmethod
    def load(
        cls,
        device: str | None = None,
        precision: Precision | None = None,
        backends: Path | Sequence[Backend] | None = None,
        *,
        dependency_path: Path | None = None,
        manipulation_path: Path | None = None,
        toxicity_path: Path | None = None,
        sensitive_path: Path | None = None,
        minor_path: Path | None = None,
        encoder: SentenceEncoder | None = None,
        encoder_name: str | None = None,
    ) -> ClassifierStack:
        """Load the encoder and every head; ``backends`` is a YAML file or built backends."""
        from classifiers.encoders import shared_sentence_encoder

        if device is not None or precision is not None:
            resolve_device(device, precision)  # refused before anything loads
        if isinstance(backends, Path | str):  # model folders on torch: pick its device now
            extra = load_backends(Path(backends), device=resolve_device(device, precision)[0])
        else:
            extra = list(backends or [])
        self_harm = SelfHarmClassifier.load()
        heads: dict[str, Any] = {
            "self_harm": self_harm,
            "self_harm_message": self_harm.message_head,
            "self_harm_bot": self_harm.bot_head,
            "dependency": _optional_head(
                "classifiers.dependency",
                "DependencyClassifier",
                "DEPENDENCY_WEIGHTS",
                dependency_path,
            ),
            "manipulation": _optional_head(
                "classifiers.manipulation",
                "ManipulationClassifier",
                "MANIPULATION_WEIGHTS",
                manipulation_path,
            ),
            "toxicity": _optional_head(
                "classifiers.toxicity", "ToxicityClassifier", "TOXICITY_WEIGHTS", toxicity_path
            ),
            "sensitive": _optional_head(
                "classifiers.sensitive", "SensitiveClassifier", "SENSITIVE_WEIGHTS", sensitive_path
            ),
            "minor": _optional_head(
                "classifiers.minor", "MinorClassifier", "MINOR_WEIGHTS", minor_path
            ),
        }
        if encoder is not None:
            name = encoder.name
        else:
            name = configured_encoder(
                encoder_name or os.environ.get(ENCODER_ENV) or head_encoder_name(self_harm)
            )
        check_encoder(name, heads)
        if encoder is not None:
            enc = encoder
        elif name == "minilm":  # the torch encoder: CUDA when present, int8 on CPU
            dev, prec = resolve_device(device, precision)
            enc = shared_sentence_encoder(name, device=dev, precision=prec)
        else:  # numpy and C encoders: torch is never imported
            enc = shared_sentence_encoder(name)
        return cls(
            encoder=enc,
            self_harm=self_harm,
            dependency=heads["dependency"],
            manipulation=heads["manipulation"],
            toxicity=heads["toxicity"],
            backends=extra,
            sensitive=heads["sensitive"],
            minor=heads["minor"],
        )

    def _tick(self, part: str, since: float) -> float:
        now = time.perf_counter()
        self.timings[part] = self.timings.get(part, 0.0) + now - since
        return now

    def conversation(
        self, vectors: Sequence[bytes], facts: Sequence[Sequence[str]], topical: bool
    ) -> HeadReading:
        """The severity head on a user's last messages, oldest first, from what the gateway
        kept of them (``SelfHarmResult.embedding`` and facts): one small matrix product, no
        encoder pass. Vectors of another width (the encoder changed within the window) are
        not read: the grammar's facts alone then speak of the conversation."""
        rows = [np.frombuffer(v, dtype=np.float16) for v in vectors]
        if not rows or any(r.shape != (self.encoder.dim,) for r in rows):
            return HeadReading()
        return self.self_harm.conversation(np.stack(rows).astype(np.float32), facts, topical)

    def classify(self, texts: Sequence[str], role: Role) -> list[TextScores]:
        """One TextScores per text, in order; one encoder pass for all texts and heads."""
        if role not in ROLES:
            raise ValueError(f"role must be user or bot, not {role!r}")
        if isinstance(texts, str):
            raise TypeError("classify takes a sequence of texts, not one string")
        if not texts:
            return []
        # Every head reads the text as a person reads it, with no word long enough to make
        # a tokenizer's work grow with its square (classifiers.normalize).
        texts = [bounded(normalize(text).text) for text in texts]
        t = time.perf_counter()
        cpu = time.thread_time()
        needs_embeddings = (
            role == "user"
            or self.manipulation is not None
            or self.toxicity is not None
            or self.self_harm.bot_head is not None
            or self.sensitive is not None
        )
        embeddings = (
            self.encoder.encode_documents(texts)
            if needs_embeddings
            else np.zeros((len(texts), self.encoder.dim), dtype=np.float32)
        )
        t = self._tick("encoder", t)
        encoded = time.thread_time()
        harm = self_harm_results(self.self_harm, embeddings, texts, role)
        t = self._tick("self_harm", t)
        dependency: list[DependencyResult | None] = [None] * len(texts)
        manipulation: list[ManipulationResult | None] = [None] * len(texts)
        if role == "user" and self.dependency is not None:
            dependency = list(self.dependency.score(embeddings, texts))
            t = self._tick("dependency", t)
        if role == "bot" and self.manipulation is not None:
            manipulation = list(self.manipulation.score(embeddings, texts))
            t = self._tick("manipulation", t)
        minor: list[MinorResult | None] = [None] * len(texts)
        if role == "user" and self.minor is not None:
            minor = list(self.minor.score(embeddings, texts))
            t = self._tick("minor", t)
        toxicity: list[ToxicityResult | None] = [None] * len(texts)
        if self.toxicity is not None:
            toxicity = list(self.toxicity.score(embeddings, texts))
            t = self._tick("toxicity", t)
        sensitive: list[SensitiveResult | None] = [None] * len(texts)
        if self.sensitive is not None:
            sensitive = list(self.sensitive.score(embeddings, texts))
            t = self._tick("sensitive", t)
        other: list[dict[str, float]] = [{} for _ in texts]
        for backend in self.backends:
            if role not in backend.roles:
                continue
            for row, scores in zip(other, backend.predict(texts), strict=True):
                row.update({f"{backend.name}.{label}": s for label, s in scores.items()})
            t = self._tick(f"backend.{backend.name}", t)
        # A configured Detoxify checkpoint fuses with the head (maximum: classifiers.toxicity).
        from classifiers.toxicity import fuse

        toxicity = [
            fuse(x, detoxify_scores(self.backends, o)) for x, o in zip(toxicity, other, strict=True)
        ]
        if self.clock is not None:
            self.clock.add("encoder", encoded - cpu, len(texts))
            self.clock.add("heads", time.thread_time() - encoded, len(texts))
        return [
            TextScores(
                self_harm=h,
                dependency=d,
                manipulation=m,
                toxicity=x,
                other=o,
                sensitive=s,
                minor=n,
            )
            for h, d, m, x, o, s, n in zip(
                harm, dependency, manipulation, toxicity, other, sensitive, minor, strict=True
            )
        ]

    def describe(self) -> dict[str, Any]:
        """What is loaded: encoder settings, the heads present, the backends and their roles."""
        return {
            "encoder": self.encoder.describe(),
            "heads": {
                "self_harm": True,
                "dependency": self.dependency is not None,
                "manipulation": self.manipulation is not None,
                "toxicity": self.toxicity is not None,
                "sensitive": self.sensitive is not None,
                "minor": self.minor is not None,
            },
            "backends": [
                {"name": b.name, "type": type(b).__name__, "roles": sorted(b.roles)}
                for b in self.backends
            ],
        }
