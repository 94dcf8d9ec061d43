"""A bounded fuzz run of the published OpenAPI surface (schemathesis, in-process ASGI).

Every operation gets generated requests, valid and not, with an admin key: none may
answer 5xx, and every answer must match what the spec publishes for it (status code,
content type, body schema: the 4xx bodies included). Deterministic (derandomised, no
example database) and bounded: MAX_EXAMPLES per operation.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis import Case, CheckContext, Response  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from guardrail.app import create_app  # noqa: E402
from guardrail.config import Settings  # noqa: E402
from tests.conftest import API_KEY, AUTH  # noqa: E402

MAX_EXAMPLES = int(os.environ.get("GUARDRAIL_FUZZ_EXAMPLES", "30"))

os.environ.setdefault("GUARDRAIL_CLASSIFIERS", "false")
_state = Path(tempfile.mkdtemp(prefix="guardrail-fuzz-"))
_app = create_app(
    Settings(
        api_key=API_KEY,
        db=str(_state / "state.db"),
        audit_db=str(_state / "audit.db"),
        assessor="lexicon",
        classifiers=False,
        whatsapp={"app_secret": "3f1c0e5b9a7d4e2f8c6b1a0d9e8f7c6b", "verify_token": "tok"},
    ),
    policy_poll_s=None,
)
schema = schemathesis.openapi.from_asgi("/openapi.json", _app)

UNAVAILABLE_BY_DESIGN = {"/v1/classify", "/readyz"}
"""Routes that answer a documented 503 here: the gateway runs without its classifier
stack (loading it is too heavy for this run), and the route says so; ``/readyz`` is 503
while the PII detectors the policy needs load in the background."""


def no_server_error(ctx: CheckContext, response: Response, case: Case[Any]) -> bool:
    """schemathesis' not_a_server_error, except a documented 503 ``unavailable`` body on
    the routes above."""
    if case.path in UNAVAILABLE_BY_DESIGN and response.status_code == 503:
        assert response.json()["error"] == "unavailable", response.text
        return True
    result = not_a_server_error(ctx, response, case)
    return result is None or bool(result)


CHECKS = [
    no_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.mark.slow
@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_the_api_never_5xx_and_answers_as_published(case: Case[Any]) -> None:
    case.call_and_validate(headers=AUTH, checks=CHECKS)
