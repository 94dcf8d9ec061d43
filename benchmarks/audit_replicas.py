"""Decisions/s and latency with the audit log on PostgreSQL: 2 replicas, Redis + Postgres.

Starts real gateway processes (``guardrail serve``) on the Redis store and drives
``POST /v1/outreach/check`` (every decision allowed, so each one commits to Redis and
appends one keyed audit record) over keep-alive connections spread across the replicas.
Two set-ups, the same load:

- ``redis+sqlite``: one replica on Redis with its SQLite audit file, and
  ``2x redis+sqlite``: two replicas on one host sharing that file: the Redis store's
  decision rate the shared log has to keep up with;
- ``2x redis+postgres``: two replicas on Redis appending to one PostgreSQL audit chain
  (a fresh schema of the ``--pg`` database, dropped afterwards).

Afterwards the Postgres chain is verified (one chain, every decision in it).

    python benchmarks/audit_replicas.py [--requests 4000] [--concurrency 16] [--pg URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

os.environ["GUARDRAIL_CLASSIFIERS"] = "false"  # the deterministic path, as http_load.py
os.environ.setdefault("HF_HUB_OFFLINE", "1")
from benchmarks.http_load import BOT, COMMIT_POLICY, TEXT, Connection, seed  # noqa: E402
from tests.audit_support import AUDIT_KEY  # noqa: E402
from tests.conftest import REDIS_URL  # noqa: E402
from tests.gateways import gateway_processes  # noqa: E402


async def drive(
    urls: list[str], users: list[str], total: int, concurrency: int
) -> dict[str, object]:
    """``concurrency`` connections, spread round-robin over the replicas."""
    latencies: list[float] = []
    verdicts: Counter[str] = Counter()
    errors = 0
    issued = 0

    async def worker(url: str) -> None:
        nonlocal issued, errors
        conn = await Connection.open(url)
        while issued < total:
            user = users[issued % len(users)]
            issued += 1
            body = json.dumps(
                {"bot_id": BOT, "user_id": user, "channel": "messenger", "kind": "proactive",
                 "text": TEXT, "user": {"timezone": "Europe/Paris"}}
            ).encode()  # fmt: skip
            started = time.perf_counter()
            status, payload = await conn.post("/v1/outreach/check", body)
            latencies.append(time.perf_counter() - started)
            if status == 200:
                verdicts[json.loads(payload)["verdict"]] += 1
            else:
                errors += 1
        conn.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker(urls[i % len(urls)]) for i in range(concurrency)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    q = statistics.quantiles(latencies, n=100)
    return {
        "requests": len(latencies),
        "seconds": round(elapsed, 2),
        "decisions_per_s": round(len(latencies) / elapsed),
        "p50_ms": round(q[49] * 1000, 2),
        "p99_ms": round(q[98] * 1000, 2),
        "errors": errors,
        "verdicts": dict(verdicts),
    }


def run_setup(
    name: str, replicas: int, pg_url: str | None, args: argparse.Namespace
) -> list[dict[str, object]]:
    run = uuid.uuid4().hex[:8]
    users = [f"bench-{run}-{i}" for i in range(args.users)]
    saved = dict(os.environ)
    os.environ["GUARDRAIL_AUDIT_KEY"] = AUDIT_KEY
    if pg_url:
        os.environ["GUARDRAIL_AUDIT_URL"] = pg_url
    try:
        with tempfile.TemporaryDirectory() as tmp:
            policy = Path(tmp) / "commits.yaml"
            policy.write_text(COMMIT_POLICY % "false")
            flags = ("--redis", REDIS_URL, "--policy", str(policy))
            with gateway_processes(replicas, *flags, log_dir=Path(tmp)) as urls:
                for url in urls:
                    asyncio.run(seed(url, users))
                asyncio.run(drive(urls, users, min(1000, args.requests), 16))  # warm-up
                results = [
                    {"setup": name, "replicas": replicas, "concurrency": concurrency,
                     **asyncio.run(drive(urls, users, args.requests, concurrency))}
                    for concurrency in args.concurrency
                ]  # fmt: skip
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return results


def verify_chain(pg_url: str) -> dict[str, object]:
    from guardrail.audit import AuditTrail
    from guardrail.audit.postgres import PostgresAudit
    from guardrail.audit.pseudonym import AuditKey

    trail = AuditTrail(PostgresAudit(pg_url, read_only=True), AuditKey(AUDIT_KEY.encode()))
    result = asyncio.run(trail.verify())
    asyncio.run(trail.close())
    return {"chain_ok": result.ok, "chain_records": result.checked}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[16, 64])
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--pg", default="postgresql://127.0.0.1:5432/test")
    parser.add_argument("--out", type=Path, help="also write the results as JSON here")
    args = parser.parse_args()

    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(args.pg, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    pg_url = f"{args.pg}?options=-csearch_path%3D{schema}"
    results: list[dict[str, object]] = []
    try:
        for name, replicas, url in (
            ("redis+sqlite", 1, None),
            ("2x redis+sqlite", 2, None),
            ("2x redis+postgres", 2, pg_url),
        ):
            rows = run_setup(name, replicas, url, args)
            if url:
                rows[-1].update(verify_chain(url))
            for row in rows:
                print(json.dumps(row), flush=True)
            results += rows
    finally:
        with psycopg.connect(args.pg, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")
    meta = {"cpus": os.cpu_count(), "python": platform.python_version()}
    if args.out:
        args.out.write_text(json.dumps({"meta": meta, "results": results}, indent=2))


if __name__ == "__main__":
    main()
