"""Exports of audit records as JSON Lines or CSV, produced a page at a time.

JSON Lines carry each record whole (body plus chain links), so the operator's export can
be verified offline; a tenant's export (``tenant_view``) leaves out each record's place in
the shared chain. CSV flattens the common fields for spreadsheets, nested values as JSON.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from typing import Any, Literal

import orjson

from guardrail.audit.backend import RecordFilter
from guardrail.audit.records import AuditRecord
from guardrail.audit.trail import AuditTrail

ExportFormat = Literal["jsonl", "csv"]

CSV_FIELDS = (
    "seq", "id", "type", "ts", "tenant", "bot", "user", "channel", "kind", "verdict",
    "rules", "policy", "policy_version", "retry_after", "text_hmac", "delivered_hmac",
    "delivered_text", "delivered_text_omitted", "text_sha256", "delivered_sha256", "action",
    "scope", "source", "received_at", "honoured_at", "reasons", "scores", "prev_hash", "hash",
)  # fmt: skip

MEDIA_TYPES: dict[str, str] = {"jsonl": "application/x-ndjson", "csv": "text/csv; charset=utf-8"}


def jsonl_line(record: AuditRecord, *, tenant_view: bool = False) -> str:
    view = record.tenant_view() if tenant_view else record.view()
    return orjson.dumps(view).decode() + "\n"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        text = " ".join(value)
    elif isinstance(value, dict | list):
        text = orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    else:
        text = str(value)
    # A leading = + - @ makes spreadsheets evaluate the cell as a formula.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_line(values: list[str] | tuple[str, ...]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(values)
    return out.getvalue()


def csv_row(record: AuditRecord, *, tenant_view: bool = False) -> str:
    view = record.tenant_view() if tenant_view else record.view()
    return csv_line([_cell(view.get(name)) for name in CSV_FIELDS])


async def stream(
    trail: AuditTrail, flt: RecordFilter, fmt: ExportFormat, *, tenant_view: bool = False
) -> AsyncIterator[str]:
    """The export, oldest record first; pages are read as the client consumes them."""
    if fmt == "csv":
        yield csv_line(CSV_FIELDS)
    render = csv_row if fmt == "csv" else jsonl_line
    async for record in trail.iter_records(flt):
        yield render(record, tenant_view=tenant_view)
