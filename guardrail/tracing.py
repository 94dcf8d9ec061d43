"""OpenTelemetry traces: a span per decision, with the stages it waited on as children.

Configured from the standard variables (``OTEL_TRACES_EXPORTER``: ``otlp``, ``console`` or
``none``; ``OTEL_EXPORTER_OTLP_ENDPOINT`` and the other ``OTEL_EXPORTER_OTLP_*``;
``OTEL_SERVICE_NAME``, default ``guardrail``). Off unless one of them asks for it, and
then at no cost: :func:`traced_store` and :func:`traced_analyzer` hand back the objects
they were given.

The decision span's children come from wrapping what the pipeline calls (the state store's
snapshot and commit, the content analysis) rather than from spans inside the pipeline, so
the flow in :mod:`guardrail.pipeline` stays readable top-down; the audit append and the
policy choice are spans of the use case (:mod:`guardrail.service.outreach`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from opentelemetry import trace

from classifiers.results import Role
from guardrail.analysis import Analysis, AnalysisRequest, Analyze
from guardrail.state.base import (
    CommitRequest,
    CommitResult,
    IdempotencyClaim,
    PipelineStore,
    SensitiveMemory,
)
from guardrail.state.base import Snapshot as StateSnapshot

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

_tracer: trace.Tracer | None = None
_provider: TracerProvider | None = None


def configure(provider: TracerProvider | None = None) -> bool:
    """Turn tracing on: with ``provider`` (tests), else from the ``OTEL_*`` variables.
    Returns whether it is on."""
    global _tracer, _provider
    if provider is None:
        provider = _provider_from_environment()
    _provider = provider
    _tracer = provider.get_tracer("guardrail") if provider is not None else None
    return _tracer is not None


def provider() -> TracerProvider | None:
    """The provider spans go to (the HTTP instrumentation uses it too)."""
    return _provider


def _provider_from_environment() -> TracerProvider | None:
    exporter_name = os.environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if not exporter_name:
        exporter_name = "otlp" if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") else "none"
    if exporter_name == "none":
        return None
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

    if exporter_name == "console":
        exporter: Any = ConsoleSpanExporter()
    elif exporter_name == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter()
    else:
        raise ValueError(f"OTEL_TRACES_EXPORTER={exporter_name!r}: use otlp, console or none")
    name = os.environ.get("OTEL_SERVICE_NAME", "guardrail")
    provider = TracerProvider(resource=Resource.create({"service.name": name}))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    return provider


def enabled() -> bool:
    return _tracer is not None


def span(name: str, **attributes: Any) -> Any:
    """A span named ``guardrail.<name>`` (a no-op context when tracing is off)."""
    if _tracer is None:
        return nullcontext()
    return _tracer.start_as_current_span(f"guardrail.{name}", attributes=attributes)


def traced_store(store: PipelineStore) -> PipelineStore:
    return _TracedStore(store) if _tracer is not None else store


def traced_analyzer(analyzer: Analyze) -> Analyze:
    return _TracedAnalyzer(analyzer) if _tracer is not None else analyzer


@contextmanager
def _child(name: str) -> Iterator[None]:
    with span(name):
        yield


class _TracedAnalyzer:
    """The content analysis (PII, the classifier stack) as a child span."""

    def __init__(self, inner: Analyze) -> None:
        self._inner = inner

    async def analyze(
        self, text: str, locale: str | None, request: AnalysisRequest, role: Role = "bot"
    ) -> Analysis:
        with span("analysis", pii=request.pii is not None, classifiers=request.classifiers):
            return await self._inner.analyze(text, locale, request, role)


class _TracedStore:
    """The state store's reads and writes of a decision as child spans."""

    def __init__(self, inner: PipelineStore) -> None:
        self._inner = inner
        self.name = inner.name
        self.inline = getattr(inner, "inline", False)

    async def ping(self) -> None:
        await self._inner.ping()

    async def close(self) -> None:
        await self._inner.close()

    async def snapshot(
        self, tenant: str, bot: str, user: str, now: datetime, horizon: timedelta
    ) -> StateSnapshot:
        with _child("store.snapshot"):
            return await self._inner.snapshot(tenant, bot, user, now, horizon)

    async def commit(self, tenant: str, bot: str, user: str, req: CommitRequest) -> CommitResult:
        with _child("store.commit"):
            return await self._inner.commit(tenant, bot, user, req)

    async def release(
        self, tenant: str, bot: str, user: str, decision_id: str, idempotency_key: str | None
    ) -> None:
        await self._inner.release(tenant, bot, user, decision_id, idempotency_key)

    async def sensitive_memory(self, tenant: str, bot: str, user: str) -> SensitiveMemory:
        with _child("store.memory"):
            return await self._inner.sensitive_memory(tenant, bot, user)

    async def get_idempotent(
        self, tenant: str, bot: str, user: str, key: str, now: datetime
    ) -> str | None:
        return await self._inner.get_idempotent(tenant, bot, user, key, now)

    async def claim_idempotent(
        self,
        tenant: str,
        bot: str,
        user: str,
        key: str,
        request_hash: str,
        token: str,
        now: datetime,
        ttl: timedelta,
    ) -> IdempotencyClaim:
        with _child("store.idempotency"):
            return await self._inner.claim_idempotent(
                tenant, bot, user, key, request_hash, token, now, ttl
            )

    async def abandon_idempotent(
        self, tenant: str, bot: str, user: str, key: str, token: str, now: datetime
    ) -> None:
        await self._inner.abandon_idempotent(tenant, bot, user, key, token, now)

    async def put_idempotent(
        self,
        tenant: str,
        bot: str,
        user: str,
        key: str,
        decision_json: str,
        now: datetime,
        ttl: timedelta,
        request_hash: str | None = None,
    ) -> str | None:
        return await self._inner.put_idempotent(
            tenant, bot, user, key, decision_json, now, ttl, request_hash
        )
