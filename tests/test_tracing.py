"""OpenTelemetry: one span per decision, its stages as children, inside the request's span."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from guardrail import tracing
from guardrail.app import create_app
from guardrail.config import Settings
from tests.conftest import API_KEY, AUTH, Clock

BOT, USER = "maestro-cinema", "trace-user"


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.configure(provider)
    try:
        yield exporter
    finally:
        tracing.configure()  # back to the environment's choice: off in tests


def test_a_decision_is_a_span_with_its_stages(
    spans: InMemorySpanExporter, tmp_path: Path, clock: Clock
) -> None:
    settings = Settings(api_key=API_KEY, db=str(tmp_path / "state.db"), classifiers=False)
    with TestClient(create_app(settings, clock=clock, policy_poll_s=None)) as client:
        for ago in (5, 4, 3, 2, 1):  # the user chatted: the decision goes through the commit
            when = (clock() - timedelta(days=ago)).isoformat()
            event = {"type": "user_message", "bot_id": BOT, "user_id": USER, "text": "hi",
                     "ts": when}  # fmt: skip
            assert client.post("/v1/events", json=event, headers=AUTH).status_code == 200
        spans.clear()
        check = {"bot_id": BOT, "user_id": USER, "channel": "messenger", "kind": "proactive",
                 "text": "Any new soundtracks lately? Call me on 415 555 0132"}  # fmt: skip
        answer = client.post("/v1/outreach/check", json=check, headers=AUTH)
        assert answer.status_code == 200
    finished = spans.get_finished_spans()
    by_name = {s.name: s for s in finished}
    decision = by_name["guardrail.decision"]
    assert decision.attributes is not None and decision.attributes["bot"] == BOT
    children = {
        s.name for s in finished if s.parent and s.parent.span_id == decision.context.span_id
    }
    assert {"guardrail.store.snapshot", "guardrail.analysis", "guardrail.audit.append"} <= children
    if answer.json()["verdict"] in ("allow", "rewrite"):
        assert "guardrail.store.commit" in children
    server = [s for s in finished if s.kind.name == "SERVER"]
    assert server and decision.parent is not None  # inside the request's own span
    assert USER not in str([s.attributes for s in finished])  # no user id in traces


def test_tracing_is_off_and_free_without_otel_variables() -> None:
    tracing.configure()
    assert not tracing.enabled()
    sentinel = object()
    assert tracing.traced_store(sentinel) is sentinel  # type: ignore[arg-type]
