"""``guardrail serve --workers N``: N gateway processes on one port, sharing the store.

Each worker is a fresh process (``spawn``) that builds its own app: :func:`worker_app`
reads the serve command's arguments from the environment (the config file and the
command-line overrides, never the secrets' values) and loads the settings again, exactly
as the command did. SQLite (WAL) and Redis already serve several processes: caps, consent
and the audit chain stay exact across workers. Each worker loads its own models (memory
grows with N).

Each worker listens on its own socket bound with ``SO_REUSEPORT``, so the kernel spreads
new connections across the workers. uvicorn's own supervisor shares one listening socket
instead, and the first worker to wake accepts every connection waiting: measured, eight
keep-alive connections opened together all went to one of two workers (139 msg/s where
spreading them gave 211). The supervisor here restarts a worker that dies, forwards
SIGHUP (policy reload) to the workers and stops them all on SIGINT or SIGTERM.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import shutil
import signal
import socket
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.process import BaseProcess
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, Final

from guardrail.logs import LogFormat
from guardrail.logs import configure as configure_logging
from guardrail.metrics import MULTIPROC_ENV

if TYPE_CHECKING:
    from fastapi import FastAPI

log = logging.getLogger("guardrail")

SERVE_ENV: Final = "_GUARDRAIL_SERVE_ARGS"
"""The serve command's arguments, as JSON, for its worker processes."""
EARLY_EXIT_S: Final = 10.0
"""A worker that fails (exits with an error) this soon after starting is broken, not
unlucky: stop them all rather than loop. A worker killed by a signal is restarted."""


def export_serve_args(config: Path | None, overrides: dict[str, Any]) -> None:
    """Put the serve command's arguments where :func:`worker_app` finds them."""
    values = {k: str(v) if isinstance(v, Path) else v for k, v in overrides.items()}
    os.environ[SERVE_ENV] = json.dumps({"config": str(config) if config else None, **values})


def worker_app() -> FastAPI:
    """The app of one worker process."""
    from guardrail.app import create_app
    from guardrail.config import load_settings

    raw = os.environ.get(SERVE_ENV)
    if raw is None:
        raise RuntimeError(f"{SERVE_ENV} is not set: start workers with `guardrail serve`")
    args = json.loads(raw)
    config = args.pop("config")
    settings = load_settings(Path(config) if config else None, **args)
    return create_app(settings, reload_on_sighup=True)


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


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` with ``SO_REUSEPORT``, listening."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _run_worker(host: str, port: int, log_level: str, log_format: LogFormat) -> None:
    """One worker process: its own socket, one uvicorn server (it handles SIGTERM)."""
    import uvicorn

    configure_logging(log_level, log_format)
    config = uvicorn.Config(
        "guardrail.workers:worker_app",
        factory=True,
        host=host,
        port=port,
        log_level=log_level,
        log_config=None,  # guardrail.logs configured the process
        access_log=log_format == "json",
    )
    uvicorn.Server(config).run(sockets=[listening_socket(host, port)])


def _forget_metrics(pid: int | None) -> None:
    """Drop a dead worker's live gauges (``livemax``, ``livemostrecent``): its values must not
    stand for the running workers'."""
    if pid is not None and os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]


def serve_workers(
    workers: int, host: str, port: int, log_level: str, log_format: LogFormat = "text"
) -> int:
    """Run ``workers`` worker processes until SIGINT/SIGTERM; the exit status to return."""
    context = multiprocessing.get_context("spawn")
    stopping = False
    running: list[tuple[BaseProcess, float]] = []

    def start() -> tuple[BaseProcess, float]:
        process = context.Process(
            target=_run_worker, args=(host, port, log_level, log_format), daemon=False
        )
        process.start()
        log.info("started worker process [%s]", process.pid)
        return process, time.monotonic()

    def on_stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    def on_hup(signum: int, frame: FrameType | None) -> None:
        for process, _ in running:
            if process.pid is not None and process.is_alive():
                os.kill(process.pid, signal.SIGHUP)

    probe = listening_socket(host, port)  # fail here, with a clear error, if taken
    probe.close()
    previous = {s: signal.signal(s, on_stop) for s in (signal.SIGINT, signal.SIGTERM)}
    previous[signal.SIGHUP] = signal.signal(signal.SIGHUP, on_hup)
    running.extend(start() for _ in range(workers))
    status = 0
    try:
        while not stopping:
            time.sleep(0.2)
            for i, (process, started) in enumerate(running):
                if process.is_alive() or stopping:
                    continue
                failed = (process.exitcode or 0) > 0  # an error, not a signal (kill -9)
                if failed and time.monotonic() - started < EARLY_EXIT_S:
                    log.error("worker [%s] exited with %s at start", process.pid, process.exitcode)
                    status, stopping = 3, True
                    break
                log.warning("worker [%s] died (%s); restarting", process.pid, process.exitcode)
                _forget_metrics(process.pid)
                running[i] = start()
    finally:
        for process, _ in running:
            if process.pid is not None and process.is_alive():
                os.kill(process.pid, signal.SIGTERM)
        for process, _ in running:
            process.join(timeout=15)
            if process.is_alive():
                process.kill()
                process.join()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return status
