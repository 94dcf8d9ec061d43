"""The keyed chain: HMAC hashes an editor without the key cannot recompute, old plain
logs, signed heads to publish, and the read-only ``guardrail audit`` commands. (Every
tampering case on both backends: ``test_audit_tamper.py``.)"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from guardrail.audit import AuditTrail, AuditUnavailable
from guardrail.audit.keys import KeyFile
from guardrail.audit.pseudonym import AuditKey
from guardrail.audit.records import canonical_json, chain_hash, chain_hash_text
from guardrail.audit.sqlite import SQLiteAudit
from guardrail.cli import app as cli
from guardrail.config import Settings, load_settings
from guardrail.gateway import audit_options
from guardrail.models import Decision, Kind, OutreachRequest, Verdict
from tests.audit_support import AUDIT_KEY, KEYED_MISMATCH, TEXT
from tests.conftest import REDIS_URL

runner = CliRunner()
START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
OTHER_KEY = "a-different-audit-key-987654321"


def trail_on(path: Path, key: str = AUDIT_KEY) -> AuditTrail:
    return AuditTrail(SQLiteAudit(path), AuditKey(key.encode()))


def reader(path: Path, key: str = AUDIT_KEY) -> AuditTrail:
    return AuditTrail(SQLiteAudit(path, read_only=True), AuditKey(key.encode()))


def old_log(path: Path, n: int, *, key: AuditKey | None = None, keep_key: bool = False) -> None:
    """A log as releases before signed heads wrote it (schema 1, no head row): plain
    SHA-256 records, or ``hmac:<hex>`` ones under ``key``, that key kept in the log's meta
    table when ``keep_key`` (the old default with no key configured)."""
    from guardrail.audit.sqlite import _SCHEMA, _statements

    db = sqlite3.connect(path)
    for statement in _statements(_SCHEMA):
        if "audit_head" not in statement:
            db.execute(statement)
    db.execute("PRAGMA user_version = 1")
    prev = "0" * 64
    for i in range(n):
        at = (START + timedelta(hours=i)).isoformat()
        body = {"type": "decision", "id": f"old-{i}", "ts": at, "tenant": "acme",
                "verdict": "block", "rules": ["user_first"]}  # fmt: skip
        text = canonical_json(body)
        digest = key.chain_hash_v2(i + 1, prev, text) if key else chain_hash_text(i + 1, prev, text)
        db.execute(
            "INSERT INTO audit_records (seq, id, type, ts, tenant, verdict, rules, body,"
            " prev_hash, hash) VALUES (?, ?, 'decision', ?, 'acme', 'block', '|user_first|',"
            " ?, ?, ?)",
            (i + 1, body["id"], (START + timedelta(hours=i)).timestamp(), text, prev, digest),
        )
        prev = digest
    if keep_key and key is not None:
        db.execute(
            "INSERT INTO audit_meta (key, value) VALUES ('pseudonym_key', ?)",
            (key._secret.hex(),),
        )
    db.commit()
    db.close()


def fill(trail: AuditTrail, n: int, *, tenant: str = "acme", first: int = 0) -> list[str]:
    made = []
    for i in range(first, first + n):
        req = OutreachRequest(bot_id="maestro", user_id=f"u{i}", channel="sms", text=TEXT)
        d = Decision(
            decision_id=f"d-{tenant}-{i}",
            verdict=Verdict.BLOCK,
            text=None,
            kind=Kind.PROACTIVE,
            policy="default",
            policy_version="sha256:" + "ab" * 32,
            decided_at=START + timedelta(hours=i),
        )
        asyncio.run(trail.record_decision(tenant, req, d))
        made.append(d.decision_id)
    return made


def rows(path: Path) -> list[tuple[Any, ...]]:
    db = sqlite3.connect(path)
    try:
        return db.execute(
            "SELECT seq, body, prev_hash, hash FROM audit_records ORDER BY seq"
        ).fetchall()
    finally:
        db.close()


def rewrite_plain(path: Path, edit: Any) -> None:
    """What someone who can write the file but lacks the key does: edit a body, then
    recompute every hash with plain SHA-256 (the version 1 chain) so all links hold."""
    db = sqlite3.connect(path)
    db.execute("DROP TRIGGER IF EXISTS audit_records_no_update")
    prev = "0" * 64
    for seq, body, _, _ in db.execute(
        "SELECT seq, body, prev_hash, hash FROM audit_records ORDER BY seq"
    ).fetchall():
        doc = edit(json.loads(body))
        text = canonical_json(doc)
        digest = chain_hash_text(seq, prev, text)
        db.execute(
            "UPDATE audit_records SET body = ?, prev_hash = ?, hash = ?, verdict = ? WHERE seq = ?",
            (text, prev, digest, doc.get("verdict"), seq),
        )
        prev = digest
    db.commit()
    db.close()


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def cli_run(*args: str, key: str = AUDIT_KEY) -> Any:
    return runner.invoke(cli, ["audit", *args], env={"GUARDRAIL_AUDIT_KEY": key})


def no_key_env(tmp_path: Path) -> dict[str, str]:
    """No key configured anywhere (a key file path that does not exist)."""
    return {"GUARDRAIL_AUDIT_KEY_FILE": str(tmp_path / "no-such.key")}


def test_records_are_hmac_sealed_and_a_plain_recomputed_chain_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "audit.db"
    trail = trail_on(path)
    made = fill(trail, 4)
    key = AuditKey(AUDIT_KEY.encode())
    for seq, body, prev, sealed in rows(path):
        assert sealed == key.chain_hash(seq, prev, body)
        assert sealed.startswith(f"hmac:{key.key_id}:")  # every record names its key
        assert sealed != "hmac:" + chain_hash(seq, prev, json.loads(body))
    assert asyncio.run(trail.verify()).ok

    # The tamper test redone: one verdict changed, every hash recomputed (plain SHA-256).
    def allow(doc: dict[str, Any]) -> dict[str, Any]:
        return {**doc, "verdict": "allow"} if doc["id"] == made[1] else doc

    rewrite_plain(path, allow)
    broken = asyncio.run(reader(path).verify())
    assert not broken.ok and broken.bad_seq == 4
    assert "head row" in str(broken.problem)
    # ...and without the head row (dropped as well), the plain head is still refused.
    db = sqlite3.connect(path)
    db.execute("DELETE FROM audit_head")
    db.commit()
    db.close()
    broken = asyncio.run(reader(path).verify())
    assert not broken.ok and "no signed head row" in str(broken.problem)
    # (--legacy takes an old log as it is, and so proves nothing against such a rewrite.)
    assert asyncio.run(reader(path).verify(legacy=True)).ok
    out = cli_run("verify", "--db", str(path))
    assert out.exit_code == 1 and "no signed head row" in out.output


def test_a_wrong_key_fails_verification(tmp_path: Path) -> None:
    path = tmp_path / "audit.db"
    fill(trail_on(path), 3)
    wrong = asyncio.run(reader(path, OTHER_KEY).verify())
    assert not wrong.ok and "not configured" in str(wrong.problem)
    assert cli_run("verify", "--db", str(path), key=OTHER_KEY).exit_code == 1
    assert cli_run("verify", "--db", str(path)).exit_code == 0


def test_old_plain_logs_still_verify_and_are_bound_by_the_first_keyed_record(
    tmp_path: Path,
) -> None:
    path = tmp_path / "audit.db"
    old_log(path, 3)  # what the gateway wrote before the keyed chain

    as_is = asyncio.run(reader(path).verify())
    assert not as_is.ok and "no signed head row" in str(as_is.problem)
    legacy = asyncio.run(reader(path).verify(legacy=True))
    assert legacy.ok and legacy.checked == 3 and legacy.unkeyed == 3
    out = cli_run("verify", "--db", str(path), "--legacy")
    assert out.exit_code == 0 and "3 with plain SHA-256 hashes" in out.output

    # The upgraded gateway adopts the head (a signed head row), binds the old records at
    # start (its policy load is appended even when unchanged) and appends keyed records.
    trail = trail_on(path)
    for _ in range(2):
        trail.record_policy_reload_sync(
            name="default", version="sha256:1", source="test", only_if_changed=True
        )
    assert asyncio.run(trail.verify()).ok
    fill(trail, 2, first=3)
    upgraded = asyncio.run(reader(path).verify())
    assert upgraded.ok and upgraded.checked == 6 and upgraded.unkeyed == 3

    # An old record edited and the plain prefix recomputed: the first keyed record's
    # HMAC covers the old head, so the edit shows.
    db = sqlite3.connect(path)
    db.execute("DROP TRIGGER IF EXISTS audit_records_no_update")
    prev = "0" * 64
    for seq, body, _, _ in rows(path)[:3]:
        doc = json.loads(body)
        doc["verdict"] = "allow"
        digest_ = chain_hash_text(seq, prev, canonical_json(doc))
        db.execute(
            "UPDATE audit_records SET body = ?, verdict = 'allow', prev_hash = ?, hash = ? "
            "WHERE seq = ?",
            (canonical_json(doc), prev, digest_, seq),
        )
        prev = digest_
    db.commit()
    db.close()
    caught = asyncio.run(reader(path).verify())
    assert not caught.ok and caught.bad_seq == 4
    assert caught.problem == "prev_hash does not match the hash of the record before it"
    db = sqlite3.connect(path)  # ...and relinking the keyed record does not help
    db.execute("DROP TRIGGER IF EXISTS audit_records_no_update")
    db.execute("UPDATE audit_records SET prev_hash = ? WHERE seq = 4", (prev,))
    db.commit()
    db.close()
    caught = asyncio.run(reader(path).verify())
    assert not caught.ok and caught.bad_seq == 4 and caught.problem == KEYED_MISMATCH

    # A plain record after keyed ones is a downgrade.
    downgraded = tmp_path / "down.db"
    fill(trail_on(downgraded), 2)
    last = rows(downgraded)[-1]
    body = canonical_json({"type": "decision", "id": "forged", "ts": START.isoformat(),
                           "tenant": "acme", "rules": []})  # fmt: skip
    db = sqlite3.connect(downgraded)
    db.execute(
        "INSERT INTO audit_records (seq, id, type, ts, tenant, rules, body, prev_hash, hash)"
        " VALUES (3, 'forged', 'decision', ?, 'acme', '|', ?, ?, ?)",
        (START.timestamp(), body, last[3], chain_hash_text(3, last[3], body)),
    )
    db.commit()
    db.close()
    result = asyncio.run(reader(downgraded).verify(legacy=True))
    assert not result.ok and result.bad_seq == 3 and "after keyed records" in str(result.problem)


def test_signed_head_published_and_checked_later(tmp_path: Path) -> None:
    path = tmp_path / "audit.db"
    fill(trail_on(path), 3)
    out = cli_run("head", "--db", str(path))
    assert out.exit_code == 0, out.output
    head = json.loads(out.stdout)
    assert head["seq"] == 3 and head["hash"] == rows(path)[-1][3]
    assert set(head) == {"seq", "hash", "time", "key_id", "signature"}
    published = tmp_path / "head.json"
    published.write_text(out.stdout)

    fill(trail_on(path), 2, first=3)  # the log grows past the published head: fine
    ok = cli_run("verify", "--db", str(path), "--head", str(published))
    assert ok.exit_code == 0 and "holds the published head seq 3" in ok.output
    assert cli_run("verify", "--db", str(path), "--head", out.stdout).exit_code == 0

    forged = {**head, "seq": 2}
    bad = cli_run("verify", "--db", str(path), "--head", json.dumps(forged))
    assert bad.exit_code == 1 and "signature does not match" in bad.output
    other = cli_run("verify", "--db", str(path), "--head", str(published), key=OTHER_KEY)
    assert other.exit_code == 1 and "another audit key" in other.output
    assert cli_run("verify", "--db", str(path), "--head", "{}").exit_code == 2

    # The tail cut off (the records since the head, and the head itself): the signed head
    # row shows it even without the published head, and the published head too.
    db = sqlite3.connect(path)
    db.execute("DROP TRIGGER audit_records_no_delete")
    db.execute("DELETE FROM audit_records WHERE seq >= 3")
    db.commit()
    db.close()
    cut = cli_run("verify", "--db", str(path))
    assert cut.exit_code == 1 and "records were cut off" in cut.output
    cut = cli_run("verify", "--db", str(path), "--head", str(published))
    assert cut.exit_code == 1 and "records were cut off" in cut.output


def test_read_commands_never_create_or_change_a_log(tmp_path: Path) -> None:
    missing = tmp_path / "typo-audit.db"
    for command in (
        ["verify"], ["head"], ["query"], ["export"], ["report", "sb243"]
    ):  # fmt: skip
        out = cli_run(*command, "--db", str(missing))
        assert out.exit_code == 2, command
        assert "no such file" in out.output and not missing.exists()

    # The state database: no audit log in it, and it is left as it was.
    state = tmp_path / "state.db"
    db = sqlite3.connect(state)
    db.execute("CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT)")
    db.commit()
    db.close()
    before = digest(state)
    for command in (["verify"], ["export"], ["query"], ["report", "sb243"]):
        out = cli_run(*command, "--db", str(state))
        assert out.exit_code == 2 and "holds no audit log" in out.output, command
    assert digest(state) == before

    # A real log: verified, queried, exported, reported, and not one byte written.
    path = tmp_path / "audit.db"
    trail = trail_on(path)
    fill(trail, 3)
    asyncio.run(trail.close())
    before, files = digest(path), sorted(tmp_path.iterdir())
    for command in (["verify"], ["head"], ["query"], ["export"], ["report", "sb243"]):
        out = cli_run(*command, "--db", str(path))
        assert out.exit_code == 0, (command, out.output)
    assert digest(path) == before and sorted(tmp_path.iterdir()) == files

    # While a gateway has it open (its WAL holds the newest records), they are read too.
    writer = trail_on(path)
    fill(writer, 1, first=3)
    out = cli_run("verify", "--db", str(path))
    assert out.exit_code == 0 and "ok: 4 records verified" in out.output
    asyncio.run(writer.close())
    # No key configured and none kept in the log: said so, not a key made up.
    out = runner.invoke(cli, ["audit", "verify", "--db", str(path)], env=no_key_env(tmp_path))
    assert out.exit_code == 2 and "GUARDRAIL_AUDIT_KEY" in out.output
    assert not (tmp_path / "no-such.key").exists()


def test_replicas_on_redis_need_a_shared_audit_log() -> None:
    with pytest.raises(ValueError, match="needs a shared audit log"):
        Settings(redis_url=REDIS_URL)
    Settings(redis_url=REDIS_URL, audit_url="postgresql://127.0.0.1/test")
    Settings(redis_url=REDIS_URL, audit_db="/srv/shared-audit.db")
    Settings(redis_url=REDIS_URL, audit_per_replica=True)
    refused = runner.invoke(cli, ["serve", "--redis", REDIS_URL], env={})
    assert refused.exit_code == 2 and "shared audit log" in refused.output


def test_a_key_kept_in_an_old_log_is_moved_out_and_the_log_rotates(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Releases before the key file kept a generated key in the log's meta table. Read-only
    commands use it only when told to; the first gateway start moves it to a new key file
    (as a previous key), deletes it from the log and rotates the chain to a fresh key."""
    path = tmp_path / "audit.db"
    kept = AuditKey(b"k" * 32)
    old_log(path, 3, key=kept, keep_key=True)
    env = no_key_env(tmp_path)
    refused = runner.invoke(cli, ["audit", "verify", "--db", str(path)], env=env)
    assert refused.exit_code == 2 and "--legacy-key-in-log" in refused.output
    caplog.set_level(logging.WARNING, logger="guardrail.audit")
    opted = runner.invoke(
        cli, ["audit", "verify", "--db", str(path), "--legacy-key-in-log"], env=env
    )
    assert opted.exit_code == 0 and "ok: 3 records verified" in opted.output
    assert "proves nothing" in caplog.text or "shows accidental damage only" in caplog.text

    key_file = tmp_path / "etc" / "guardrail-audit.key"
    settings = Settings(audit_db=str(path), audit_key_file=key_file)
    trail = AuditTrail.open(audit_options(settings))
    assert "moved to" in caplog.text and str(key_file) in caplog.text
    ring = KeyFile(key_file).load()
    assert ring.previous == (kept,) and ring.current != kept
    assert trail.backend.stored_meta("pseudonym_key") is None
    fill(trail, 1, first=3)
    asyncio.run(trail.close())
    types = [json.loads(body)["type"] for _, body, _, _ in rows(path)]
    assert types == ["decision"] * 3 + ["key_rotation", "decision"]
    out = runner.invoke(
        cli, ["audit", "verify", "--db", str(path)], env={"GUARDRAIL_AUDIT_KEY_FILE": str(key_file)}
    )
    assert out.exit_code == 0 and "ok: 5 records verified" in out.output


def test_the_key_file_goes_beside_the_config_or_in_the_working_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("GUARDRAIL_AUDIT_KEY_FILE", raising=False)
    config = tmp_path / "etc" / "guardrail.yaml"
    config.parent.mkdir()
    config.write_text("db: state.db\n", encoding="utf-8")
    beside = audit_options(load_settings(config))
    assert beside.key_file == str(config.parent / "guardrail-audit.key")
    assert beside.db_path == "state-audit.db"  # the log stays where the state is

    caplog.set_level(logging.WARNING, logger="guardrail.audit")
    monkeypatch.chdir(tmp_path)
    options = audit_options(load_settings(None, audit_db=str(tmp_path / "data" / "a.db")))
    (tmp_path / "data").mkdir()
    assert options.key_file == "guardrail-audit.key"
    trail = AuditTrail.open(options)
    asyncio.run(trail.close())
    assert (tmp_path / "guardrail-audit.key").stat().st_mode & 0o777 == 0o600
    assert f"generated a new audit key in {tmp_path / 'guardrail-audit.key'}" in caplog.text


def test_the_gateway_publishes_its_head_and_verify_checks_the_log_against_it(
    tmp_path: Path,
) -> None:
    from fastapi.testclient import TestClient

    from guardrail.app import create_app
    from tests.audit_support import ADMIN_KEY, bearer, outreach
    from tests.conftest import API_KEY

    witness = tmp_path / "witness" / "head.json"
    config = tmp_path / "guardrail.yaml"
    config.write_text(
        f"db: {tmp_path / 'state.db'}\naudit_key: {AUDIT_KEY}\napi_key: {API_KEY}\n"
        f"audit_witness: {{file: {witness}, interval: 1h}}\n",
        encoding="utf-8",
    )
    settings = load_settings(config)
    with TestClient(create_app(settings)) as client:
        for _ in range(500):  # published at start, in the background: the policy load
            if witness.exists():
                break
            time.sleep(0.01)
        for i in range(3):
            outreach(client, "maestro", f"u{i}")
        live = client.get("/v1/audit/verify", headers=bearer(ADMIN_KEY)).json()
    assert live["ok"] and live["published"]["seq"] == 1
    head = json.loads(witness.read_text())  # ...and at shutdown
    assert head["seq"] == 4 and set(head) == {"seq", "hash", "time", "key_id", "signature"}
    path = tmp_path / "state-audit.db"
    out = runner.invoke(cli, ["audit", "verify", "--config", str(config)])
    assert out.exit_code == 0 and "holds the published head seq 4" in out.output

    # Rolled back to the log as it was after two decisions: consistent in itself, but
    # not with the head published since.
    then = rows(path)[2]
    db = sqlite3.connect(path)
    db.execute("DROP TRIGGER audit_records_no_delete")
    db.execute("DELETE FROM audit_records WHERE seq > 3")
    key = AuditKey(AUDIT_KEY.encode())
    db.execute(
        "UPDATE audit_head SET seq = 3, hash = ?, signature = ?",
        (then[3], key.sign_head_row(3, then[3])),  # as an older copy of the file held it
    )
    db.commit()
    db.close()
    out = runner.invoke(cli, ["audit", "verify", "--config", str(config)])
    assert out.exit_code == 1 and "records were cut off" in out.output
    witness.unlink()
    out = runner.invoke(cli, ["audit", "verify", "--config", str(config)])
    assert out.exit_code == 0 and "no published head yet" in out.output


def test_workers_starting_together_share_the_key_one_of_them_wrote(tmp_path: Path) -> None:
    """``serve --workers N`` with no key: the workers race to write the key file; one
    does, the others use it (none fails, none writes a second key)."""
    from concurrent.futures import ThreadPoolExecutor

    path = tmp_path / "audit.db"
    key_file = tmp_path / "guardrail-audit.key"
    options = audit_options(Settings(audit_db=str(path), audit_key_file=key_file))
    with ThreadPoolExecutor(4) as pool:
        trails = list(pool.map(lambda _: AuditTrail.open(options), range(4)))
    assert len({t.key.key_id for t in trails}) == 1
    for trail in trails:
        asyncio.run(trail.close())
    first, created = KeyFile.create(key_file)
    assert not created and first.load().current == trails[0].key


def test_a_kms_hook_provides_the_key(tmp_path: Path) -> None:
    key_file = tmp_path / "guardrail-audit.key"
    settings = Settings(
        audit_db=str(tmp_path / "audit.db"),
        audit_key_file=key_file,
        audit_key_provider="tests.audit_support:kms_provider",
    )
    trail = AuditTrail.open(audit_options(settings))
    assert (
        trail.key == AuditKey(b"kms-held-key-0123456789abcdef")
        and trail.keys.where == "the test KMS"
    )
    fill(trail, 1)
    asyncio.run(trail.close())
    assert not key_file.exists()  # nothing written: the KMS holds the key
    bad = Settings(audit_db=str(tmp_path / "audit.db"), audit_key_provider="tests.nowhere:kms")
    with pytest.raises(AuditUnavailable, match="cannot be loaded"):
        AuditTrail.open(audit_options(bad))
