"""The hash chain: links, tampering named, retention with signed checkpoints, the audit
key, and the ``guardrail audit`` commands."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from guardrail.app import create_app
from guardrail.audit import AuditIntegrityError, AuditTrail, AuditUnavailable
from guardrail.audit.backend import EVERYTHING
from guardrail.audit.pseudonym import AuditKey
from guardrail.audit.records import GENESIS_HASH, canonical_json
from guardrail.audit.redact import redact
from guardrail.audit.sqlite import SQLiteAudit
from guardrail.cli import app as cli
from guardrail.config import Settings
from guardrail.gateway import audit_options
from guardrail.models import Decision, Kind, OutreachRequest, Reason, Verdict
from tests.audit_support import ADMIN_KEY, AUDIT_KEY, KEYED_MISMATCH, TEXT, bearer, outreach
from tests.conftest import API_KEY, Clock

runner = CliRunner()
START = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)


def request(bot: str = "maestro", user: str = "ana") -> OutreachRequest:
    return OutreachRequest(bot_id=bot, user_id=user, channel="sms", text=TEXT)


def decision(
    at: datetime, verdict: Verdict = Verdict.BLOCK, rules: tuple[str, ...] = ("user_first",)
) -> Decision:
    effect = "block" if verdict is Verdict.BLOCK else "info"
    return Decision(
        decision_id=f"d-{at:%m%d%H%M%S}-{verdict.value}-{'-'.join(rules)}",
        verdict=verdict,
        text=TEXT if verdict in (Verdict.ALLOW, Verdict.REWRITE) else None,
        kind=Kind.PROACTIVE,
        reasons=[Reason(rule=r, detail="test", policy="default", effect=effect) for r in rules],
        policy="default",
        policy_version="sha256:" + "ab" * 32,
        decided_at=at,
    )


def trail_on(path: Path, key: str = AUDIT_KEY, clock: Clock | None = None) -> AuditTrail:
    return AuditTrail(SQLiteAudit(path), AuditKey(key.encode()), clock=clock or Clock(START))


def reader(path: Path, key: str = AUDIT_KEY) -> AuditTrail:
    """The log opened read-only, as ``guardrail audit verify`` does (any key may read)."""
    return AuditTrail(SQLiteAudit(path, read_only=True), AuditKey(key.encode()))


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def fill(trail: AuditTrail, days: int) -> list[str]:
    """One decision a day from START; returns their ids."""
    made = []
    for day in range(days):
        d = decision(START + timedelta(days=day))
        run(trail.record_decision("acme", request(), d))
        made.append(d.decision_id)
    return made


@pytest.fixture
def audit_db(tmp_path: Path) -> Path:
    return tmp_path / "audit.db"


@pytest.fixture
def env_key(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("GUARDRAIL_AUDIT_KEY", AUDIT_KEY)
    yield


def test_records_link_into_one_chain(audit_db: Path) -> None:
    trail = trail_on(audit_db)
    fill(trail, 4)
    rows = trail.backend.page(EVERYTHING, limit=10)
    assert [r.seq for r in rows] == [1, 2, 3, 4]
    assert rows[0].prev_hash == GENESIS_HASH
    for before, after in pairwise(rows):
        assert after.prev_hash == before.hash
    for row in rows:
        assert row.hash == trail.key.chain_hash(row.seq, row.prev_hash, canonical_json(row.body))
    result = run(trail.verify())
    assert result.ok and result.checked == 4 and result.head_hash == rows[-1].hash


def test_records_are_append_only(audit_db: Path) -> None:
    fill(trail_on(audit_db), 2)
    db = sqlite3.connect(audit_db)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("UPDATE audit_records SET verdict = 'allow' WHERE seq = 1")
    with pytest.raises(sqlite3.DatabaseError, match="only by a purge"):
        db.execute("DELETE FROM audit_records WHERE seq = 1")


def tamper(path: Path, sql: str, *params: Any) -> None:
    """What someone with the file can do: drop the guards and change a record."""
    db = sqlite3.connect(path)
    db.execute("DROP TRIGGER IF EXISTS audit_records_no_update")
    db.execute("DROP TRIGGER IF EXISTS audit_records_no_delete")
    db.execute(sql, params)
    db.commit()
    db.close()


def test_tampering_with_a_gateway_record_is_named(tmp_path: Path, clock: Clock) -> None:
    """Decisions through the real API; one stored record changed with sqlite3; both the
    CLI and the HTTP verification name exactly that record."""
    settings = Settings(api_key=API_KEY, db=str(tmp_path / "state.db"), audit_key=AUDIT_KEY)
    made = []
    with TestClient(create_app(settings, clock=clock)) as client:
        for i in range(5):
            made.append(outreach(client, "maestro", f"user-{i}")["decision_id"])
    audit_db = tmp_path / "state-audit.db"  # beside the state database
    assert audit_db.exists()
    ok = runner.invoke(cli, ["audit", "verify", "--db", str(audit_db)], env=key_env())
    assert ok.exit_code == 0 and "ok: 6 records verified" in ok.output  # + policy at start-up

    db = sqlite3.connect(audit_db)
    (seq, body) = db.execute(
        "SELECT seq, body FROM audit_records WHERE id = ?", (made[2],)
    ).fetchone()
    db.close()
    forged = json.loads(body)
    forged["verdict"] = "allow"
    tamper(audit_db, "UPDATE audit_records SET body = ? WHERE seq = ?", json.dumps(forged), seq)

    bad = runner.invoke(cli, ["audit", "verify", "--db", str(audit_db)], env=key_env())
    assert bad.exit_code == 1
    assert f"BROKEN at record seq {seq} (id {made[2]})" in bad.output
    assert "hash does not match" in bad.output

    with TestClient(create_app(settings, clock=clock)) as client:
        result = client.get("/v1/audit/verify", headers=bearer(ADMIN_KEY)).json()
    assert not result["ok"] and result["checked"] == seq - 1
    assert result["first_bad"] == {
        "seq": seq,
        "id": made[2],
        "problem": KEYED_MISMATCH,
    }


def key_env() -> dict[str, str]:
    return {"GUARDRAIL_AUDIT_KEY": AUDIT_KEY}


def test_changed_columns_and_removed_records_are_named(audit_db: Path) -> None:
    made = fill(trail_on(audit_db), 5)
    tamper(audit_db, "UPDATE audit_records SET verdict = 'allow' WHERE seq = 2")
    result = run(trail_on(audit_db).verify())
    assert not result.ok and (result.bad_seq, result.bad_id) == (2, made[1])
    assert result.problem == "indexed column(s) verdict differ from the hashed content"

    tamper(audit_db, "UPDATE audit_records SET verdict = 'block' WHERE seq = 2")
    assert run(trail_on(audit_db).verify()).ok
    tamper(audit_db, "DELETE FROM audit_records WHERE seq = 3")
    result = run(trail_on(audit_db).verify())
    assert not result.ok and (result.bad_seq, result.bad_id) == (4, made[3])
    assert result.problem == "expected seq 3 next: records 3..3 are missing"

    # A record rewritten with a fresh hash (even the keyed one) still breaks the link after it.
    path2 = audit_db.with_name("two.db")
    made = fill(trail_on(path2), 3)
    row = trail_on(path2).backend.page(EVERYTHING, limit=1, after_seq=1)[0]
    body = {**row.body, "verdict": "allow"}
    tamper(
        path2,
        "UPDATE audit_records SET body = ?, verdict = 'allow', hash = ? WHERE seq = 2",
        json.dumps(body),
        AuditKey(AUDIT_KEY.encode()).chain_hash(2, row.prev_hash, canonical_json(body)),
    )
    result = run(trail_on(path2).verify())
    assert (result.bad_seq, result.bad_id) == (3, made[2])
    assert result.problem == "prev_hash does not match the hash of the record before it"


def test_purge_leaves_a_signed_checkpoint_the_rest_verifies_from(audit_db: Path) -> None:
    clock = Clock(START + timedelta(days=30))
    trail = trail_on(audit_db, clock=clock)
    made = fill(trail, 10)
    cut = START + timedelta(days=4)  # days 0..3 go
    checkpoint = run(trail.purge(cut, actor="test"))
    assert checkpoint is not None
    assert checkpoint.body["through_seq"] == 4 and checkpoint.body["purged"] == 4
    assert checkpoint.body["purged_total"] == 4 and checkpoint.body["prev_signature"] is None
    remaining = trail.backend.page(EVERYTHING, limit=100)
    assert [r.id for r in remaining[:6]] == made[4:]
    assert remaining[-1].type == "purge" and remaining[-1].body["purged"] == 4
    assert checkpoint.last_hash == remaining[0].prev_hash

    result = run(trail.verify())
    assert result.ok and result.checked == 7
    assert result.checkpoint is not None and result.checkpoint["through_seq"] == 4
    assert run(trail.purge(cut)) is None  # nothing older is left

    second = run(trail.purge(START + timedelta(days=6)))
    assert second is not None and second.body["purged_total"] == 6
    assert second.body["prev_signature"] == checkpoint.signature
    assert run(trail.verify()).ok
    # New records continue the chain after a purge.
    run(trail.record_decision("acme", request(), decision(START + timedelta(days=40))))
    assert run(trail.verify()).ok

    # The checkpoint is signed: changing its count, or the key, is caught.
    db = sqlite3.connect(audit_db)
    body = json.loads(db.execute("SELECT body FROM audit_checkpoints WHERE through_seq = 6")
                      .fetchone()[0])  # fmt: skip
    db.close()
    tamper(
        audit_db,
        "UPDATE audit_checkpoints SET body = ? WHERE through_seq = 6",
        json.dumps({**body, "purged": 1}),
    )
    broken = run(trail_on(audit_db).verify())
    assert not broken.ok and broken.bad_seq is None
    assert broken.problem == (
        "checkpoint through seq 6: signature does not match its content (checkpoint altered)"
    )
    with pytest.raises(AuditIntegrityError):
        run(trail_on(audit_db).purge(START + timedelta(days=8)))
    tamper(
        audit_db, "UPDATE audit_checkpoints SET body = ? WHERE through_seq = 6", json.dumps(body)
    )
    other_key = run(reader(audit_db, key="a-different-key-0123456789").verify())
    assert not other_key.ok and "which is not configured" in str(other_key.problem)


def test_purge_cli(audit_db: Path, env_key: None) -> None:
    fill(trail_on(audit_db), 5)
    out = runner.invoke(cli, ["audit", "purge", "--before", "2026-01-12", "--db", str(audit_db)])
    assert out.exit_code == 0, out.output
    assert "purged 2 records through seq 2" in out.output
    check = runner.invoke(cli, ["audit", "verify", "--db", str(audit_db), "--json"])
    result = json.loads(check.output)
    assert check.exit_code == 0 and result["ok"] and result["checkpoint"]["through_seq"] == 2
    again = runner.invoke(cli, ["audit", "purge", "--before", "2026-01-12", "--db", str(audit_db)])
    assert again.exit_code == 0 and "nothing to purge" in again.output


def test_first_start_writes_a_key_file_apart_from_the_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """No key configured: the first start writes a key file (0600) where the settings say,
    never into the log; later starts read it; a start with a key the log was not sealed
    with is refused rather than leaving a chain no key verifies."""
    caplog.set_level(logging.WARNING, logger="guardrail.audit")
    path = str(tmp_path / "db" / "audit.db")
    (tmp_path / "db").mkdir()
    key_file = tmp_path / "keys" / "guardrail-audit.key"
    settings = Settings(audit_db=path, audit_key_file=key_file)
    first = AuditTrail.open(audit_options(settings))
    assert f"generated a new audit key in {key_file}" in caplog.text
    assert key_file.stat().st_mode & 0o777 == 0o600
    pseudonym = first.pseudonym("acme", "ana")
    run(first.record_decision("acme", request(), decision(START)))
    run(first.close())
    db = sqlite3.connect(path)
    assert db.execute("SELECT COUNT(*) FROM audit_meta WHERE key = 'pseudonym_key'").fetchone() == (
        0,
    )
    db.close()
    secret = bytes.fromhex(json.loads(key_file.read_text())["current"])
    assert secret.hex() not in (tmp_path / "db" / "audit.db").read_bytes().hex()

    caplog.clear()
    again = AuditTrail.open(audit_options(settings))
    assert "generated" not in caplog.text
    assert again.pseudonym("acme", "ana") == pseudonym  # the same key, from the file
    assert again.pseudonym("globex", "ana") != pseudonym  # tenants cannot join trails
    assert run(again.verify()).ok
    run(again.close())

    # Another key than the log's: refused at start (the old gateway only warned).
    with pytest.raises(AuditUnavailable, match="not configured"):
        AuditTrail.open(audit_options(Settings(audit_db=path, audit_key=AUDIT_KEY)))
    # A file open to others is refused too.
    key_file.chmod(0o644)
    with pytest.raises(AuditUnavailable, match="chmod 600"):
        AuditTrail.open(audit_options(settings))
    key_file.chmod(0o600)
    assert AUDIT_KEY not in caplog.text and secret.hex() not in caplog.text


def test_default_paths(tmp_path: Path) -> None:
    from guardrail.config import audit_db_path

    assert audit_db_path(Settings()) == "guardrail-audit.db"
    assert audit_db_path(Settings(db="/srv/state.db")) == "/srv/state-audit.db"
    assert audit_db_path(Settings(db="/srv/state")) == "/srv/state-audit.db"
    assert audit_db_path(Settings(db=":memory:")) == ":memory:"
    assert audit_db_path(Settings(audit_db="/x/a.db", db="/srv/state.db")) == "/x/a.db"
    with pytest.raises(ValueError, match="one audit log"):
        Settings(audit_db="/x/a.db", audit_url="postgresql://db/audit")


def test_redaction_hook(audit_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # No PII pipeline loaded in the process: no way to be sure, so no text is stored.
    monkeypatch.setattr("guardrail.audit.redact.loaded_pii", lambda: None)
    assert run(redact(TEXT, tenant="acme", bot="maestro")) is None
    trail = trail_on(audit_db)
    allowed = decision(START, Verdict.ALLOW, ())
    stored = run(trail.record_decision("acme", request(), allowed))
    assert stored.body["delivered_text"] is None and stored.body["delivered_hmac"]

    async def masks(text: str, *, tenant: str, bot: str, locale: str | None = None) -> str | None:
        return "[REDACTED] " + str(len(text))

    trail.redactor = masks
    later = decision(START + timedelta(hours=1), Verdict.ALLOW, ())
    stored = run(trail.record_decision("acme", request(), later))
    assert stored.body["delivered_text"] == f"[REDACTED] {len(TEXT)}"


def test_query_export_and_report_cli(audit_db: Path, env_key: None, tmp_path: Path) -> None:
    trail = trail_on(audit_db)
    run(trail.record_decision("acme", request(user="ana"), decision(START)))
    run(trail.record_decision("acme", request(user="bob"), decision(START, Verdict.ALLOW, ())))
    run(trail.record_decision("globex", request(user="ana"), decision(START + timedelta(1))))
    db = ["--db", str(audit_db)]

    out = runner.invoke(cli, ["audit", "query", *db, "--tenant", "acme", "--user", "ana"])
    assert out.exit_code == 0, out.output
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert [(r["tenant"], r["verdict"]) for r in rows] == [("acme", "block")]
    out = runner.invoke(cli, ["audit", "query", *db, "--verdict", "block", "--limit", "1"])
    assert len(out.stdout.splitlines()) == 1 and "more: --cursor" in out.stderr
    assert runner.invoke(cli, ["audit", "query", *db, "--user", "ana"]).exit_code == 2

    target = tmp_path / "out.csv"
    out = runner.invoke(cli, ["audit", "export", *db, "--format", "csv", "--out", str(target)])
    assert out.exit_code == 0 and "3 records written" in out.stderr
    assert len(target.read_text().splitlines()) == 4
    out = runner.invoke(cli, ["audit", "export", *db, "--tenant", "globex", "--type", "all"])
    types = [json.loads(line)["type"] for line in out.stdout.splitlines()]
    assert types == ["decision"]

    out = runner.invoke(cli, ["audit", "report", "sb243", *db, "--year", "2026"])
    assert out.exit_code == 0, out.output
    report = json.loads(out.stdout)
    assert report["crisis_referrals"]["total"] == 0 and "crisis_resources" in report["note"]
    assert "later issue" not in report["note"]  # a regulator's document, no development notes
    assert runner.invoke(cli, ["audit", "report", "nope", *db]).exit_code == 2
