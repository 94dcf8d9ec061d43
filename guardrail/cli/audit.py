"""``guardrail audit …``: verify, purge, query, export, report and rotate the key,
straight on the log.

These commands open the audit database themselves (no gateway needs to run): whoever
can run them already holds the file or the database URL, so they see every tenant
unless ``--tenant`` narrows it. All but ``purge`` and ``rotate-key`` open the log
read-only: they never create a file, a table or a key, and a mistyped path or a database
without an audit log is an error (exit 2), never an empty log that "verifies". The key
comes from outside the log (``GUARDRAIL_AUDIT_KEY``, the key file, the KMS hook), never
from the log itself unless ``--legacy-key-in-log`` says so for an old log.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys
from collections.abc import Awaitable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import ValidationError

from guardrail.audit.backend import AuditUnavailable, RecordFilter
from guardrail.audit.chain import PublishedHead, Verification
from guardrail.audit.export import ExportFormat, stream
from guardrail.audit.keys import KeyFile
from guardrail.audit.options import AuditOptions
from guardrail.audit.records import RECORD_TYPES
from guardrail.audit.reports import Period, parse_when
from guardrail.audit.statutes import REPORTS, to_csv
from guardrail.audit.trail import AuditIntegrityError, AuditTrail, open_backend, resolve_keys
from guardrail.config import load_settings
from guardrail.gateway import audit_options

T = TypeVar("T")

audit_app = typer.Typer(
    help="The audit trail: verify the chain, purge old records, query, export, report.",
    no_args_is_help=True,
)

Db = Annotated[
    Path | None, typer.Option("--db", help="audit SQLite file [default: from the config]")
]
Url = Annotated[str | None, typer.Option("--url", help="PostgreSQL URL of the audit log")]
Config = Annotated[Path | None, typer.Option("--config", help="gateway config YAML")]
Tenant = Annotated[str | None, typer.Option(help="only this tenant [default: every tenant]")]
Since = Annotated[str | None, typer.Option(help="from this date or time (inclusive)")]
Until = Annotated[str | None, typer.Option(help="up to this date or time (exclusive)")]
Bot = Annotated[str | None, typer.Option(help="only this bot")]
User = Annotated[str | None, typer.Option(help="raw user id (needs --tenant)")]
Verdict = Annotated[str | None, typer.Option(help="allow, rewrite, defer or block")]
Rule = Annotated[str | None, typer.Option(help="a rule id or family such as crisis.*")]
Version = Annotated[str | None, typer.Option("--policy-version", help="sha256:… version")]


LegacyKey = Annotated[
    bool,
    typer.Option(
        "--legacy-key-in-log",
        help="use the key an old log keeps in itself (proves nothing against whoever had the "
        "file; for logs written before the key file)",
    ),
]


def _options(db: Path | None, url: str | None, config: Path | None) -> AuditOptions:
    try:
        settings = load_settings(config, audit_db=str(db) if db else None, audit_url=url)
    except (ValidationError, ValueError, OSError) as exc:
        typer.echo(f"cannot open the audit log: {exc}", err=True)
        raise typer.Exit(2) from exc
    return dataclasses.replace(audit_options(settings), generate_key=False)


def _trail(
    db: Path | None,
    url: str | None,
    config: Path | None,
    *,
    read_only: bool = True,
    legacy_key_in_log: bool = False,
) -> AuditTrail:
    backend = None
    options = dataclasses.replace(_options(db, url, config), legacy_key_in_log=legacy_key_in_log)
    try:
        backend = open_backend(options, read_only=read_only)
        return AuditTrail(backend, resolve_keys(options, backend))
    except (ValueError, OSError, AuditUnavailable) as exc:
        if backend is not None:
            backend.close()
        typer.echo(f"cannot open the audit log: {exc}", err=True)
        raise typer.Exit(2) from exc


def _run(trail: AuditTrail, work: Awaitable[T]) -> T:
    async def main() -> T:
        try:
            return await work
        finally:
            await trail.close()

    try:
        return asyncio.run(main())
    except AuditUnavailable as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc


def _when(value: str | None) -> Any:
    if value is None:
        return None
    try:
        return parse_when(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc


def _filter(
    trail: AuditTrail,
    *,
    tenant: str | None,
    since: str | None,
    until: str | None,
    bot: str | None = None,
    user: str | None = None,
    verdict: str | None = None,
    rule: str | None = None,
    policy_version: str | None = None,
    types: tuple[str, ...] | None = ("decision",),
) -> RecordFilter:
    if user and not tenant:
        raise typer.BadParameter("--user needs --tenant: pseudonyms are per tenant")
    return RecordFilter(
        tenant=tenant,
        include_global=tenant is not None,
        types=types,
        since=_when(since),
        until=_when(until),
        bot=bot,
        user=trail.pseudonyms(tenant, user) if user and tenant else None,
        verdict=verdict,
        rule=rule,
        policy_version=policy_version,
    )


def _published(value: str | None, witness: str | None = None) -> PublishedHead | None:
    """``--head``: the JSON ``guardrail audit head`` printed, or a file holding it; else
    the witness file the configuration names, when it exists."""
    if value is None:
        if witness is None:
            return None
        if not Path(witness).exists():
            typer.echo(f"note: no published head yet at {witness} (the witness file)", err=True)
            return None
        value = witness
    text = value
    if not value.lstrip().startswith("{"):
        try:
            text = Path(value).read_text(encoding="utf-8")
        except OSError as exc:
            raise typer.BadParameter(f"cannot read {value}: {exc}") from exc
    try:
        return PublishedHead.parse(json.loads(text))
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc


@audit_app.command("verify")
def verify(
    db: Db = None,
    url: Url = None,
    config: Config = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the result as JSON")] = False,
    head: Annotated[
        str | None,
        typer.Option(help="a head published earlier (its JSON, or a file): the log must hold it"),
    ] = None,
    legacy: Annotated[
        bool,
        typer.Option(
            help="accept an old log as it is: plain SHA-256 hashes at its head, no signed head row"
        ),
    ] = False,
    legacy_key_in_log: LegacyKey = False,
) -> None:
    """Recompute the keyed hash chain, check the log's signed head row and the published
    head (``--head``, else the configured witness file); exit 1 naming the first record
    that does not match."""
    published = _published(head, _options(db, url, config).witness_file)
    trail = _trail(db, url, config, legacy_key_in_log=legacy_key_in_log)
    legacy = legacy or legacy_key_in_log  # a log that keeps its key is an old log
    result = _run(trail, trail.verify(legacy=legacy, published=published))
    _print_verification(result, as_json=as_json, published=published)


def _print_verification(
    result: Verification, *, as_json: bool, published: PublishedHead | None
) -> None:
    if as_json:
        typer.echo(json.dumps(result.to_json(), indent=2))
    elif result.ok:
        start = (
            f" after checkpoint through seq {result.checkpoint['through_seq']}"
            if result.checkpoint
            else ""
        )
        against = (
            f"; holds the published head seq {published.seq} of {published.time}"
            if published
            else ""
        )
        old = f" ({result.unkeyed} with plain SHA-256 hashes)" if result.unkeyed else ""
        typer.echo(
            f"ok: {result.checked} records verified{old}{start}; "
            f"head seq {result.head_seq} hash {result.head_hash}{against}"
        )
    else:
        which = f" at record seq {result.bad_seq} (id {result.bad_id})" if result.bad_seq else ""
        typer.echo(f"BROKEN{which}: {result.problem}")
    if not result.ok:
        raise typer.Exit(1)


@audit_app.command("head")
def head(
    db: Db = None, url: Url = None, config: Config = None, legacy_key_in_log: LegacyKey = False
) -> None:
    """Verify the chain, then print its head (seq, hash, time) signed with the audit key:
    publish or timestamp it elsewhere, and check the log against it later with
    ``verify --head``."""
    trail = _trail(db, url, config, legacy_key_in_log=legacy_key_in_log)
    result, signed = _run(trail, trail.head())
    if signed is None:
        _print_verification(result, as_json=False, published=None)
        return
    typer.echo(json.dumps(signed.to_json()))


@audit_app.command("rotate-key")
def rotate_key(db: Db = None, url: Url = None, config: Config = None) -> None:
    """Put a fresh key in the key file (the old one stays, to verify older records) and
    record the rotation in the log; restart every gateway process afterwards (until then,
    a process with only the old key refuses to append rather than fork the chain's keys)."""
    options = _options(db, url, config)
    if options.secret is not None or options.key_provider or not options.key_file:
        typer.echo(
            "rotate-key rotates the key file; the key comes from GUARDRAIL_AUDIT_KEY or a "
            "provider here: rotate it there (the old key goes to audit_previous_keys)",
            err=True,
        )
        raise typer.Exit(2)
    file = KeyFile(Path(options.key_file))
    try:
        old, new = file.rotate()
    except (OSError, ValueError, AuditUnavailable) as exc:
        typer.echo(f"cannot rotate the audit key: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"audit key rotated in {file.where}: key id {old.key_id} -> {new.key_id}")
    trail = _trail(db, url, config, read_only=False)

    if _run(trail, trail.rotate()):
        typer.echo("rotation recorded in the audit log; restart the gateway processes")
    else:
        typer.echo("the audit log already names the new key")


@audit_app.command("purge")
def purge(
    before: Annotated[str, typer.Option(help="remove records older than this date or time")],
    db: Db = None,
    url: Url = None,
    config: Config = None,
) -> None:
    """Remove old records, leaving an HMAC-signed checkpoint the rest verifies from."""
    trail = _trail(db, url, config, read_only=False)
    try:
        checkpoint = _run(trail, trail.purge(_when(before), actor="cli"))
    except AuditIntegrityError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from exc
    if checkpoint is None:
        typer.echo("nothing to purge")
        return
    body = checkpoint.body
    typer.echo(
        f"purged {body['purged']} records through seq {body['through_seq']}; "
        f"checkpoint {json.dumps({**body, 'signature': checkpoint.signature})}"
    )


@audit_app.command("query")
def query(
    db: Db = None,
    url: Url = None,
    config: Config = None,
    tenant: Tenant = None,
    since: Since = None,
    until: Until = None,
    bot: Bot = None,
    user: User = None,
    verdict: Verdict = None,
    rule: Rule = None,
    policy_version: Version = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
    cursor: Annotated[str | None, typer.Option(help="next cursor printed before")] = None,
) -> None:
    """Print matching decisions as JSON lines, newest first."""
    trail = _trail(db, url, config)
    flt = _filter(
        trail, tenant=tenant, since=since, until=until, bot=bot, user=user, verdict=verdict,
        rule=rule, policy_version=policy_version,
    )  # fmt: skip
    rows, next_cursor = _run(trail, trail.query(flt, cursor=cursor, limit=limit))
    for row in rows:
        typer.echo(json.dumps(row.view(), ensure_ascii=False))
    if next_cursor:
        typer.echo(f"more: --cursor {next_cursor}", err=True)


@audit_app.command("export")
def export(
    db: Db = None,
    url: Url = None,
    config: Config = None,
    fmt: Annotated[str, typer.Option("--format", help="jsonl or csv")] = "jsonl",
    record_type: Annotated[
        str, typer.Option("--type", help="decision, consent, policy_reload, purge or all")
    ] = "decision",
    out: Annotated[Path | None, typer.Option(help="file to write [default: stdout]")] = None,
    tenant: Tenant = None,
    since: Since = None,
    until: Until = None,
    bot: Bot = None,
    user: User = None,
    verdict: Verdict = None,
    rule: Rule = None,
    policy_version: Version = None,
) -> None:
    """Write records oldest first as JSON Lines or CSV."""
    if fmt not in ("jsonl", "csv"):
        raise typer.BadParameter("--format must be jsonl or csv")
    if record_type != "all" and record_type not in RECORD_TYPES:
        raise typer.BadParameter(f"--type must be one of {', '.join(RECORD_TYPES)} or all")
    trail = _trail(db, url, config)
    types = RECORD_TYPES if record_type == "all" else (record_type,)
    flt = _filter(
        trail, tenant=tenant, since=since, until=until, bot=bot, user=user, verdict=verdict,
        rule=rule, policy_version=policy_version, types=types,
    )  # fmt: skip
    export_format: ExportFormat = "csv" if fmt == "csv" else "jsonl"

    async def write() -> int:
        count = 0
        target = out.open("w", encoding="utf-8", newline="") if out else sys.stdout
        try:
            async for chunk in stream(trail, flt, export_format):
                target.write(chunk)
                count += 1
        finally:
            if out:
                target.close()
        return count - (export_format == "csv")

    written = _run(trail, write())
    if out:
        typer.echo(f"{written} records written to {out}", err=True)


@audit_app.command("report")
def report(
    name: Annotated[str, typer.Argument(help=", ".join(REPORTS))],
    db: Db = None,
    url: Url = None,
    config: Config = None,
    tenant: Tenant = None,
    year: Annotated[int | None, typer.Option(help="a calendar year (UTC)")] = None,
    since: Since = None,
    until: Until = None,
    report_format: Annotated[
        str, typer.Option("--format", help="json, or csv (field,value rows)")
    ] = "json",
) -> None:
    """Print a report (JSON or CSV, no personal data)."""
    build = REPORTS.get(name)
    if build is None:
        raise typer.BadParameter(f"no report {name!r}; reports: {', '.join(REPORTS)}")
    if report_format not in ("json", "csv"):
        raise typer.BadParameter(f"--format must be json or csv, not {report_format!r}")
    period = Period.year(year) if year is not None else Period(_when(since), _when(until))
    trail = _trail(db, url, config)
    found = _run(trail, build(trail, tenant, period))
    if report_format == "csv":
        typer.echo(to_csv(found), nl=False)
    else:
        typer.echo(json.dumps(found, indent=2))
