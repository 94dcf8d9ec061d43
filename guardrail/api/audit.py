"""Auditors' routes: decisions, one decision, verification, exports, reports, charts.

Every route needs an ``auditor`` or ``admin`` key and reads only the key's own tenant; a
user is looked up by the raw id the auditor knows, pseudonymised here with the tenant's
key. Records are shown without their place in the shared chain (no ``seq``,
``prev_hash``), cursors are record ids and verification reports only the tenant's own
count: nothing a tenant reads tells how much the others write. (Appending is the service
layer's: :mod:`guardrail.service.audit`.)
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.responses import Response, StreamingResponse

from guardrail.api import schemas
from guardrail.api.audit_search import Pseudonym, TextHash, normal_hash
from guardrail.api.deps import caller
from guardrail.audit import RecordFilter
from guardrail.audit.export import MEDIA_TYPES, stream
from guardrail.audit.records import RECORD_TYPES, RecordType
from guardrail.audit.reports import Period, parse_when, stats
from guardrail.audit.statutes import REPORTS, STATUTE_YEAR_BEFORE, to_csv
from guardrail.auth import Principal
from guardrail.gateway import Gateway
from guardrail.models import Verdict
from guardrail.service.access import is_operator, known_tenants, require_role
from guardrail.service.audit import verify_log

router = APIRouter(prefix="/v1/audit", tags=["audit"])


def _auditor(request: Request) -> tuple[Gateway, Principal]:
    gateway, principal = caller(request)
    return gateway, require_role(principal, "auditor", "admin")


def _when(value: str | None, name: str) -> datetime | None:
    if value is None or value == "":
        return None
    try:
        return parse_when(value)
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"{name}: {exc}") from exc


Since = Annotated[str | None, Query(description="from this date or time (inclusive)")]
Until = Annotated[str | None, Query(description="up to this date or time (exclusive)")]
Bot = Annotated[str | None, Query(max_length=200)]
User = Annotated[
    str | None, Query(max_length=200, description="the raw user id; pseudonymised for lookup")
]
Rule = Annotated[str | None, Query(max_length=200, description="a rule id or family: crisis.*")]
Version = Annotated[str | None, Query(max_length=200, description="sha256:… policy version")]
TypeName = RecordType | Literal["all"]


def _filter(
    gateway: Gateway,
    principal: Principal,
    *,
    since: str | None,
    until: str | None,
    bot: str | None = None,
    user: str | None = None,
    verdict: Verdict | None = None,
    rule: str | None = None,
    policy_version: str | None = None,
    types: tuple[str, ...] | None = ("decision",),
) -> RecordFilter:
    tenant = principal.tenant
    return RecordFilter(
        tenant=tenant,
        include_global=types is None or "policy_reload" in types or "purge" in types,
        types=types,
        since=_when(since, "since"),
        until=_when(until, "until"),
        bot=bot or None,
        user=gateway.audit.pseudonyms(tenant, user) if user else None,
        verdict=verdict.value if verdict else None,
        rule=rule or None,
        policy_version=policy_version or None,
    )


@router.get(
    "/me",
    response_model=schemas.Whoami,
    summary="Who this key is, and the tenants it may read (the console's sign-in check)",
)
async def me(request: Request) -> dict[str, Any]:
    gateway, principal = _auditor(request)
    tenants = known_tenants(gateway) if is_operator(principal) else [principal.tenant]
    return {"name": principal.name, "tenant": principal.tenant, "role": principal.role,
            "home_tenant": principal.home, "tenants": tenants}  # fmt: skip


@router.get(
    "/decisions",
    response_model=schemas.DecisionsPage,
    response_model_exclude_unset=True,
    summary="Decisions of this tenant, newest first, a page at a time",
)
async def decisions(
    request: Request,
    since: Since = None,
    until: Until = None,
    bot: Bot = None,
    user: User = None,
    verdict: Verdict | None = None,
    rule: Rule = None,
    policy_version: Version = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[
        str | None, Query(max_length=200, description="next_cursor of the page before")
    ] = None,
) -> dict[str, Any]:
    gateway, principal = _auditor(request)
    flt = _filter(
        gateway, principal, since=since, until=until, bot=bot, user=user, verdict=verdict,
        rule=rule, policy_version=policy_version,
    )  # fmt: skip
    try:
        rows, next_cursor = await gateway.audit.query(flt, cursor=cursor or None, limit=limit)
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    return {"items": [row.tenant_view() for row in rows], "next_cursor": next_cursor}


@router.get(
    "/decisions/{decision_id}",
    response_model=schemas.DecisionRecord,
    response_model_exclude_unset=True,
    summary="One decision with its whole explanation",
)
async def decision(request: Request, decision_id: str) -> dict[str, Any]:
    gateway, principal = _auditor(request)
    record = await gateway.audit.get(decision_id)
    if record is None or record.tenant != principal.tenant or record.type != "decision":
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no decision {decision_id!r}")
    return record.tenant_view()


@router.get(
    "/verify",
    response_model=schemas.Verification,
    response_model_exclude_unset=True,
    summary="Check the whole hash chain; name the first bad record",
)
async def verify(request: Request) -> dict[str, Any]:
    """The whole chain, its signed head row and the last published head (the witness
    file, when configured) are checked; the answer holds only this tenant's count."""
    gateway, principal = _auditor(request)
    result = await verify_log(gateway)
    return result.to_json(tenant=None if is_operator(principal) else principal.tenant)


@router.get(
    "/export",
    summary="Stream this tenant's records as JSON Lines or CSV",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "one record per line (jsonl) or row (csv)",
            "content": {"application/x-ndjson": {}, "text/csv": {}},
        }
    },
)
async def export(
    request: Request,
    format: Literal["jsonl", "csv"] = "jsonl",
    type: TypeName = "decision",
    since: Since = None,
    until: Until = None,
    bot: Bot = None,
    user: User = None,
    verdict: Verdict | None = None,
    rule: Rule = None,
    policy_version: Version = None,
    text_hash: TextHash = None,
    pseudonym: Pseudonym = None,
) -> StreamingResponse:
    gateway, principal = _auditor(request)
    types = RECORD_TYPES if type == "all" else (type,)
    flt = _filter(
        gateway, principal, since=since, until=until, bot=bot, user=user, verdict=verdict,
        rule=rule, policy_version=policy_version, types=types,
    )  # fmt: skip
    flt = replace(flt, text_hash=normal_hash(text_hash), user=flt.user or pseudonym or None)
    filename = f"guardrail-audit-{principal.tenant}.{format}"
    return StreamingResponse(
        stream(gateway.audit, flt, format, tenant_view=True),
        media_type=MEDIA_TYPES[format],
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get(
    "/reports/{name}",
    response_model=schemas.AnyReport,
    response_model_exclude_unset=True,
    summary="A compliance report (GET /v1/audit/reports lists them): counts, never a user",
    responses={
        200: {
            "description": "the report, JSON or (format=csv) field,value rows",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        }
    },
)
async def report(
    request: Request,
    name: str,
    year: Annotated[int | None, Query(ge=2000, le=2999)] = None,
    since: Since = None,
    until: Until = None,
    format: Literal["json", "csv"] = "json",
) -> dict[str, Any] | Response:
    gateway, principal = _auditor(request)
    build = REPORTS.get(name)
    if build is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"no report {name!r}; reports: {', '.join(REPORTS)}"
        )
    if year is not None:
        period = Period.year(year)
    elif since is None and until is None and name in STATUTE_YEAR_BEFORE:
        period = Period.year(gateway.clock().year - 1)  # statute reports: the year before
    else:
        period = Period(_when(since, "since"), _when(until, "until"))
    found = await build(gateway.audit, principal.tenant, period)
    if format == "csv":
        filename = f"guardrail-report-{name}-{principal.tenant}.csv"
        return Response(
            to_csv(found),
            media_type=MEDIA_TYPES["csv"],
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )
    return found


@router.get("/stats", response_model=schemas.ChartData, summary="What the console charts")
async def chart_data(
    request: Request, since: Since = None, until: Until = None, bot: Bot = None
) -> dict[str, Any]:
    gateway, principal = _auditor(request)
    period = Period(_when(since, "since"), _when(until, "until"))
    return await stats(gateway.audit, principal.tenant, period, bot=bot or None)
