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
from guardrail.audit import RecordFilter
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
        description="the SHA-256 (hex) of a text: records whose original or delivered text has it",
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


def _cursor(value: str | None) -> str | None:
    if value and not value.isdigit():
        raise Invalid(f"bad cursor {value!r}: pass the next_cursor of the page before",
                      field="cursor")  # fmt: skip
    return value or None


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
    rows, next_cursor = await gateway.audit.query(flt, cursor=_cursor(cursor), limit=limit)
    return {"items": [row.view() for row in rows], "next_cursor": next_cursor}


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
    rows, next_cursor = await gateway.audit.query(flt, cursor=_cursor(cursor), limit=limit)
    return {
        "user": who,
        "summary": await user_summary(gateway.audit, flt),
        "items": [row.view() for row in rows],
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
