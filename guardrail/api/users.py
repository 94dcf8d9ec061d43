"""``/v1/users/{user_id}``: what a user wants done with what they confided
(:mod:`guardrail.service.users`). Ingest and admin keys only: these speak for the user.

- ``PUT /v1/users/{user_id}/follow-ups``: personal follow-ups about some special categories
  welcome (``allowed: true``) or not, with one bot or every bot of the tenant;
- ``DELETE /v1/users/{user_id}``: erase the user's state (the opt-out stays), recorded in
  the audit log.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Request, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from classifiers.results import SENSITIVE_CATEGORIES
from guardrail.api.deps import caller, parse_body
from guardrail.models import Identifier, Timestamp, check_clock
from guardrail.service.users import erase, set_follow_ups

router = APIRouter(prefix="/v1/users", tags=["users"])
UserId = Annotated[str, Path(min_length=1, max_length=200, description="the user's id")]
CategoryName = Literal[
    "health", "self_harm", "sexuality", "orientation_gender", "pregnancy_fertility",
    "substance_use", "religion", "politics", "finances", "legal", "domestic_violence",
    "ethnic_origin_immigration",
]  # fmt: skip
assert set(CategoryName.__args__) == set(SENSITIVE_CATEGORIES)  # type: ignore[attr-defined]


class FollowUpsRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    bot_id: Identifier | None = Field(default=None, description="one bot; null: every bot")
    categories: list[CategoryName] = Field(
        default_factory=list, max_length=12, description="the categories; empty: all of them"
    )
    allowed: bool = Field(description="true: personal follow-ups about them are welcome")
    ts: Timestamp | None = Field(default=None, description="when the user said so")

    @field_validator("ts")
    @classmethod
    def _clock(cls, value: Timestamp | None, info: ValidationInfo) -> Timestamp | None:
        check_clock(value, info)
        return value


class FollowUpsResult(BaseModel):
    user_id: str
    bot_id: str | None
    categories: list[str] = Field(description="`*`: every category")
    allowed: bool
    source: Literal["ingest", "admin"] = Field(description="whose word it is (the key's role)")


class ErasureResult(BaseModel):
    erased: bool = True
    removed: int = Field(description="rows (SQLite) or keys (Redis) removed")
    kept: list[str] = Field(default=["opt_out"], description="what outlives the erasure")
    audit_id: str | None = Field(description="the audit record of the erasure")


_BODY_DOC = {  # documented inline: the body is validated by parse_body, auth first
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": FollowUpsRequest.model_json_schema()}},
    }
}


@router.put(
    "/{user_id}/follow-ups",
    response_model=FollowUpsResult,
    summary="Personal follow-ups about special categories welcome, or not (ingest, admin)",
    openapi_extra=_BODY_DOC,
)
async def follow_ups(user_id: UserId, request: Request) -> Response:
    gateway, principal = caller(request)
    body = await parse_body(request, FollowUpsRequest)
    done = await set_follow_ups(
        gateway, principal, user_id, bot_id=body.bot_id, categories=body.categories,
        allowed=body.allowed, ts=body.ts,
    )  # fmt: skip
    result = FollowUpsResult.model_validate(
        {"user_id": user_id, "bot_id": done.bot_id, "categories": list(done.categories),
         "allowed": done.allowed, "source": done.source}
    )  # fmt: skip
    return Response(result.model_dump_json(), media_type="application/json")


@router.delete(
    "/{user_id}",
    response_model=ErasureResult,
    summary="Erase the user's state but the opt-out; recorded in the audit log (ingest, admin)",
)
async def erase_user(user_id: UserId, request: Request) -> Response:
    gateway, principal = caller(request)
    done = await erase(gateway, principal, user_id)
    result = ErasureResult(removed=done.removed, audit_id=done.audit_id)
    return Response(result.model_dump_json(), media_type="application/json")
