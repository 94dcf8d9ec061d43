"""The audit trail through the HTTP API, on both state stores: what every decision and
consent change leaves behind, queries and exports, and who may read what."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from guardrail.audit import AuditUnavailable
from guardrail.gateway import Gateway
from tests.audit_support import (
    ACME_ADMIN_KEY,
    ACME_AUDITOR_KEY,
    ACME_BOT_KEY,
    ADMIN_KEY,
    AUDIT_KEY,
    GLOBEX_AUDITOR_KEY,
    TEXT,
    Json,
    bearer,
    event,
    keys,
    outreach,
    sha256,
)
from tests.conftest import Clock

MakeClient = Callable[..., TestClient]
Uid = Callable[[str], str]


def gateway_of(client: TestClient) -> Gateway:
    gateway: Gateway = client.app.state.gateway  # type: ignore[attr-defined]
    return gateway


def decisions(client: TestClient, key: str = ADMIN_KEY, **params: Any) -> Json:
    response = client.get("/v1/audit/decisions", params=params, headers=bearer(key))
    assert response.status_code == 200, response.text
    data: Json = response.json()
    return data


def ids(page: Json) -> list[str]:
    return [item["id"] for item in page["items"]]


def export(client: TestClient, key: str = ADMIN_KEY, **params: Any) -> list[Json]:
    response = client.get("/v1/audit/export", params=params, headers=bearer(key))
    assert response.status_code == 200, response.text
    return [json.loads(line) for line in response.text.splitlines()]


def test_every_decision_is_recorded_without_raw_personal_data(
    make_client: MakeClient, clock: Clock, uid: Uid
) -> None:
    client = make_client(audit_key=AUDIT_KEY)
    bot, user = uid("maestro"), uid("ana")
    blocked = outreach(client, bot, user, user={"jurisdiction": "US-CA", "is_minor": False})
    event(client, bot, user, clock.now - timedelta(minutes=1), text="any film tonight?")
    reply = outreach(client, bot, user, kind="reply")
    assert blocked["verdict"] == "block" and reply["verdict"] in ("allow", "rewrite")

    page = decisions(client, bot=bot)
    assert ids(page) == [reply["decision_id"], blocked["decision_id"]]  # newest first
    assert user not in json.dumps(page) and TEXT not in json.dumps(page["items"][1])

    new, old = page["items"]
    pseudonym = gateway_of(client).audit.pseudonym("default", user)
    assert len(pseudonym) == 64 and old["user"] == new["user"] == pseudonym
    assert old["type"] == "decision" and old["tenant"] == "default" and old["bot"] == bot
    assert old["channel"] == "messenger" and old["kind"] == "proactive"
    assert old["verdict"] == "block" and old["rules"] == ["user_first"]
    assert old["reasons"] == blocked["reasons"]
    assert old["policy"] == blocked["policy"]
    assert old["policy_version"] == blocked["policy_version"]
    assert old["scores"] == blocked["scores"]
    assert old["ts"] == clock.now.isoformat()
    assert old["user_context"] == {"jurisdiction": "US-CA", "is_minor": False, "timezone": None}
    # Texts as keyed hashes (HMAC under the audit key, naming it), never plain SHA-256.
    audit = gateway_of(client).audit
    assert old["text_hmac"] == audit.text_hmac("default", TEXT) != sha256(TEXT)
    assert old["text_hmac"].startswith(f"hmac:{audit.key.key_id}:") and "text_sha256" not in old
    assert old["delivered_hmac"] is None and old["delivered_text"] is None
    assert new["verdict"] == reply["verdict"] and new["claimed_kind"] == "reply"
    assert new["delivered_hmac"] == audit.text_hmac("default", reply["text"])
    # The delivered text, PII-redacted (this one carries none, so it is stored unchanged).
    assert new["delivered_text"] == reply["text"] and new["delivered_text_omitted"] is None
    # No place in the shared chain: seq and prev_hash would tell other tenants' volume.
    assert "seq" not in new and "prev_hash" not in new and new["hash"].startswith("hmac:")

    one = client.get(f"/v1/audit/decisions/{old['id']}", headers=bearer(ADMIN_KEY))
    assert one.status_code == 200 and one.json() == old
    missing = client.get("/v1/audit/decisions/nope", headers=bearer(ADMIN_KEY))
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"


def test_idempotent_replays_add_no_record(make_client: MakeClient, clock: Clock, uid: Uid) -> None:
    client = make_client()
    bot, user = uid("maestro"), uid("ana")
    first = outreach(client, bot, user, idempotency_key="k-1")
    again = outreach(client, bot, user, idempotency_key="k-1")
    assert again["idempotent_replay"] and again["decision_id"] == first["decision_id"]
    event(client, bot, user, clock.now - timedelta(minutes=1), text="hello?")
    allowed = outreach(client, bot, user, kind="reply", idempotency_key="k-2")
    assert outreach(client, bot, user, kind="reply", idempotency_key="k-2")["idempotent_replay"]
    assert ids(decisions(client, bot=bot)) == [allowed["decision_id"], first["decision_id"]]


def test_an_unrecorded_decision_is_not_acknowledged(
    make_client: MakeClient, clock: Clock, uid: Uid, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The audit append fails: 503, no answer, and the decision does not count (its key is
    free); the retry is decided afresh and recorded once."""
    client = make_client()
    backend = gateway_of(client).audit.backend
    bot, user = uid("maestro"), uid("ana")
    event(client, bot, user, clock.now - timedelta(minutes=1), text="hello?")
    real_append = backend.append

    def failing(body: dict[str, Any], *, if_absent: bool = False) -> Any:
        raise AuditUnavailable("disk full")

    monkeypatch.setattr(backend, "append", failing)
    body = {"bot_id": bot, "user_id": user, "channel": "sms", "text": TEXT, "kind": "reply"}
    body["idempotency_key"] = "retry-me"
    refused = client.post("/v1/outreach/check", json=body, headers=bearer(ADMIN_KEY))
    assert refused.status_code == 503 and refused.json()["error"] == "unavailable"
    assert "not recorded" in refused.json()["detail"]

    monkeypatch.setattr(backend, "append", real_append)
    retried = client.post("/v1/outreach/check", json=body, headers=bearer(ADMIN_KEY)).json()
    assert not retried["idempotent_replay"]  # the refused one was released, not kept
    assert retried["verdict"] in ("allow", "rewrite")
    assert ids(decisions(client, bot=bot)) == [retried["decision_id"]]
    client.post("/v1/outreach/check", json=body, headers=bearer(ADMIN_KEY))
    assert ids(decisions(client, bot=bot)) == [retried["decision_id"]]


def test_opt_outs_and_opt_ins_are_recorded_with_both_times(
    make_client: MakeClient, clock: Clock, uid: Uid
) -> None:
    client = make_client()
    bot, user = uid("maestro"), uid("ana")
    sent = clock.now - timedelta(seconds=30)
    assert event(client, bot, user, sent, text="STOP", event_id="m1")["consent"] == "opted_out"
    assert event(client, bot, user, sent, text="STOP", event_id="m1")["duplicate"]
    event(client, bot, user, sent, text="just chatting")  # no consent change, no record
    clock.advance(minutes=5)
    event(client, bot, user, clock.now - timedelta(seconds=2), text="START")
    event(client, bot, user, clock.now, type="opt_out", scope="all", channel="sms")

    records = export(client, type="consent", bot=bot)
    assert [(r["action"], r["scope"], r["source"]) for r in records] == [
        ("opt_out", "bot", "user_message"),
        ("opt_in", "bot", "user_message"),
        ("opt_out", "all", "opt_out"),
    ]
    first = records[0]
    assert first["received_at"] == sent.isoformat()
    assert first["honoured_at"] == first["ts"] == (sent + timedelta(seconds=30)).isoformat()
    assert records[2]["channel"] == "sms" and records[2]["received_at"] == clock.now.isoformat()
    assert user not in json.dumps(records) and "STOP" not in json.dumps(records)
    assert all(r["user"] == gateway_of(client).audit.pseudonym("default", user) for r in records)
    assert decisions(client, bot=bot)["items"] == []  # consent records are not decisions


def test_filters_and_cursor_pagination(make_client: MakeClient, clock: Clock, uid: Uid) -> None:
    client = make_client()
    a, b, ana, bob = uid("a"), uid("b"), uid("ana"), uid("bob")
    day1 = [outreach(client, a, ana), outreach(client, b, bob)]
    clock.advance(days=1)
    event(client, a, ana, clock.now - timedelta(minutes=1), text="hey")
    day2 = [outreach(client, a, ana, kind="reply"), outreach(client, a, bob)]
    everything = [d["decision_id"] for d in reversed(day1 + day2)]
    version = day1[0]["policy_version"]
    since = clock.now.date().isoformat()

    assert ids(decisions(client, bot=a)) == [everything[0], everything[1], everything[3]]
    assert ids(decisions(client, user=ana)) == [everything[1], everything[3]]
    assert set(ids(decisions(client, verdict="block"))) >= {everything[0], everything[2]}
    assert ids(decisions(client, bot=a, rule="user_first")) == [everything[0], everything[3]]
    assert ids(decisions(client, bot=a, rule="user_*")) == [everything[0], everything[3]]
    assert ids(decisions(client, bot=b, policy_version=version)) == [everything[2]]
    assert decisions(client, policy_version="sha256:other")["items"] == []
    assert ids(decisions(client, bot=a, since=since)) == everything[:2]
    assert ids(decisions(client, bot=a, until=since)) == [everything[3]]
    until = (clock.now - timedelta(hours=1)).isoformat()
    assert ids(decisions(client, bot=b, until=until)) == [everything[2]]

    seen: list[str] = []
    cursor = None
    for _ in range(10):
        page = decisions(client, limit=1, **({"cursor": cursor} if cursor else {}))
        seen += ids(page)
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [s for s in seen if s in everything] == everything

    for bad in ({"since": "yesterday"}, {"cursor": "abc"}, {"verdict": "maybe"}, {"limit": 0}):
        response = client.get("/v1/audit/decisions", params=bad, headers=bearer(ADMIN_KEY))
        assert response.status_code == 422, bad


def test_exports_stream_jsonl_and_csv(make_client: MakeClient, clock: Clock, uid: Uid) -> None:
    client = make_client()
    bot, user = uid("maestro"), uid("ana")
    made = [outreach(client, bot, user)["decision_id"] for _ in range(3)]
    event(client, bot, user, clock.now, text="STOP")

    lines = export(client, bot=bot)
    assert [r["id"] for r in lines] == made  # oldest first
    assert all({"hash", "reasons"} <= set(r) and "seq" not in r for r in lines)
    assert [r["type"] for r in export(client, bot=bot, type="all")] == ["decision"] * 3 + [
        "consent"
    ]

    response = client.get(
        "/v1/audit/export", params={"format": "csv", "bot": bot}, headers=bearer(ADMIN_KEY)
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["id"] for r in rows] == made
    assert rows[0]["verdict"] == "block" and rows[0]["rules"] == "user_first"
    assert json.loads(rows[0]["reasons"])[0]["rule"] == "user_first"
    assert user not in response.text

    bad = client.get("/v1/audit/export", params={"format": "xml"}, headers=bearer(ADMIN_KEY))
    assert bad.status_code == 422


def test_verify_endpoint(make_client: MakeClient, uid: Uid) -> None:
    client = make_client()
    for _ in range(3):
        outreach(client, uid("bot"), uid("user"))
    result = client.get("/v1/audit/verify", headers=bearer(ADMIN_KEY)).json()
    # three decisions and the policy loaded at start-up
    assert result["ok"] and result["checked"] == 4 and result["first_bad"] is None
    head = result["head"]["hash"]  # the operator's key (GUARDRAIL_API_KEY) sees the head
    assert result["head"]["seq"] == 4 and head.startswith("hmac:") and len(head) == 86


def test_roles_and_tenant_isolation(make_client: MakeClient, clock: Clock, uid: Uid) -> None:
    client = make_client(keys=keys(), audit_key=AUDIT_KEY)
    bot, user = uid("maestro"), uid("ana")
    acme = outreach(client, bot, user, key=ACME_BOT_KEY)
    by_admin = outreach(client, bot, user, key=ACME_ADMIN_KEY)  # admin may speak for bots
    default = outreach(client, bot, user, key=ADMIN_KEY)  # GUARDRAIL_API_KEY is admin
    body = {"bot_id": bot, "user_id": user, "channel": "sms", "text": TEXT}
    ev = {"type": "user_message", "bot_id": bot, "user_id": user, "ts": clock.now.isoformat()}

    # A bot key may not read the audit; an auditor key may not speak for a bot.
    for route in ("/v1/audit/decisions", "/v1/audit/verify", "/v1/audit/export", "/v1/audit/me"):
        refused = client.get(route, headers=bearer(ACME_BOT_KEY))
        assert refused.status_code == 403 and refused.json()["error"] == "forbidden", route
    for route, payload in (("/v1/outreach/check", body), ("/v1/events", ev)):
        refused = client.post(route, json=payload, headers=bearer(ACME_AUDITOR_KEY))
        assert refused.status_code == 403, route
        assert "auditor" in refused.json()["detail"]
    assert client.get("/v1/audit/decisions").status_code == 401

    # Each tenant's auditors see their own tenant's records, and only those.
    acme_ids = [by_admin["decision_id"], acme["decision_id"]]
    assert ids(decisions(client, ACME_AUDITOR_KEY, bot=bot)) == acme_ids
    assert ids(decisions(client, ACME_ADMIN_KEY, bot=bot)) == acme_ids
    assert ids(decisions(client, ACME_AUDITOR_KEY, user=user)) == acme_ids
    assert ids(decisions(client, ADMIN_KEY, bot=bot)) == [default["decision_id"]]
    assert decisions(client, GLOBEX_AUDITOR_KEY)["items"] == []
    assert decisions(client, GLOBEX_AUDITOR_KEY, user=user)["items"] == []
    # ...and the gateway-wide records (the policy loaded at start-up), which name no one.
    shared = export(client, GLOBEX_AUDITOR_KEY, type="all")
    assert [(r["type"], r["tenant"]) for r in shared] == [("policy_reload", "*")]
    for key, status in ((GLOBEX_AUDITOR_KEY, 404), (ADMIN_KEY, 404), (ACME_AUDITOR_KEY, 200)):
        got = client.get(f"/v1/audit/decisions/{acme['decision_id']}", headers=bearer(key))
        assert got.status_code == status, key
    me = client.get("/v1/audit/me", headers=bearer(ACME_AUDITOR_KEY)).json()
    assert me == {"name": "acme-auditor", "tenant": "acme", "role": "auditor",
                  "home_tenant": "acme", "tenants": ["acme"]}  # fmt: skip
    # Verification per tenant: the records it can read (its own and the gateway-wide
    # one), nothing that tells the others' volume (no head, no seq, no checkpoint).
    whole = client.get("/v1/audit/verify", headers=bearer(ADMIN_KEY)).json()
    assert whole["head"]["seq"] == 4
    for key, count in ((GLOBEX_AUDITOR_KEY, 1), (ACME_AUDITOR_KEY, 3)):
        mine = client.get("/v1/audit/verify", headers=bearer(key)).json()
        assert mine == {"ok": True, "checked": count, "tenant": mine["tenant"], "first_bad": None}
