"""The ``guardrail`` command: serve the gateway, check policies."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from guardrail.audit.cli import audit_app
from guardrail.config import load_settings
from guardrail.policy import PolicyError, load_policy_set
from guardrail.policy.schema import Policy

app = typer.Typer(
    help="Safety and wellbeing gateway for proactive AI bot outreach.", no_args_is_help=True
)
policy_app = typer.Typer(
    help="Validate and test policies, print their schema.", no_args_is_help=True
)
app.add_typer(policy_app, name="policy")
app.add_typer(audit_app, name="audit")


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
) -> None:
    """Start the gateway (SQLite state and the default policy unless told otherwise)."""
    import uvicorn

    from guardrail.app import create_app

    try:
        settings = load_settings(
            config, host=host, port=port, db=db, redis_url=redis, policy=policy
        )
        if settings.policy:
            load_policy_set(settings.policy)
    except PolicyError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    except (ValidationError, ValueError, OSError) as exc:
        typer.echo(f"configuration error: {exc}", err=True)
        raise typer.Exit(2) from exc
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    store = (
        f"redis {settings.redis_url}"
        if settings.redis_url
        else f"sqlite {settings.db or 'guardrail.db'}"
    )
    typer.echo(
        f"guardrail on http://{settings.host}:{settings.port} ({store}; docs at /docs)", err=True
    )
    uvicorn.run(
        create_app(settings, reload_on_sighup=True),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        access_log=False,
    )


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
    from guardrail.policy.testing import run_policy_tests

    report = run_policy_tests(paths)
    for line in report.lines():
        typer.echo(line)
    if not report.ok:
        raise typer.Exit(1)


@policy_app.command("schema")
def schema() -> None:
    """Print the policy JSON Schema (point your editor's YAML support at it)."""
    typer.echo(json.dumps(Policy.model_json_schema(), indent=2))


if __name__ == "__main__":
    app()
