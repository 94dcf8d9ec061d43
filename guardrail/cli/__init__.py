"""The ``guardrail`` command: serve the gateway, check policies."""

from __future__ import annotations

import json
import logging
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit, urlunsplit

import typer
from pydantic import ValidationError

from guardrail import __version__
from guardrail.cli.audit import audit_app
from guardrail.config import ConfigError, Settings, load_settings, missing_secrets
from guardrail.logs import configure as configure_logging
from guardrail.policy import PolicyError, load_policy_set

app = typer.Typer(
    help="Safety and wellbeing gateway for proactive AI bot outreach.", no_args_is_help=True
)
policy_app = typer.Typer(
    help="Validate and test policies, print their schema.", no_args_is_help=True
)
app.add_typer(policy_app, name="policy")


def _version(show: bool) -> None:
    if show:
        typer.echo(f"guardrail {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="print the version"),
    ] = False,
) -> None:
    """Safety and wellbeing gateway for proactive AI bot outreach."""


app.add_typer(audit_app, name="audit")


def without_password(url: str) -> str:
    """``url`` with its password (and user name) replaced, fit for a terminal or a log."""
    parts = urlsplit(url)
    if parts.password is None and parts.username is None:
        return url
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def targets(settings: Settings) -> str:
    """Where state and the audit log go, as ``serve`` prints them (no secrets)."""
    if settings.redis_url:
        store = f"redis {without_password(settings.redis_url)}"
    else:
        store = f"sqlite {settings.db or 'guardrail.db'}"
    if settings.audit_url:
        return f"{store}; audit {without_password(settings.audit_url)}"
    return store


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="bind address [default: 127.0.0.1]")] = None,
    port: Annotated[int | None, typer.Option(help="port [default: 8080]")] = None,
    db: Annotated[str | None, typer.Option(help="SQLite file [default: ./guardrail.db]")] = None,
    redis: Annotated[str | None, typer.Option(help="Redis URL, for several replicas")] = None,
    policy: Annotated[
        Path | None, typer.Option(help="policy YAML file or folder [default: built-in]")
    ] = None,
    config: Annotated[
        Path | None, typer.Option(help="gateway config YAML (keys, bots, upstreams)")
    ] = None,
    workers: Annotated[
        int, typer.Option(min=1, help="worker processes sharing the port and the store")
    ] = 1,
) -> None:
    """Start the gateway (SQLite state and the default policy unless told otherwise)."""
    import uvicorn

    from guardrail.app import create_app
    from guardrail.workers import export_serve_args, serve_workers, shared_metrics

    given = {"host": host, "port": port, "db": db, "redis_url": redis, "policy": policy}
    overrides = {k: v for k, v in given.items() if v is not None}
    try:
        settings = load_settings(config, **overrides)
        problems = missing_secrets(settings)
        if problems:
            raise ConfigError(problems)
        if settings.policy:
            load_policy_set(settings.policy)
    except (PolicyError, ConfigError) as exc:  # file:line: key: message, one line each
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    except (ValidationError, ValueError, OSError) as exc:
        typer.echo(f"configuration error: {exc}", err=True)
        raise typer.Exit(2) from exc
    configure_logging(settings.log_level, settings.log_format)
    typer.echo(
        f"guardrail on http://{settings.host}:{settings.port} ({targets(settings)}; docs at /docs)",
        err=True,
    )
    if workers == 1:
        uvicorn.run(
            create_app(settings, reload_on_sighup=True),
            host=settings.host,
            port=settings.port,
            log_level=settings.log_level,
            log_config=None,  # guardrail.logs configured the process
            access_log=settings.log_format == "json",
        )
        return
    export_serve_args(config, overrides)
    try:
        with shared_metrics():
            status = serve_workers(
                workers, settings.host, settings.port, settings.log_level, settings.log_format
            )
    except OSError as exc:  # the port is taken, the address is not ours
        typer.echo(f"cannot listen on {settings.host}:{settings.port}: {exc}", err=True)
        raise typer.Exit(2) from exc
    raise typer.Exit(status)


class ClassifyRole(StrEnum):
    user = "user"
    bot = "bot"


class ClassifyPrecision(StrEnum):
    int8 = "int8"
    fp32 = "fp32"
    fp16 = "fp16"


def _classify_line(line: str) -> tuple[Any, str | None, str | None]:
    """(id, text, error) of one JSONL input line; id is None when it cannot be read."""
    try:
        item = json.loads(line)
    except json.JSONDecodeError as exc:
        return None, None, f"not JSON: {exc.msg} at column {exc.colno}"
    if not isinstance(item, dict):
        return None, None, 'expected an object {"id": ..., "text": ...}'
    ident = item.get("id")
    if "id" not in item or isinstance(ident, dict | list):
        return None, None, '"id" is missing or not a string/number'
    if not isinstance(item.get("text"), str):
        return ident, None, '"text" is missing or not a string'
    return ident, item["text"], None


@app.command("classify")
def classify_command(
    role: Annotated[ClassifyRole, typer.Option(help="who wrote the texts")],
    batch_size: Annotated[int, typer.Option(min=1, help="texts per forward pass")] = 32,
    device: Annotated[str | None, typer.Option(help="cpu or cuda [default: cuda if any]")] = None,
    precision: Annotated[
        ClassifyPrecision | None, typer.Option(help="[default: fp16 on CUDA, int8 on CPU]")
    ] = None,
    classifiers_config: Annotated[
        Path | None, typer.Option(help="YAML list of extra backends (hf, detoxify)")
    ] = None,
) -> None:
    """Classify JSONL {"id", "text"} from stdin: one JSON object per line on stdout, same id.

    A malformed line gives {"id": <id or null>, "error": ...} on stdout (outputs stay
    aligned with inputs) and a message with its line number on stderr; the exit status is
    1 if any line failed. Blank lines are skipped. Logs and progress go to stderr only.
    """
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s"
    )
    from classifiers.backends import BackendError
    from classifiers.results import scores_json
    from classifiers.stack import ClassifierStack

    try:
        stack = ClassifierStack.load(
            device=device,
            precision=precision.value if precision else None,
            backends=classifiers_config,
        )
    except (BackendError, ValueError, OSError) as exc:
        typer.echo(f"classify: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"classify: {json.dumps(stack.describe())}", err=True)
    pending: list[tuple[Any, str | None, str | None]] = []
    counts = {"done": 0, "failed": 0}

    def flush() -> None:
        texts = [text for _, text, error in pending if error is None and text is not None]
        try:
            results = iter(stack.classify(texts, role.value))
        except Exception as exc:  # a batch the model cannot take: every line says so
            logging.getLogger("guardrail").exception("batch failed")
            results = iter([])
            pending[:] = [(i, None, t if e else f"classifier error: {exc}") for i, t, e in pending]
        for ident, _, error in pending:
            if error is None:
                out = {"id": ident, **scores_json(next(results), role.value)}
            else:
                out = {"id": ident, "error": error}
                counts["failed"] += 1
            typer.echo(json.dumps(out, ensure_ascii=False))
            counts["done"] += 1
        sys.stdout.flush()
        pending.clear()
        typer.echo(f"classify: {counts['done']} lines, {counts['failed']} failed", err=True)

    for number, line in enumerate(sys.stdin, start=1):
        if not line.strip():
            continue
        ident, text, error = _classify_line(line)
        if error is not None:
            typer.echo(f"line {number}: {error}", err=True)
            error = f"line {number}: {error}"
        pending.append((ident, text, error))
        if sum(e is None for _, _, e in pending) >= batch_size:
            flush()
    if pending:
        flush()
    if counts["failed"]:
        raise typer.Exit(1)


@policy_app.command("validate")
def validate(
    paths: Annotated[list[Path], typer.Argument(help="policy files or folders (one set each)")],
) -> None:
    """Check policies, extends and match included; print each problem as file:line:column."""
    failed = False
    for path in paths:
        try:
            policies = load_policy_set(path)
        except PolicyError as exc:
            failed = True
            for problem in exc.problems:
                typer.echo(str(problem))
            continue
        for loaded in policies.members:
            role = policies.applies(loaded)
            typer.echo(f"{loaded.source}: ok ({loaded.policy.name}, {role}, {loaded.version})")
    if failed:
        raise typer.Exit(1)


@policy_app.command("test")
def test(
    paths: Annotated[
        list[Path], typer.Argument(help="test files, or policy folders (runs their tests/*.yaml)")
    ],
) -> None:
    """Run policy test cases; print PASS/FAIL with a diff for each; exit 1 on any failure."""
    from guardrail.service.policy_tests import run_policy_tests

    report = run_policy_tests(paths)
    for line in report.lines():
        typer.echo(line)
    if not report.ok:
        raise typer.Exit(1)


@policy_app.command("schema")
def schema(
    tests: Annotated[
        bool, typer.Option("--tests", help="the schema of policy test files instead")
    ] = False,
) -> None:
    """Print the JSON Schema of policy files (or test files) for editors and validators.

    It is what the loader accepts, shorthands included (24h, "21:00", PHONE_NUMBER: mask);
    policies/policy.schema.json and policies/policy-tests.schema.json are its output.
    """
    from guardrail.policy.json_schema import dumps, policy_schema, policy_tests_schema

    typer.echo(dumps(policy_tests_schema() if tests else policy_schema()), nl=False)
