"""Tenants see nothing of each other: ``/metrics`` needs a key and names no tenant's policy
unless the operator says so; ``/v1/policies`` shows a tenant its own policies and their
problems only; the audit API gives no position in the shared chain (a tenant cannot count
what others write); policy-load records belong to the tenants whose policies they are."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from guardrail.app import create_app
from guardrail.config import Settings
from tests.audit_support import (
    ACME_ADMIN_KEY,
    ACME_AUDITOR_KEY,
    ADMIN_KEY,
    GLOBEX_AUDITOR_KEY,
    bearer,
    keys,
    outreach,
)
from tests.conftest import Clock

GLOBEX_ADMIN_KEY = "globex-admin-key-7Hd2Ls9Pq4Xc"
METRICS_KEY = "metrics-scraper-key-3Fj8Kq1Zw6"
ACME = "name: acme-sms\nmatch: {tenants: [acme], channels: [sms]}\n"
GLOBEX = "name: globex-secret-launch\nmatch: {tenants: [globex]}\n"
GLOBAL = "name: default\n"
BROKEN_GLOBEX = "name: globex-secret-launch\nmatch: {tenants: [globex]}\nrules: {unanswered: []}\n"


def all_keys() -> list[dict[str, Any]]:
    globex_admin = {
        "name": "globex-ops",
        "tenant": "globex",
        "role": "admin",
        "key": GLOBEX_ADMIN_KEY,
    }
    return [*keys(), globex_admin]


@pytest.fixture
def policies(tmp_path: Path) -> Path:
    folder = tmp_path / "policies"
    folder.mkdir()
    (folder / "default.yaml").write_text(GLOBAL, encoding="utf-8")
    (folder / "acme.yaml").write_text(ACME, encoding="utf-8")
    (folder / "globex-launch.yaml").write_text(GLOBEX, encoding="utf-8")
    return folder


@pytest.fixture
def gateway(tmp_path: Path, clock: Clock, policies: Path) -> Iterator[Any]:
    def build(**extra: Any) -> TestClient:
        settings = Settings(
            api_key=ADMIN_KEY,
            keys=all_keys(),
            db=str(tmp_path / "state.db"),
            policy=policies,
            metrics_key=METRICS_KEY,
            **extra,
        )
        client = TestClient(create_app(settings, clock=clock, policy_poll_s=None))
        client.__enter__()
        opened.append(client)
        return client

    opened: list[TestClient] = []
    yield build
    for client in opened:
        client.__exit__(None, None, None)


def test_metrics_need_the_metrics_key_or_the_operators(gateway: Any) -> None:
    client = gateway()
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers=bearer("not-a-key-at-all")).status_code == 401
    for tenant_key in (ACME_ADMIN_KEY, ACME_AUDITOR_KEY, GLOBEX_AUDITOR_KEY):
        refused = client.get("/metrics", headers=bearer(tenant_key))
        assert refused.status_code == 403 and refused.json()["error"] == "forbidden"
    for allowed in (METRICS_KEY, ADMIN_KEY):
        assert client.get("/metrics", headers=bearer(allowed)).status_code == 200
    # The metrics key opens /metrics only.
    assert client.get("/v1/policies", headers=bearer(METRICS_KEY)).status_code == 401


def test_metrics_name_no_tenant_policy_unless_the_operator_enables_it(gateway: Any) -> None:
    hidden = gateway().get("/metrics", headers=bearer(METRICS_KEY)).text
    assert "acme-sms" not in hidden and "globex-secret-launch" not in hidden
    assert 'guardrail_policy_info{name="tenant-policy"' in hidden
    assert 'guardrail_policy_info{name="default"' in hidden
    named = gateway(metrics_tenant_labels=True).get("/metrics", headers=bearer(METRICS_KEY)).text
    assert 'name="acme-sms"' in named and 'name="globex-secret-launch"' in named
    public = gateway(metrics_public=True)
    assert public.get("/metrics").status_code == 200


def test_a_tenant_sees_its_own_policies_and_its_own_problems_only(
    gateway: Any, policies: Path
) -> None:
    client = gateway()
    listed = client.get("/v1/policies", headers=bearer(ACME_AUDITOR_KEY)).json()
    assert {p["name"] for p in listed["policies"]} == {"default", "acme-sms"}
    globex = client.get("/v1/policies", headers=bearer(GLOBEX_AUDITOR_KEY)).json()
    assert {p["name"] for p in globex["policies"]} == {"default", "globex-secret-launch"}

    # globex breaks its own policy and reloads: acme learns the reload failed, not why.
    (policies / "globex-launch.yaml").write_text(BROKEN_GLOBEX, encoding="utf-8")
    refused = client.post("/v1/policies/reload", headers=bearer(GLOBEX_ADMIN_KEY))
    assert refused.status_code == 422
    assert any("globex-launch.yaml" in e for e in refused.json()["detail"])  # its own
    acme = client.get("/v1/policies", headers=bearer(ACME_AUDITOR_KEY)).json()["last_reload"]
    assert acme["ok"] is False and acme["errors"] == [] and "not this tenant's" in acme["note"]
    assert acme["actor"] is None  # another tenant's key name is not shown
    text = str(client.get("/v1/policies", headers=bearer(ACME_AUDITOR_KEY)).json())
    assert "globex" not in text
    globex = client.get("/v1/policies", headers=bearer(GLOBEX_AUDITOR_KEY)).json()["last_reload"]
    assert any("globex-launch.yaml" in e for e in globex["errors"])
    assert globex["actor"] == "globex-ops"
    whole = client.get("/v1/policies", headers=bearer(ADMIN_KEY)).json()["last_reload"]
    assert whole["errors"] and "note" not in whole

    # acme reloads: the same problem is globex's, so acme's answer holds none of it.
    again = client.post("/v1/policies/reload", headers=bearer(ACME_ADMIN_KEY))
    assert again.status_code == 422 and "globex" not in again.text
    # A file nobody can attribute (unreadable YAML) is the operator's to see.
    (policies / "globex-launch.yaml").write_text(GLOBEX, encoding="utf-8")
    (policies / "mystery.yaml").write_text("name: [unclosed\n", encoding="utf-8")
    client.post("/v1/policies/reload", headers=bearer(ADMIN_KEY))
    acme = client.get("/v1/policies", headers=bearer(ACME_AUDITOR_KEY)).json()["last_reload"]
    assert acme["errors"] == [] and "mystery" not in str(acme)
    whole = client.get("/v1/policies", headers=bearer(ADMIN_KEY)).json()["last_reload"]
    assert any("mystery.yaml" in e for e in whole["errors"])


def test_the_audit_api_tells_no_tenant_how_much_others_write(gateway: Any) -> None:
    client = gateway()
    for i in range(3):
        outreach(client, "acme-bot", f"u{i}", key=ACME_ADMIN_KEY)
    for i in range(40):  # globex writes a lot in between
        outreach(client, "globex-bot", f"g{i}")
    outreach(client, "acme-bot", "u9", key=ACME_ADMIN_KEY)

    page = client.get(
        "/v1/audit/decisions", params={"limit": 2}, headers=bearer(ACME_AUDITOR_KEY)
    ).json()
    assert all("seq" not in item and "prev_hash" not in item for item in page["items"])
    cursor = page["next_cursor"]
    assert cursor == page["items"][-1]["id"] and not cursor.isdigit()
    rest = client.get(
        "/v1/audit/decisions", params={"cursor": cursor}, headers=bearer(ACME_AUDITOR_KEY)
    ).json()
    assert len(rest["items"]) == 2 and rest["next_cursor"] is None
    # Another tenant's record as a cursor: refused like any unknown one.
    theirs = client.get(
        "/v1/audit/decisions", params={"limit": 1}, headers=bearer(ADMIN_KEY)
    ).json()["items"][0]["id"]
    probe = client.get(
        "/v1/audit/decisions", params={"cursor": theirs}, headers=bearer(ACME_AUDITOR_KEY)
    )
    assert probe.status_code == 422
    verified = client.get("/v1/audit/verify", headers=bearer(ACME_AUDITOR_KEY)).json()
    assert set(verified) == {"ok", "checked", "tenant", "first_bad"}
    exported = client.get(
        "/v1/audit/export", params={"type": "all"}, headers=bearer(ACME_AUDITOR_KEY)
    )
    assert '"seq"' not in exported.text and '"prev_hash"' not in exported.text


def test_policy_loads_are_recorded_for_the_tenants_whose_policies_they_are(
    gateway: Any,
) -> None:
    client = gateway()

    def loads(key: str) -> set[str]:
        response = client.get(
            "/v1/audit/export", params={"type": "policy_reload"}, headers=bearer(key)
        )
        return {line.split('"policy":"')[1].split('"')[0] for line in response.text.splitlines()}

    assert loads(ACME_AUDITOR_KEY) == {"default", "acme-sms"}
    assert loads(GLOBEX_AUDITOR_KEY) == {"default", "globex-secret-launch"}
