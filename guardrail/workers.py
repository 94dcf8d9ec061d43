"""``guardrail serve --workers N``: N gateway processes on one port, sharing the store.

uvicorn's supervisor starts the workers as fresh processes, so each one builds its own
app: :func:`worker_app` reads the serve command's arguments from the environment (the
config file and the command-line overrides, never the secrets' values) and loads the
settings again, exactly as the command did. SQLite (WAL) and Redis already serve several
processes: caps, consent and the audit chain stay exact across workers. Each worker loads
its own models (memory grows with N) and takes its share of connections from the kernel.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from fastapi import FastAPI

SERVE_ENV: Final = "_GUARDRAIL_SERVE_ARGS"
"""The serve command's arguments, as JSON, for its worker processes."""
MULTIPROC_ENV: Final = "PROMETHEUS_MULTIPROC_DIR"
"""prometheus-client's multiprocess mode: each worker writes its metrics under this folder
and ``/metrics`` adds up every worker's (``guardrail.api.ops``)."""


@contextmanager
def shared_metrics() -> Iterator[Path]:
    """A metrics folder for the workers of one ``serve``: the operator's
    ``$PROMETHEUS_MULTIPROC_DIR`` when set (kept), else a fresh one, removed at exit (a
    restart must not add the last run's counts to this one's)."""
    given = os.environ.get(MULTIPROC_ENV)
    if given:
        Path(given).mkdir(parents=True, exist_ok=True)
        yield Path(given)
        return
    folder = Path(tempfile.mkdtemp(prefix="guardrail-metrics-"))
    os.environ[MULTIPROC_ENV] = str(folder)
    try:
        yield folder
    finally:
        del os.environ[MULTIPROC_ENV]
        shutil.rmtree(folder, ignore_errors=True)


def export_serve_args(config: Path | None, overrides: dict[str, Any]) -> None:
    """Put the serve command's arguments where :func:`worker_app` finds them."""
    values = {k: str(v) if isinstance(v, Path) else v for k, v in overrides.items()}
    os.environ[SERVE_ENV] = json.dumps({"config": str(config) if config else None, **values})


def worker_app() -> FastAPI:
    """The app of one worker process (uvicorn calls it, ``factory=True``)."""
    from guardrail.app import create_app
    from guardrail.config import load_settings

    raw = os.environ.get(SERVE_ENV)
    if raw is None:
        raise RuntimeError(f"{SERVE_ENV} is not set: start workers with `guardrail serve`")
    args = json.loads(raw)
    config = args.pop("config")
    settings = load_settings(Path(config) if config else None, **args)
    return create_app(settings, reload_on_sighup=True)
