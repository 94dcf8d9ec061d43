"""Every way someone holding the log (the SQLite file, or the PostgreSQL database) can
change it, on both backends: a record edited, deleted, reordered; the tail cut off; the
log emptied; a chain resealed with a key planted in the log; the key rotated, for real and
forged; and a rollback to an older copy, which only the published head can show."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from typer.testing import CliRunner

from guardrail.audit import AuditTrail, AuditUnavailable
from guardrail.audit.backend import AuditBackend
from guardrail.audit.keys import KeyFile, KeyRing
from guardrail.audit.postgres import PostgresAudit
from guardrail.audit.pseudonym import AuditKey
from guardrail.audit.records import GENESIS_HASH, canonical_json
from guardrail.audit.sqlite import SQLiteAudit
from guardrail.audit.witness import Witness
from guardrail.cli import app as cli
from guardrail.models import Decision, Kind, OutreachRequest, Verdict
from tests.audit_support import AUDIT_KEY, KEYED_MISMATCH, TEXT

runner = CliRunner()
START = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)
KEY = AuditKey(AUDIT_KEY.encode())
PLANTED = AuditKey(b"the-attackers-own-key-0123456789")


@dataclass
class Log:
    """One audit log under test, and what its holder can do to it with plain SQL."""

    kind: str
    where: str
    """A SQLite path, or a PostgreSQL URL."""

    def backend(self, *, read_only: bool = False) -> AuditBackend:
        if self.kind == "sqlite":
            return SQLiteAudit(self.where, read_only=read_only)
        return PostgresAudit(self.where, read_only=read_only)

    def writer(self, keys: AuditKey | KeyRing = KEY) -> AuditTrail:
        return AuditTrail(self.backend(), keys, clock=lambda: START)

    def verify(self, keys: AuditKey | KeyRing = KEY, **options: Any) -> Any:
        trail = AuditTrail(self.backend(read_only=True), keys)
        try:
            return asyncio.run(trail.verify(**options))
        finally:
            asyncio.run(trail.close())

    def sql(self, statement: str, *params: Any) -> list[tuple[Any, ...]]:
        """Run ``statement`` (``?`` placeholders) as the log's holder: guards dropped."""
        if self.kind == "sqlite":
            db = sqlite3.connect(self.where)
            try:
                db.execute("DROP TRIGGER IF EXISTS audit_records_no_update")
                db.execute("DROP TRIGGER IF EXISTS audit_records_no_delete")
                rows = db.execute(statement, params).fetchall()
                db.commit()
                return rows
            finally:
                db.close()
        with psycopg.connect(self.where, autocommit=True) as conn:
            conn.execute("DROP TRIGGER IF EXISTS audit_records_append_only ON audit_records")
            cur = conn.execute(statement.replace("?", "%s"), params)
            return cur.fetchall() if cur.description else []

    def cli(self, *args: str, env: dict[str, str] | None = None) -> Any:
        where = ["--db", self.where] if self.kind == "sqlite" else ["--url", self.where]
        return runner.invoke(
            cli, ["audit", *args, *where], env=env or {"GUARDRAIL_AUDIT_KEY": AUDIT_KEY}
        )


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def log(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Log]:
    if request.param == "sqlite":
        yield Log("sqlite", str(tmp_path / "audit.db"))
    else:
        yield Log("postgres", request.getfixturevalue("pg_url"))


def fill(trail: AuditTrail, n: int, first: int = 0) -> list[str]:
    made = []
    for i in range(first, first + n):
        req = OutreachRequest(bot_id="maestro", user_id=f"u{i}", channel="sms", text=TEXT)
        decision = Decision(
            decision_id=f"d-{i}",
            verdict=Verdict.BLOCK,
            text=None,
            kind=Kind.PROACTIVE,
            policy="default",
            policy_version="sha256:" + "ab" * 32,
            decided_at=START + timedelta(minutes=i),
        )
        asyncio.run(trail.record_decision("acme", req, decision))
        made.append(decision.decision_id)
    return made


def written(log: Log, n: int = 5, keys: AuditKey | KeyRing = KEY) -> list[str]:
    trail = log.writer(keys)
    try:
        return fill(trail, n)
    finally:
        asyncio.run(trail.close())


def head_row(log: Log) -> tuple[Any, ...]:
    return log.sql("SELECT seq, hash, key_id, signature FROM audit_head")[0]


# ----------------------------------------------------------------------- one record


def test_an_edited_record_is_named(log: Log) -> None:
    made = written(log)
    assert log.verify().ok
    (body,) = log.sql("SELECT body FROM audit_records WHERE seq = 3")[0]
    forged = {**json.loads(body), "verdict": "allow"}
    log.sql("UPDATE audit_records SET body = ? WHERE seq = 3", canonical_json(forged))
    result = log.verify()
    assert not result.ok and (result.bad_seq, result.bad_id) == (3, made[2])
    assert result.problem == KEYED_MISMATCH
    out = log.cli("verify")
    assert out.exit_code == 1 and f"BROKEN at record seq 3 (id {made[2]})" in out.output


def test_a_deleted_record_is_named(log: Log) -> None:
    made = written(log)
    log.sql("DELETE FROM audit_records WHERE seq = 3")
    result = log.verify()
    assert not result.ok and (result.bad_seq, result.bad_id) == (4, made[3])
    assert result.problem == "expected seq 3 next: records 3..3 are missing"


def test_reordered_records_are_named(log: Log) -> None:
    written(log)
    two, three = (
        log.sql("SELECT id, body, prev_hash, hash FROM audit_records WHERE seq = ?", seq)[0]
        for seq in (2, 3)
    )
    log.sql("DELETE FROM audit_records WHERE seq IN (2, 3)")
    for seq, (rid, body, prev, digest) in ((2, three), (3, two)):
        log.sql(
            "INSERT INTO audit_records (seq, id, type, ts, tenant, bot, rules, body, prev_hash,"
            " hash, verdict, policy_version, \"user\") VALUES (?, ?, 'decision', ?, 'acme',"
            " 'maestro', '|', ?, ?, ?, 'block', ?, ?)",
            seq, rid, START.timestamp(), body, prev, digest, "sha256:" + "ab" * 32,
            json.loads(body)["user"],
        )  # fmt: skip
    result = log.verify()
    assert not result.ok and result.bad_seq == 2
    assert result.problem == "prev_hash does not match the hash of the record before it"


# ----------------------------------------------------------------------- the end of the log


def test_a_cut_tail_fails_and_nothing_is_appended_over_it(log: Log) -> None:
    written(log)
    log.sql("DELETE FROM audit_records WHERE seq >= 4")
    result = log.verify()
    assert not result.ok and "head row says it reaches seq 5" in str(result.problem)
    assert "records were cut off" in str(result.problem)
    out = log.cli("verify")
    assert out.exit_code == 1 and "records were cut off" in out.output
    # The writer will not bury the evidence under new records.
    trail = log.writer()
    with pytest.raises(AuditUnavailable, match="does not match its last record"):
        fill(trail, 1, first=9)
    asyncio.run(trail.close())
    # Pointing the head row at the cut (its hash copied, its signature not remade) fails too.
    (digest,) = log.sql("SELECT hash FROM audit_records WHERE seq = 3")[0]
    log.sql("UPDATE audit_head SET seq = 3, hash = ?", digest)
    result = log.verify()
    assert not result.ok and "head row's signature does not match" in str(result.problem)


def test_an_emptied_log_fails(log: Log) -> None:
    written(log)
    log.sql("DELETE FROM audit_records")
    result = log.verify()
    assert not result.ok and "records were cut off" in str(result.problem)
    # ...and with its metadata too (the head row, the meta table): no signed head row.
    log.sql("DELETE FROM audit_head")
    log.sql("DELETE FROM audit_meta")
    result = log.verify()
    assert not result.ok and result.checked == 0
    assert "no signed head row" in str(result.problem)
    out = log.cli("verify")
    assert out.exit_code == 1 and "ok: 0 records" not in out.output
    # A log that is really new verifies, with its signed genesis head row.
    fresh = Log(log.kind, log.where)
    log.sql("DROP TABLE audit_head")
    trail = fresh.writer()
    asyncio.run(trail.close())
    assert head_row(log)[:2] == (0, GENESIS_HASH)
    assert fresh.verify().ok


# ----------------------------------------------------------------------- keys


def test_a_chain_resealed_with_a_key_planted_in_the_log_fails(log: Log) -> None:
    """The red-team case: every record resealed with the attacker's key, the head row
    signed with it, the key planted in the log's meta table. Verification uses only the
    configured key and names the foreign one; the key in the log is trusted only on
    request, with a warning; a gateway will not start on it."""
    written(log)
    prev = GENESIS_HASH
    for seq, body in log.sql("SELECT seq, body FROM audit_records ORDER BY seq"):
        doc = {**json.loads(body), "verdict": "allow"}
        text = canonical_json(doc)
        digest = PLANTED.chain_hash(seq, prev, text)
        log.sql(
            "UPDATE audit_records SET body = ?, verdict = 'allow', prev_hash = ?, hash = ?"
            " WHERE seq = ?",
            text, prev, digest, seq,
        )  # fmt: skip
        prev = digest
    log.sql(
        "UPDATE audit_head SET hash = ?, key_id = ?, signature = ?",
        prev, PLANTED.key_id, PLANTED.sign_head_row(5, prev),
    )  # fmt: skip
    log.sql(
        "INSERT INTO audit_meta (key, value) VALUES ('pseudonym_key', ?)", PLANTED._secret.hex()
    )
    result = log.verify()
    assert not result.ok and f"key id {PLANTED.key_id}, which is not configured" in str(
        result.problem
    )
    assert log.cli("verify").exit_code == 1
    # With no key configured, the key in the log is not used: exit 2, saying why.
    bare = log.cli("verify", env={"GUARDRAIL_AUDIT_KEY_FILE": "/nonexistent/guardrail.key"})
    assert bare.exit_code == 2 and "--legacy-key-in-log" in bare.output
    # On request it is (for logs from before the key file), and proves nothing: it says so.
    legacy = runner.invoke(
        cli,
        ["audit", "verify", "--legacy-key-in-log",
         *(["--db", log.where] if log.kind == "sqlite" else ["--url", log.where])],
        env={"GUARDRAIL_AUDIT_KEY_FILE": "/nonexistent/guardrail.key"},
    )  # fmt: skip
    assert legacy.exit_code == 0, legacy.output
    # A gateway with the real key refuses the log rather than appending to it.
    with pytest.raises(AuditUnavailable, match="not configured"):
        log.writer()


def test_a_real_rotation_verifies_with_the_old_and_new_keys(
    log: Log, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key_file = tmp_path / "keys" / "audit.key"
    old = KeyFile.create(key_file)[0].load()
    written(log, 3, old)
    env = {"GUARDRAIL_AUDIT_KEY_FILE": str(key_file)}
    rotated = runner.invoke(
        cli,
        ["audit", "rotate-key",
         *(["--db", log.where] if log.kind == "sqlite" else ["--url", log.where])],
        env=env,
    )  # fmt: skip
    assert rotated.exit_code == 0, rotated.output
    assert "rotation recorded in the audit log" in rotated.output
    ring = KeyFile(key_file).load()
    assert ring.previous[0].key_id == old.current.key_id != ring.current.key_id
    assert key_file.stat().st_mode & 0o777 == 0o600
    fill_trail = log.writer(ring)
    fill(fill_trail, 2, first=3)
    asyncio.run(fill_trail.close())

    result = log.verify(ring)
    assert result.ok and result.checked == 6  # 5 decisions and the rotation
    assert result.keys == (old.current.key_id, ring.current.key_id)
    (rotation,) = log.sql("SELECT body FROM audit_records WHERE type = 'key_rotation'")
    assert json.loads(rotation[0])["from_key"] == old.current.key_id
    out = log.cli("verify", env=env)
    assert out.exit_code == 0 and "ok: 6 records verified" in out.output
    # Without the old key the old records cannot be verified; without the new, the new.
    only_new = log.verify(KeyRing(ring.current))
    assert not only_new.ok and only_new.bad_seq == 1  # the head row is fine; record 1 is not
    assert "not configured" in str(only_new.problem)
    only_old = log.verify(old)
    assert not only_old.ok and "not configured" in str(only_old.problem)
    # A process still on the old key alone refuses to append (no fork of the chain's keys).
    with pytest.raises(AuditUnavailable, match="not configured"):
        log.writer(old)


def test_a_forged_rotation_and_a_retired_key_after_it_fail(log: Log) -> None:
    """Someone who has an old, retired key appends records sealed with it after the
    rotation (or changes key without a rotation record): named."""
    new = AuditKey(b"the-next-audit-key-after-rotation")
    written(log, 2)  # sealed with KEY
    ring = KeyRing(new, (KEY,))
    trail = log.writer(ring)
    fill(trail, 1, first=2)  # the rotation record, then a record sealed with the new key
    asyncio.run(trail.close())
    assert log.verify(ring).ok
    # A record sealed with the retired key after the rotation.
    seq, digest = log.sql("SELECT seq, hash FROM audit_records ORDER BY seq DESC LIMIT 1")[0]
    body = canonical_json({"type": "decision", "id": "late", "ts": START.isoformat(),
                           "tenant": "acme", "rules": []})  # fmt: skip
    sealed = KEY.chain_hash(seq + 1, digest, body)
    log.sql(
        "INSERT INTO audit_records (seq, id, type, ts, tenant, rules, body, prev_hash, hash)"
        " VALUES (?, 'late', 'decision', ?, 'acme', '|', ?, ?, ?)",
        seq + 1, START.timestamp(), body, digest, sealed,
    )  # fmt: skip
    log.sql(
        "UPDATE audit_head SET seq = ?, hash = ?, key_id = ?, signature = ?",
        seq + 1, sealed, KEY.key_id, KEY.sign_head_row(seq + 1, sealed),
    )  # fmt: skip
    result = log.verify(ring)
    assert not result.ok and result.bad_id == "late"
    assert "no key_rotation record changed it" in str(result.problem)
    # The rotation record itself removed (the chain jumps from one key to the other).
    log.sql("DELETE FROM audit_records WHERE id = 'late'")
    log.sql("DELETE FROM audit_records WHERE type = 'key_rotation'")
    assert not log.verify(ring).ok


def test_a_restart_with_another_key_is_refused(log: Log) -> None:
    """The old gateway only warned, leaving a chain no single key verifies."""
    written(log, 2)
    with pytest.raises(AuditUnavailable, match="appending with another key"):
        log.writer(AuditKey(b"a-brand-new-key-nobody-rotated-to"))
    assert log.verify().ok


# ----------------------------------------------------------------------- rollback


def test_a_rollback_passes_alone_and_fails_against_the_published_head(
    log: Log, tmp_path: Path
) -> None:
    """An older copy of the whole log (records and head row) is consistent in itself: only
    a head published since shows it. The witness publishes one, verifying first."""
    trail = log.writer()
    fill(trail, 3)
    then = head_row(log)
    witness_file = tmp_path / "witness" / "head.json"
    witness = Witness(trail, file=witness_file)
    fill(trail, 3, first=3)
    published = asyncio.run(witness.publish())
    assert published is not None and published.seq == 6
    assert json.loads(witness_file.read_text())["seq"] == 6
    fill(trail, 1, first=6)
    again = asyncio.run(witness.publish())  # only what follows the last head is checked
    assert again is not None and again.seq == 7
    asyncio.run(trail.close())

    # Back to the copy of "then": records after it gone, the head row as it was.
    log.sql("DELETE FROM audit_records WHERE seq > ?", then[0])
    log.sql("UPDATE audit_head SET seq = ?, hash = ?, key_id = ?, signature = ?", *then)
    assert log.verify().ok  # consistent in itself
    from guardrail.audit.witness import read_head

    result = log.verify(published=read_head(witness_file))
    assert not result.ok and "records were cut off" in str(result.problem)
    # The witness will not publish over its last good head.
    trail = log.writer()
    stale = Witness(trail, file=witness_file)
    assert asyncio.run(stale.publish()) is None and stale.failures == 1
    assert json.loads(witness_file.read_text())["seq"] == 7
    asyncio.run(trail.close())
