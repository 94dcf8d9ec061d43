"""Processes opening one new SQLite file at the same instant all get it (replicas and
``serve --workers`` start together): the switch to WAL is retried while another holds it."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from guardrail.sqlite_tx import connect_wal


def _open(path: str, barrier: multiprocessing.synchronize.Barrier) -> None:
    from guardrail.audit.sqlite import SQLiteAudit
    from guardrail.state.sqlite import SQLiteStore

    barrier.wait()
    SQLiteStore(path)
    SQLiteAudit(f"{path}-audit")


@pytest.mark.slow
def test_processes_opening_a_new_file_together_all_succeed(tmp_path: Path) -> None:
    context = multiprocessing.get_context("fork")
    for round_ in range(4):
        path = str(tmp_path / f"state-{round_}.db")
        barrier = context.Barrier(6)
        procs = [context.Process(target=_open, args=(path, barrier)) for _ in range(6)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(timeout=60)
        assert [p.exitcode for p in procs] == [0] * 6


def test_connect_wal_gives_a_wal_connection(tmp_path: Path) -> None:
    db = connect_wal(str(tmp_path / "x.db"), "FULL")
    assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert db.execute("PRAGMA synchronous").fetchone() == (2,)
    assert db.execute("PRAGMA busy_timeout").fetchone() == (5000,)
