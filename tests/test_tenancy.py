"""Tenancy for operators: an operator key acts in any tenant, but only one a request names,
and each such request is recorded in that tenant's audit log; a tenant's admin stays in
its tenant. ``GUARDRAIL_API_KEY`` is the operator's key (home tenant ``default``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from guardrail.audit import AuditUnavailable, RecordFilter
from guardrail.config import ConfigError, Settings, load_settings
from guardrail.gateway import Gateway
from tests.audit_support import (
    ACME_ADMIN_KEY,
    ACME_AUDITOR_KEY,
    ADMIN_KEY,
    AUDIT_KEY,
    GLOBEX_AUDITOR_KEY,
    TEXT,
    Json,
    bearer,
    keys,
)
from tests.conftest import Clock

MakeClient = Callable[..., TestClient]
Uid = Callable[[str], str]
OPERATOR_KEY = "ops-team-operator-key-7Hs3Lq9"
HEADER = "X-Guardrail-Tenant"


def tenants_client(make_client: MakeClient, uid: Uid) -> tuple[TestClient, str, str]:
    """A gateway with tenants acme and globex; an acme bot and a globex bot."""
    acme_bot, globex_bot = uid("acme-bot"), uid("globex-bot")
    operators = [{"name": "ops-team", "role": "operator", "key": OPERATOR_KEY}]
    client = make_client(
        keys=keys() + operators,
        audit_key=AUDIT_KEY,
        bots={acme_bot: {"tenant": "acme"}, globex_bot: {"tenant": "globex"}},
    )
    return client, acme_bot, globex_bot


def check(
    client: TestClient, bot: str, user: str, key: str = ADMIN_KEY, tenant: str | None = None
) -> Any:
    headers = {**bearer(key), **({HEADER: tenant} if tenant else {})}
    body = {"bot_id": bot, "user_id": user, "channel": "messenger", "text": TEXT}
    return client.post("/v1/outreach/check", json=body, headers=headers)


def records(client: TestClient, tenant: str, kind: str) -> list[Json]:
    gateway: Gateway = client.app.state.gateway  # type: ignore[attr-defined]
    assert client.portal is not None
    found, _ = client.portal.call(gateway.audit.query, RecordFilter(tenant=tenant, types=(kind,)))
    return [r.body for r in sorted(found, key=lambda r: r.seq)]


def audit_get(client: TestClient, path: str, key: str, tenant: str | None = None) -> Any:
    headers = {**bearer(key), **({HEADER: tenant} if tenant else {})}
    return client.get(path, headers=headers)


def test_the_operator_acts_in_another_tenant_only_when_the_request_names_it(
    make_client: MakeClient, uid: Uid
) -> None:
    client, acme_bot, _ = tenants_client(make_client, uid)
    user = uid("ana")

    # Its own tenant without a header: the first-run walkthrough, unchanged.
    home = check(client, uid("unconfigured-bot"), user)
    assert home.status_code == 200
    assert records(client, "default", "decision")[-1]["id"] == home.json()["decision_id"]

    # Another tenant's bot is never reached by inference from the bot id.
    refused = check(client, acme_bot, user)
    assert refused.status_code == 403
    assert f"{HEADER}: acme" in refused.json()["detail"]

    # Named: the decision is acme's, and acme's log says who came, from where, for what.
    done = check(client, acme_bot, user, tenant="acme")
    assert done.status_code == 200
    decision = records(client, "acme", "decision")[-1]
    assert decision["id"] == done.json()["decision_id"] and decision["bot"] == acme_bot
    (visit,) = records(client, "acme", "access")
    assert {k: visit[k] for k in ("actor", "role", "home_tenant", "method", "route", "status")} == {
        "actor": "GUARDRAIL_API_KEY",
        "role": "operator",
        "home_tenant": "default",
        "method": "POST",
        "route": "/v1/outreach/check",
        "status": 200,
    }
    assert user not in str(visit) and records(client, "default", "access") == []

    # A configured operator key, without a tenant of its own, works the same way.
    assert check(client, acme_bot, user, key=OPERATOR_KEY, tenant="acme").status_code == 200
    assert [v["actor"] for v in records(client, "acme", "access")] == [
        "GUARDRAIL_API_KEY",
        "ops-team",
    ]


def test_the_operator_reads_one_tenant_at_a_time(make_client: MakeClient, uid: Uid) -> None:
    client, acme_bot, globex_bot = tenants_client(make_client, uid)
    acme = check(client, acme_bot, uid("ana"), tenant="acme").json()["decision_id"]
    globex = check(client, globex_bot, uid("bea"), tenant="globex").json()["decision_id"]
    default = check(client, uid("bot"), uid("cleo")).json()["decision_id"]

    def ids(tenant: str | None) -> list[str]:
        page = audit_get(client, "/v1/audit/decisions", ADMIN_KEY, tenant)
        assert page.status_code == 200, page.text
        return [item["id"] for item in page.json()["items"]]

    assert ids(None) == [default]
    assert ids("acme") == [acme] and ids("globex") == [globex]
    one = audit_get(client, f"/v1/audit/decisions/{acme}", ADMIN_KEY)
    assert one.status_code == 404  # not in the operator's own tenant: named, or nothing
    assert audit_get(client, f"/v1/audit/decisions/{acme}", ADMIN_KEY, "acme").status_code == 200

    me = audit_get(client, "/v1/audit/me", ADMIN_KEY, "acme").json()
    assert me["role"] == "operator" and me["tenant"] == "acme" and me["home_tenant"] == "default"
    assert me["tenants"] == ["acme", "default", "globex"]

    # acme's auditors see each of the operator's visits (type "access"), globex's its own.
    lines = audit_get(client, "/v1/audit/export?type=access", ACME_AUDITOR_KEY).text.splitlines()
    routes = [line for line in lines if "/v1/audit/" in line]
    assert len(routes) == 3  # decisions, one decision, me
    assert "/v1/audit/decisions/{decision_id}" in "".join(routes)

    unknown = audit_get(client, "/v1/audit/decisions", ADMIN_KEY, "acm")
    assert unknown.status_code == 422
    assert unknown.json()["detail"][0]["field"] == HEADER


def test_tenant_keys_stay_in_their_tenant(make_client: MakeClient, uid: Uid) -> None:
    client, acme_bot, globex_bot = tenants_client(make_client, uid)
    assert check(client, acme_bot, uid("ana"), key=ACME_ADMIN_KEY).status_code == 200
    assert check(client, acme_bot, uid("ana"), key=ACME_ADMIN_KEY, tenant="acme").status_code == 200
    for key, tenant in ((ACME_ADMIN_KEY, "globex"), (ACME_ADMIN_KEY, "default")):
        refused = check(client, globex_bot, uid("ana"), key=key, tenant=tenant)
        assert refused.status_code == 403
        assert "belongs to tenant 'acme'" in refused.json()["detail"]
    for key in (ACME_AUDITOR_KEY, GLOBEX_AUDITOR_KEY):
        assert audit_get(client, "/v1/audit/decisions", key, "default").status_code == 403
    me = audit_get(client, "/v1/audit/me", ACME_AUDITOR_KEY).json()
    assert me["tenants"] == ["acme"] and me["role"] == "auditor"
    assert records(client, "acme", "access") == []  # at home: nothing to record


def test_the_operator_passes_as_an_admin_of_the_tenant(
    make_client: MakeClient, clock: Clock, uid: Uid
) -> None:
    client, acme_bot, _ = tenants_client(make_client, uid)
    headers = {**bearer(ADMIN_KEY), HEADER: "acme"}
    user = uid("ana")
    event = {"type": "user_message", "bot_id": acme_bot, "user_id": user, "text": "STOP",
             "ts": (clock.now - timedelta(minutes=1)).isoformat()}  # fmt: skip
    result = client.post("/v1/events", json=event, headers=headers).json()
    assert result["consent"] == "opted_out" and result["consent_source"] == "admin"
    follow = {"bot_id": acme_bot, "categories": ["health"], "allowed": True}
    done = client.put(f"/v1/users/{user}/follow-ups", json=follow, headers=headers)
    assert done.status_code == 200 and done.json()["source"] == "admin"
    assert client.post("/v1/policies/reload", headers=headers).status_code == 200
    routes = [v["route"] for v in records(client, "acme", "access")]
    assert routes == ["/v1/events", "/v1/users/{user_id}/follow-ups", "/v1/policies/reload"]


def test_an_unrecorded_visit_is_not_answered(
    make_client: MakeClient, uid: Uid, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, acme_bot, _ = tenants_client(make_client, uid)
    check(client, acme_bot, uid("ana"), tenant="acme")
    backend = client.app.state.gateway.audit.backend  # type: ignore[attr-defined]
    real = backend.append

    def no_access(body: dict[str, Any], *, if_absent: bool = False) -> Any:
        if body["type"] == "access":
            raise AuditUnavailable("disk full")
        return real(body, if_absent=if_absent)

    monkeypatch.setattr(backend, "append", no_access)
    refused = audit_get(client, "/v1/audit/decisions", ADMIN_KEY, "acme")
    assert refused.status_code == 503 and refused.json()["error"] == "unavailable"
    assert "items" not in refused.text
    assert audit_get(client, "/v1/audit/decisions", ADMIN_KEY).status_code == 200  # at home


def test_only_an_operator_key_may_leave_its_tenant_out(tmp_path: Any) -> None:
    config = tmp_path / "guardrail.yaml"
    config.write_text("keys:\n  - {name: ops, role: operator, key: k-0123456789}\n")
    (key,) = load_settings(config).keys
    assert key.home_tenant == "default"
    config.write_text("keys:\n  - {name: auditor, role: auditor, key: k-0123456789}\n")
    with pytest.raises(ConfigError, match="only an operator key may leave it out"):
        load_settings(config)
    assert Settings(api_key="change-me").all_keys()[0].role == "operator"
