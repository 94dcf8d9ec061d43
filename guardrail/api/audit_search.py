"""Auditors' search routes: any record type with search and filters, one user's timeline,
and the list of reports (what the console's search, filters, timeline and report views
read).

Same rules as :mod:`guardrail.api.audit`: an ``auditor`` or ``admin`` key (an operator's
too), one tenant per request (the key's, or the one an operator names); a user is looked
up by the raw id the auditor knows, pseudonymised here with the tenant's key, or by the
pseudonym the records show.
"""

from __future__ import annotations

import inspect
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from guardrail.api import schemas
from guardrail.api.deps import caller, parse_body
from guardrail.audit import AuditRecord, RecordFilter
from guardrail.audit.records import RecordType
from guardrail.audit.reports import parse_when
from guardrail.audit.statutes import REPORTS
from guardrail.audit.timeline import user_summary
from guardrail.auth import Principal
from guardrail.gateway import Gateway
from guardrail.models import Verdict
from guardrail.service.access import require_role
from guardrail.service.errors import Invalid

router = APIRouter(prefix="/v1/audit", tags=["audit"])

TEXT_HASH = r"^(sha256:)?[0-9a-fA-F]{64}$|^hmac:[0-9A-Za-z:]{16,200}$"

Since = Annotated[str | None, Query(description="from this date or time (inclusive)")]
Until = Annotated[str | None, Query(description="up to this date or time (exclusive)")]
Bot = Annotated[str | None, Query(max_length=200)]
User = Annotated[
    str | None, Query(max_length=200, description="the raw user id; pseudonymised for lookup")
]
Pseudonym = Annotated[
    str | None, Query(max_length=200, description="the user's pseudonym, as records show it")
]
Rule = Annotated[str | None, Query(max_length=200, description="a rule id or family: crisis.*")]
Version = Annotated[str | None, Query(max_length=200, description="sha256:… policy version")]
TextHash = Annotated[
    str | None,
    Query(
        pattern=TEXT_HASH,
        description="a text's keyed hash (POST /v1/audit/text-hashes gives it) or, for "
        "records written before keyed hashes, its SHA-256: records whose original or "
        "delivered text has it",
    ),
]
Limit = Annotated[int, Query(ge=1, le=500)]
Cursor = Annotated[str | None, Query(max_length=200, description="next_cursor of the page before")]


def _reader(request: Request) -> tuple[Gateway, Principal]:
    gateway, principal = caller(request)
    return gateway, require_role(principal, "auditor", "admin")


def _when(value: str | None, name: str) -> Any:
    if not value:
        return None
    try:
        return parse_when(value)
    except ValueError as exc:
        raise Invalid(str(exc), field=name) from exc


def normal_hash(value: str | None) -> str | None:
    """A text hash as records hold it: hex SHA-256 in lower case (or a keyed hash as is)."""
    if not value:
        return None
    return value.removeprefix("sha256:").lower() if not value.startswith("hmac:") else value


def _user(gateway: Gateway, tenant: str, user: str | None, pseudonym: str | None) -> str | None:
    if user and pseudonym:
        raise Invalid("give user or pseudonym, not both", field="pseudonym")
    return gateway.audit.pseudonym(tenant, user) if user else (pseudonym or None)


async def _page(
    gateway: Gateway, flt: RecordFilter, cursor: str | None, limit: int
) -> tuple[list[AuditRecord], str | None]:
    """A page of records; a cursor is the id of the last record of the page before (an
    id, not a chain position: that would tell a tenant how much others write)."""
    try:
        return await gateway.audit.query(flt, cursor=cursor or None, limit=limit)
    except ValueError as exc:
        raise Invalid(str(exc), field="cursor") from exc


@router.get(
    "/records",
    response_model=schemas.RecordsPage,
    response_model_exclude_unset=True,
    summary="Records of this tenant of any type, with search and filters, newest first",
)
async def records(
    request: Request,
    type: RecordType | Literal["all"] = "all",
    since: Since = None,
    until: Until = None,
    bot: Bot = None,
    user: User = None,
    pseudonym: Pseudonym = None,
    verdict: Verdict | None = None,
    rule: Rule = None,
    policy_version: Version = None,
    text_hash: TextHash = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """Filters narrow together; ``verdict``, ``rule`` and ``policy_version`` select
    decisions. Records of no single tenant (policy loads, purges) come with ``type=all``
    or their own type."""
    gateway, principal = _reader(request)
    types = None if type == "all" else (type,)
    flt = RecordFilter(
        tenant=principal.tenant,
        include_global=types is None or type in ("policy_reload", "purge"),
        types=types,
        since=_when(since, "since"),
        until=_when(until, "until"),
        bot=bot or None,
        user=_user(gateway, principal.tenant, user, pseudonym),
        verdict=verdict.value if verdict else None,
        rule=rule or None,
        policy_version=policy_version or None,
        text_hash=normal_hash(text_hash),
    )
    rows, next_cursor = await _page(gateway, flt, cursor, limit)
    return {"items": [row.tenant_view() for row in rows], "next_cursor": next_cursor}


@router.get(
    "/timeline",
    response_model=schemas.Timeline,
    response_model_exclude_unset=True,
    summary="One user's records (decisions, consent, crises...) and their summary",
)
async def timeline(
    request: Request,
    user: User = None,
    pseudonym: Pseudonym = None,
    since: Since = None,
    until: Until = None,
    limit: Limit = 200,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """``user`` (the raw id, never stored or shown) or ``pseudonym``; the answer names the
    user by pseudonym only."""
    gateway, principal = _reader(request)
    who = _user(gateway, principal.tenant, user, pseudonym)
    if who is None:
        raise Invalid("give the user's id (user) or pseudonym", field="user")
    flt = RecordFilter(
        tenant=principal.tenant,
        types=None,
        since=_when(since, "since"),
        until=_when(until, "until"),
        user=who,
    )
    rows, next_cursor = await _page(gateway, flt, cursor, limit)
    return {
        "user": who,
        "summary": await user_summary(gateway.audit, flt),
        "items": [row.tenant_view() for row in rows],
        "next_cursor": next_cursor,
    }


class PseudonymRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_id: str = Field(min_length=1, max_length=200, description="the raw user id")


@router.post(
    "/pseudonyms",
    response_model=schemas.PseudonymView,
    summary="The pseudonym of a raw user id in this tenant (kept out of URLs and logs)",
    openapi_extra={  # documented inline: the body is validated by parse_body, auth first
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": PseudonymRequest.model_json_schema()}},
        }
    },
)
async def pseudonym(request: Request) -> dict[str, str]:
    """A lookup in the body, not the query string: the raw id stays out of access logs,
    proxies' logs and the browser's history. The console searches users this way."""
    gateway, principal = _reader(request)
    body = await parse_body(request, PseudonymRequest)
    return {"pseudonym": gateway.audit.pseudonym(principal.tenant, body.user_id)}


class TextHashRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=65536, description="the text as sent or delivered")


@router.post(
    "/text-hashes",
    response_model=schemas.TextHashView,
    summary="The keyed hash a text has in this tenant's records (kept out of URLs and logs)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": TextHashRequest.model_json_schema()}},
        }
    },
)
async def text_hash(request: Request) -> dict[str, Any]:
    """Records keep texts as keyed hashes (a plain SHA-256 could be reversed with a
    dictionary), so an auditor finds a message by its text through this lookup, in the
    body: the text never lands in a URL. Search with ``text_hash`` (records of before a
    key rotation have the ring's other hashes)."""
    gateway, principal = _reader(request)
    body = await parse_body(request, TextHashRequest)
    hashes = gateway.audit.text_hmacs(principal.tenant, body.text)
    return {"text_hash": hashes[0], "text_hashes": list(hashes)}


@router.get("/reports", response_model=schemas.ReportList, summary="The compliance reports")
async def report_list(request: Request) -> dict[str, Any]:
    """Each report's name (for ``/v1/audit/reports/{name}``) and what it counts."""
    _reader(request)
    reports = [
        {
            "name": name,
            "summary": " ".join((inspect.getdoc(build) or name).split("\n\n")[0].split()),
        }
        for name, build in REPORTS.items()
    ]
    return {"reports": reports}
