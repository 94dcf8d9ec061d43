"""``POST /v1/classify``: the classifier stack over HTTP, through the gateway's micro-batcher.

Any valid API key may call it. Concurrent requests share forward passes and cached
results (``classifiers.batcher``). 503 while the models load, when they failed to load,
or when the gateway runs without them (``GUARDRAIL_CLASSIFIERS=false``).
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Request, status
from pydantic import BaseModel, ConfigDict, Field

from guardrail.api.deps import caller, check_text, parse_body
from guardrail.api.ops import public_state

router = APIRouter(tags=["classifiers"])

MAX_TEXTS = 256
"""Most texts one request may carry (413 beyond)."""


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


@router.post("/v1/classify", openapi_extra=_BODY_DOC)
async def classify(request: Request) -> dict[str, Any]:
    """Scores per text: self_harm, dependency (null when not run), manipulation (bot role),
    other (configured backends)."""
    from classifiers.stack import scores_json

    gateway, _ = caller(request)
    body = await parse_body(request, ClassifyRequest)
    if len(body.texts) > MAX_TEXTS:
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE,
            f"{len(body.texts)} texts; the limit is {MAX_TEXTS} per request",
        )
    for text in body.texts:
        check_text(gateway, text)
    batcher = gateway.classifiers
    if batcher is None:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            f"classifiers {public_state(gateway.classifiers_state)}",
        )
    results = await batcher.classify(body.texts, body.role)
    return {"role": body.role, "results": [scores_json(r, body.role) for r in results]}
