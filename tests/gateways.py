"""Run real gateway processes (``python -m guardrail.cli serve``) for multi-replica tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import API_KEY, free_port


@contextmanager
def gateway_processes(
    count: int, *args: str, log_dir: Path, with_pids: bool = False
) -> Iterator[list[Any]]:
    """Start ``count`` gateways with the same arguments; yield their base URLs.

    With ``with_pids``, yield (url, pid) pairs (benchmarks read the server's CPU time).
    """
    env = {**os.environ, "GUARDRAIL_API_KEY": API_KEY, "HF_HUB_OFFLINE": "1"}
    if "GUARDRAIL_AUDIT_URL" not in env:  # the audit log goes here, not the working folder
        env.setdefault("GUARDRAIL_AUDIT_DB", str(log_dir / "audit.db"))
    procs: list[subprocess.Popen[bytes]] = []
    urls: list[str] = []
    try:
        for i in range(count):
            port = free_port()
            log = (log_dir / f"gateway-{i}.log").open("wb")
            cmd = [sys.executable, "-m", "guardrail.cli", "serve", "--port", str(port), *args]
            procs.append(subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT))
            urls.append(f"http://127.0.0.1:{port}")
        for url, proc in zip(urls, procs, strict=True):
            _wait_ready(url, proc, log_dir)
        yield [(u, p.pid) for u, p in zip(urls, procs, strict=True)] if with_pids else urls
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


READY_S = 180.0
"""How long a fresh gateway process may take to say ready: /readyz waits for what the
policy needs (the PII detectors, the classifier stack when on), more on a loaded machine."""


def _wait_ready(url: str, proc: subprocess.Popen[bytes], log_dir: Path) -> None:
    deadline = time.monotonic() + READY_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            logs = "\n".join(p.read_text() for p in log_dir.glob("gateway-*.log"))
            raise RuntimeError(f"gateway exited with {proc.returncode}:\n{logs}")
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"gateway at {url} not ready in {READY_S:g} s")


FIRST_USE_S = 90.0
"""Client timeout for a fresh gateway process: its first allowed message loads the PII
pipeline (spaCy, Presidio) lazily, which takes seconds, more on a loaded CI machine."""
