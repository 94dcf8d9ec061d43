"""``POST /v1/classify``: the classifier stack over HTTP (:mod:`guardrail.service.classify`).

Any valid API key may call it.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from guardrail.api import schemas
from guardrail.api.deps import caller, parse_body
from guardrail.service.classify import MAX_TEXTS, classify_texts

router = APIRouter(tags=["classifiers"])


class ClassifyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Literal["user", "bot"] = Field(description="who wrote the texts")
    texts: list[str] = Field(min_length=1, description=f"1 to {MAX_TEXTS} texts")


_BODY_DOC = {  # documented inline: the body is validated by parse_body, auth first
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": ClassifyRequest.model_json_schema()}},
    }
}


@router.post(
    "/v1/classify",
    response_model=schemas.Classification,
    response_model_exclude_unset=True,
    openapi_extra=_BODY_DOC,
)
async def classify(request: Request) -> dict[str, Any]:
    """Scores per text: self_harm, dependency (null when not run), manipulation (bot role),
    other (configured backends)."""
    gateway, principal = caller(request)
    body = await parse_body(request, ClassifyRequest)
    results = await classify_texts(gateway, body.role, body.texts, principal.tenant)
    return {"role": body.role, "results": results}
