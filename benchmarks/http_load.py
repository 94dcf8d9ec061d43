"""Load benchmark of the deterministic decision path over HTTP on loopback.

Starts a real gateway process (``guardrail serve``) per store, seeds users who have
written to the bot, then drives ``POST /v1/outreach/check`` with concurrent keep-alive
connections from this process and reports decisions/s and latency percentiles.

The client is a minimal HTTP/1.1 keep-alive loop on asyncio streams rather than httpx,
so that on a small machine the load generator does not eat the CPU it is measuring.

    python benchmarks/http_load.py [--stores sqlite redis] [--requests 20000] [--concurrency 8 32]
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
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import API_KEY, REDIS_URL  # noqa: E402

# The deterministic path: no classifier stack in the served gateway (the PII stage, when a
# workload's policy turns it on, still loads on first use, during the warm-up).
os.environ["GUARDRAIL_CLASSIFIERS"] = "false"
from tests.gateways import gateway_processes  # noqa: E402

# "commits": a policy under which every decision is allowed, so each one runs the atomic
# commit (cap re-check and write), with the PII stage off: the deterministic path;
# "commits-pii": the same with the default PII stage on (spaCy + Presidio on every message,
# and again for the audit record's redacted text); "refusals": the default policy, where
# after each user's first allowed message the rules refuse (block or, at night, defer)
# without writing and before any content analysis.
COMMIT_POLICY = """\
name: bench-commits
rules:
  unanswered: {max_unanswered: 1000000}
  frequency_caps: {caps: [{scope: bot, limit: 1000000, window: 1d}]}
  quiet_hours: {enabled: false}
  pii: {enabled: %s}
"""
BOT = "maestro-cinema"
TEXT = "I hope you're having a wonderful day! Discovered any new soundtracks lately?"


class Connection:
    """One keep-alive HTTP/1.1 connection; enough protocol for JSON POSTs to our server."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str
    ) -> None:
        self.reader, self.writer, self.host = reader, writer, host

    @classmethod
    async def open(cls, url: str) -> Connection:
        host, port = url.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        return cls(reader, writer, f"{host}:{port}")

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nAuthorization: Bearer {API_KEY}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        self.writer.write(head.encode() + body)
        status_line = await self.reader.readline()
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
        return int(status_line.split()[1]), await self.reader.readexactly(length)

    def close(self) -> None:
        self.writer.close()


async def seed(url: str, users: list[str]) -> None:
    """Each user wrote 5 messages over the last 3 days, so outreach passes engagement rules."""
    conn = await Connection.open(url)
    now = datetime.now(UTC)
    for user in users:
        for i in range(5):
            ts = (now - timedelta(hours=1 + 14 * i)).isoformat()
            event = {"type": "user_message", "bot_id": BOT, "user_id": user, "text": "hi", "ts": ts}
            status, body = await conn.post("/v1/events", json.dumps(event).encode())
            assert status == 200, body
    conn.close()


async def drive(url: str, users: list[str], total: int, concurrency: int) -> dict[str, object]:
    latencies: list[float] = []
    verdicts: Counter[str] = Counter()
    errors = 0
    issued = 0

    async def worker() -> None:
        nonlocal issued, errors
        conn = await Connection.open(url)
        while issued < total:
            user = users[issued % len(users)]
            issued += 1
            body = json.dumps(
                {
                    "bot_id": BOT,
                    "user_id": user,
                    "channel": "messenger",
                    "kind": "proactive",
                    "text": TEXT,
                    "user": {"timezone": "Pacific/Kiritimati" if issued % 2 else "Europe/Paris"},
                }
            ).encode()
            started = time.perf_counter()
            status, payload = await conn.post("/v1/outreach/check", body)
            latencies.append(time.perf_counter() - started)
            if status == 200:
                verdicts[json.loads(payload)["verdict"]] += 1
            else:
                errors += 1
        conn.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    q = statistics.quantiles(latencies, n=100)
    return {
        "requests": len(latencies),
        "seconds": round(elapsed, 2),
        "decisions_per_s": round(len(latencies) / elapsed),
        "p50_ms": round(q[49] * 1000, 2),
        "p99_ms": round(q[98] * 1000, 2),
        "max_ms": round(latencies[-1] * 1000, 2),
        "errors": errors,
        "verdicts": dict(verdicts),
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_store(store: str, args: argparse.Namespace, workdir: Path) -> list[dict[str, object]]:
    run = uuid.uuid4().hex[:8]
    users = [f"bench-{run}-{i}" for i in range(args.users)]
    flags: tuple[str, ...] = (
        ("--redis", REDIS_URL) if store == "redis" else ("--db", str(workdir / f"{run}.db"))
    )
    if args.workload in ("commits", "commits-pii"):
        policy = workdir / "commits.yaml"
        policy.write_text(COMMIT_POLICY % str(args.workload == "commits-pii").lower())
        flags += ("--policy", str(policy))
    results = []
    with gateway_processes(1, *flags, log_dir=workdir, with_pids=True) as [(url, pid)]:
        asyncio.run(seed(url, users))
        asyncio.run(drive(url, users, min(2000, args.requests), 8))  # warm-up
        for concurrency in args.concurrency:
            cpu_before = cpu_seconds(pid)
            result = asyncio.run(drive(url, users, args.requests, concurrency))
            cpu_ms = (cpu_seconds(pid) - cpu_before) * 1000 / args.requests
            row = {"store": store, "workload": args.workload, "concurrency": concurrency}
            results.append({**row, **result, "server_cpu_ms_per_decision": round(cpu_ms, 3)})
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--stores", nargs="+", default=["sqlite", "redis"], choices=["sqlite", "redis"]
    )
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[8, 32])
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument(
        "--workload", choices=["refusals", "commits", "commits-pii"], default="refusals"
    )
    parser.add_argument("--out", type=Path, help="also write the results as JSON here")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for store in args.stores:
            for result in run_store(store, args, Path(tmp)):
                results.append(result)
                print(json.dumps(result), flush=True)
    meta = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "machine": platform.machine(),
    }
    if args.out:
        args.out.write_text(json.dumps({"meta": meta, "results": results}, indent=2))


if __name__ == "__main__":
    main()
