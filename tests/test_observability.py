"""What an operator's log pipeline and Prometheus read: a JSON line per decision, the
access log in JSON, per-route HTTP metrics and the process's own metrics."""

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx
import pytest

from tests.conftest import AUTH
from tests.gateways import gateway_processes

CHECK = {
    "bot_id": "maestro-cinema",
    "user_id": "obs-user",
    "channel": "messenger",
    "kind": "proactive",
    "text": "Any new soundtracks lately?",
}


@pytest.mark.slow
def test_json_logs_a_line_per_decision_and_route_metrics(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GUARDRAIL_LOG_FORMAT", "json")
    monkeypatch.setenv("GUARDRAIL_CLASSIFIERS", "false")
    args = ("--db", str(tmp_path / "state.db"))
    with gateway_processes(1, *args, log_dir=tmp_path) as [url]:
        answer = httpx.post(f"{url}/v1/outreach/check", json=CHECK, headers=AUTH, timeout=10)
        assert answer.status_code == 200
        decision = answer.json()
        metrics = httpx.get(f"{url}/metrics", headers=AUTH, timeout=10).text
    lines = [json.loads(line) for line in (tmp_path / "gateway-0.log").read_text().splitlines()
             if line.startswith("{")]  # fmt: skip
    decided = [line for line in lines if line.get("logger") == "guardrail.decisions"]
    assert len(decided) == 1
    (line,) = decided
    assert line["decision_id"] == decision["decision_id"]
    assert line["verdict"] == decision["verdict"] and line["bot"] == "maestro-cinema"
    assert line["rules"] == [r["rule"] for r in decision["reasons"]]
    assert line["tenant"] == "default" and line["latency_ms"] >= 0
    assert "obs-user" not in json.dumps(lines)  # no user id in the logs
    access = [line for line in lines if line.get("logger") == "uvicorn.access"]
    assert any("/v1/outreach/check" in json.dumps(a) for a in access)
    assert 'guardrail_http_requests_total{handler="/v1/outreach/check"' in metrics
    assert "process_resident_memory_bytes" in metrics or os.name != "posix"
