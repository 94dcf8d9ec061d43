"""The PostgreSQL audit backend against the real server (127.0.0.1:5432, database
``test``): the same behaviour as SQLite, and one unbroken chain however many replicas
append at once. Each test works in a schema of its own, dropped afterwards."""

from __future__ import annotations

import asyncio
import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg
import pytest
from fastapi.testclient import TestClient

from guardrail.app import create_app
from guardrail.audit import AuditTrail
from guardrail.audit.backend import EVERYTHING, AuditUnavailable
from guardrail.audit.postgres import PostgresAudit
from guardrail.audit.pseudonym import AuditKey
from guardrail.config import Settings
from guardrail.models import Decision, Kind, OutreachRequest, Verdict
from tests.audit_support import (
    ADMIN_KEY,
    AUDIT_KEY,
    KEYED_MISMATCH,
    TEXT,
    bearer,
    outreach,
)
from tests.conftest import API_KEY, REDIS_URL, Clock, redis_available
from tests.gateways import FIRST_USE_S, gateway_processes

pytestmark = pytest.mark.postgres


def trail(url: str) -> AuditTrail:
    return AuditTrail(PostgresAudit(url), AuditKey(AUDIT_KEY.encode()))


def decision(i: int, at: datetime) -> tuple[OutreachRequest, Decision]:
    req = OutreachRequest(bot_id="maestro", user_id=f"u{i}", channel="sms", text=TEXT)
    return req, Decision(
        decision_id=f"d-{uuid.uuid4().hex}",
        verdict=Verdict.BLOCK,
        text=None,
        kind=Kind.PROACTIVE,
        policy="default",
        policy_version="sha256:" + "ab" * 32,
        decided_at=at,
    )


def test_gateway_on_postgres(pg_url: str, tmp_path: Path, clock: Clock) -> None:
    settings = Settings(
        api_key=API_KEY, db=str(tmp_path / "state.db"), audit_url=pg_url, audit_key=AUDIT_KEY
    )
    with TestClient(create_app(settings, clock=clock)) as client:
        made = [outreach(client, "maestro", f"u{i}")["decision_id"] for i in range(5)]
        again = outreach(client, "maestro", "u0", idempotency_key="k")
        assert outreach(client, "maestro", "u0", idempotency_key="k")["idempotent_replay"]
        page = client.get(
            "/v1/audit/decisions", params={"user": "u0", "limit": 1}, headers=bearer(ADMIN_KEY)
        ).json()
        assert [i["id"] for i in page["items"]] == [again["decision_id"]]
        assert page["next_cursor"] is not None
        rest = client.get(
            "/v1/audit/decisions",
            params={"user": "u0", "cursor": page["next_cursor"], "rule": "user_*"},
            headers=bearer(ADMIN_KEY),
        ).json()
        assert [i["id"] for i in rest["items"]] == [made[0]]
        result = client.get("/v1/audit/verify", headers=bearer(ADMIN_KEY)).json()
        assert result["ok"] and result["checked"] == 7  # 6 decisions + the startup policy

    # Records are append-only; someone who drops the guard is caught by verification.
    with psycopg.connect(pg_url, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            conn.execute("UPDATE audit_records SET verdict = 'allow' WHERE id = %s", (made[2],))
        conn.execute("DROP TRIGGER audit_records_append_only ON audit_records")
        conn.execute(
            "UPDATE audit_records SET body = replace(body, '\"block\"', '\"allow\"') WHERE id = %s",
            (made[2],),
        )
    broken = asyncio.run(trail(pg_url).verify())
    assert not broken.ok and broken.bad_id == made[2] and broken.bad_seq == 4
    assert broken.problem == KEYED_MISMATCH


def test_purge_and_checkpoint(pg_url: str) -> None:
    t = trail(pg_url)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for i in range(6):
        asyncio.run(t.record_decision("acme", *decision(i, start + timedelta(days=i))))
    checkpoint = asyncio.run(t.purge(start + timedelta(days=3)))
    assert checkpoint is not None and checkpoint.through_seq == 3
    result = asyncio.run(t.verify())
    assert result.ok and result.checked == 4  # three left and the purge record
    assert result.checkpoint is not None and result.checkpoint["purged_total"] == 3
    asyncio.run(t.record_decision("acme", *decision(9, start + timedelta(days=9))))
    assert asyncio.run(t.verify()).ok
    asyncio.run(t.close())


def test_concurrent_replicas_build_one_chain(pg_url: str) -> None:
    """Four backends (as four replicas would hold), eight threads, 200 appends."""
    replicas = [PostgresAudit(pg_url) for _ in range(4)]
    key = AuditKey(AUDIT_KEY.encode())
    now = datetime(2026, 11, 20, tzinfo=UTC)

    def append(i: int) -> None:
        t = AuditTrail(replicas[i % 4], key)
        asyncio.run(t.record_decision("acme", *decision(i, now)))

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(append, range(200)))
    rows = replicas[0].page(EVERYTHING, limit=1000)
    assert [r.seq for r in rows] == list(range(1, 201))
    result = asyncio.run(AuditTrail(replicas[1], key).verify())
    assert result.ok and result.checked == 200
    for backend in replicas:
        backend.close()


@pytest.mark.slow
@pytest.mark.redis
def test_gateway_replicas_share_one_chain(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not redis_available():
        pytest.fail("Redis is not answering on 127.0.0.1:6379 (.ci/run starts it)")
    monkeypatch.setenv("GUARDRAIL_AUDIT_URL", pg_url)
    monkeypatch.setenv("GUARDRAIL_AUDIT_KEY", AUDIT_KEY)
    run = uuid.uuid4().hex[:8]
    with gateway_processes(2, "--redis", REDIS_URL, log_dir=tmp_path) as urls:
        clients = [
            httpx.Client(base_url=u, headers=bearer(ADMIN_KEY), timeout=FIRST_USE_S) for u in urls
        ]

        def decide(i: int) -> str:
            body = {"bot_id": f"b-{run}", "user_id": f"u{i}", "channel": "sms", "text": TEXT}
            response = clients[i % 2].post("/v1/outreach/check", json=body)
            assert response.status_code == 200, response.text
            return str(response.json()["decision_id"])

        with ThreadPoolExecutor(8) as pool:
            answered = set(pool.map(decide, range(60)))
        verified = clients[0].get("/v1/audit/verify").json()
        listed = clients[1].get("/v1/audit/decisions", params={"limit": 500}).json()
        # u0 was decided by replica 0, u1 by replica 1: one key, one pseudonym per user,
        # and either replica answers the same.
        for user in ("u0", "u1"):
            seen = [
                c.get("/v1/audit/decisions", params={"user": user, "bot": f"b-{run}"}).json()
                for c in clients
            ]
            assert seen[0] == seen[1] and len(seen[0]["items"]) == 1
        for client in clients:
            client.close()
    assert verified["ok"] and verified["checked"] >= 61
    assert {item["id"] for item in listed["items"]} == answered


def test_read_commands_on_a_database_without_an_audit_log(pg_url: str) -> None:
    """``--url`` to a database (schema) that holds no audit log: exit 2, nothing created."""
    from typer.testing import CliRunner

    from guardrail.cli import app as cli

    env = {"GUARDRAIL_AUDIT_KEY": AUDIT_KEY}
    for command in (["verify"], ["head"], ["query"], ["export"], ["report", "sb243"]):
        out = CliRunner().invoke(cli, ["audit", *command, "--url", pg_url], env=env)
        assert out.exit_code == 2 and "holds no audit log" in out.output, command
    with psycopg.connect(pg_url) as conn:
        found = conn.execute("SELECT to_regclass('audit_records'), to_regclass('audit_meta')")
        assert found.fetchone() == (None, None)

    # With a log: verify reads it through a read-only session and leaves it as it was.
    t = trail(pg_url)
    for i in range(3):
        asyncio.run(t.record_decision("acme", *decision(i, datetime(2026, 5, 1, tzinfo=UTC))))
    asyncio.run(t.close())
    out = CliRunner().invoke(cli, ["audit", "verify", "--url", pg_url], env=env)
    assert out.exit_code == 0 and "ok: 3 records verified" in out.output
    head = CliRunner().invoke(cli, ["audit", "head", "--url", pg_url], env=env)
    assert head.exit_code == 0 and json.loads(head.stdout)["seq"] == 3
    ro = PostgresAudit(pg_url, read_only=True)
    with pytest.raises(AuditUnavailable, match="read-only"):
        ro.append({"id": "x"})
    with pytest.raises(AuditUnavailable, match="read-only"):  # the server refuses too
        ro._read("INSERT INTO audit_meta (key, value) VALUES ('x', 'y')")
    ro.close()


def test_one_bad_record_in_a_group_commit_fails_alone(pg_url: str) -> None:
    """Appends queued together share a transaction; one that cannot be stored (an id
    already in the log) is refused on its own and the others are written."""
    from guardrail.audit.postgres import _Pending

    t = trail(pg_url)
    now = datetime(2026, 6, 1, tzinfo=UTC)
    first = t.decision_body("acme", *decision(1, now), None)
    t.backend.append(first)
    again, fresh = (
        _Pending(dict(first), False),
        _Pending(t.decision_body("acme", *decision(2, now), None), False),
    )
    backend = t.backend
    assert isinstance(backend, PostgresAudit)
    backend._queue = [again, fresh]
    backend._write()
    assert again.done and isinstance(again.error, AuditUnavailable) and again.record is None
    assert fresh.done and fresh.error is None and fresh.record is not None
    assert fresh.record.seq == 2
    assert asyncio.run(t.verify()).ok
    asyncio.run(t.close())
