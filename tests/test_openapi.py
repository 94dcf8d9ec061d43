"""The published OpenAPI spec says what each route answers and what it needs.

Every JSON answer has a typed schema (only the proxies answer in the platform's own
shape), every operation has one operation id, and every operation declares its security:
a guardrail key where one is needed, with the tenant header, and something else (or
nothing) where not; each declaration is checked against what the route really answers
without a key.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from guardrail.api.openapi import KEYLESS
from guardrail.app import create_app
from guardrail.config import Settings
from tests.conftest import API_KEY

PLATFORM_SHAPED = {"/v1/proxy/"}
"""Answers in the platform's own shape (Telegram's, the Graph API's): an object."""


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    state = tmp_path_factory.mktemp("openapi")
    settings = Settings(
        api_key=API_KEY, db=str(state / "state.db"), classifiers=False, assessor="lexicon"
    )
    with TestClient(create_app(settings, policy_poll_s=None)) as client:
        yield client


@pytest.fixture(scope="module")
def spec(client: TestClient) -> dict[str, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # FastAPI warns of duplicate operation ids
        data: dict[str, Any] = client.app.openapi()  # type: ignore[attr-defined]
    return data


def operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            yield path, method, op


def test_one_operation_id_per_operation(spec: dict[str, Any]) -> None:
    ids = [op["operationId"] for _, _, op in operations(spec)]
    assert len(ids) == len(set(ids))
    methods = {m for path, m, _ in operations(spec) if path == "/v1/proxy/graph/{path}"}
    assert methods == {"get", "post", "delete"}


def test_every_json_answer_is_typed(spec: dict[str, Any]) -> None:
    untyped = []
    for path, method, op in operations(spec):
        for code, response in op["responses"].items():
            schema = response.get("content", {}).get("application/json", {}).get("schema")
            if schema is None:
                continue
            typed = "$ref" in schema or "anyOf" in schema
            if not typed and not (path.startswith(tuple(PLATFORM_SHAPED)) and schema):
                untyped.append(f"{method.upper()} {path} {code}: {schema}")
    assert untyped == []
    schemas = spec["components"]["schemas"]
    models = ("DecisionsPage", "Verification", "PoliciesView", "Classification", "Readiness",
             "WebhookReceipt", "Sb243Report", "Timeline", "RecordsPage")  # fmt: skip
    for name in models:
        assert schemas[name]["properties"], name
    readyz = spec["paths"]["/readyz"]["get"]["responses"]["503"]
    assert readyz["content"]["application/json"]["schema"]["$ref"].endswith("/Readiness")


def test_security_is_declared_per_operation(spec: dict[str, Any]) -> None:
    assert "security" not in spec
    assert set(KEYLESS) <= set(spec["paths"])  # no stale entry in the table
    for path, method, op in operations(spec):
        assert "security" in op, f"{method} {path}"
        header = [p for p in op.get("parameters", []) if p["name"] == "X-Guardrail-Tenant"]
        if path in KEYLESS:
            assert op["security"] == KEYLESS[path][0] and not header, path
        else:
            assert op["security"] == [{"bearer": []}] and header, path
    graph = spec["paths"]["/v1/proxy/graph/{path}"]["post"]["security"]
    assert graph == [{"proxyToken": []}, {"proxyAccessToken": []}]
    assert set(spec["components"]["securitySchemes"]) == {
        "bearer",
        "proxyToken",
        "proxyAccessToken",
    }


def _call(client: TestClient, method: str, path: str, **kwargs: Any) -> Any:
    url = re.sub(r"\{[^}]+\}", "x", path)
    return client.request(method.upper(), url, **kwargs)


def test_declarations_match_what_routes_answer_without_a_key(
    client: TestClient, spec: dict[str, Any]
) -> None:
    """A route declared to need a key answers 401 asking for one (before it reads anything
    else); a route declared keyless never asks for a guardrail key."""
    for path, method, op in operations(spec):
        response = _call(client, method, path, json={})
        asks = response.status_code == 401 and "Bearer" in response.headers.get(
            "www-authenticate", ""
        )
        if op["security"] == [{"bearer": []}]:
            assert asks, f"{method} {path}: {response.status_code} {response.text[:200]}"
            keyed = _call(
                client, method, path, json={}, headers={"Authorization": f"Bearer {API_KEY}"}
            )
            assert keyed.status_code != 401, f"{method} {path}"
        else:
            assert not asks, f"{method} {path}"
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json()["ready"] is True
