"""The full check at line rate: every outbound message through PII and every classifier.

One run, on this machine, in this order (each part has the CPU to itself):

1. **naive pipeline**, in-process, no HTTP: Presidio's default ``AnalyzerEngine`` (its
   default recognizers and NLP configuration on the offline English spaCy pipeline) and one
   MiniLM forward pass (transformers, fp32, mean pooling) per message, one message at a
   time: what a team would write in an afternoon.
2. **raw encoder**: the gateway's sentence encoder alone (``$GUARDRAIL_ENCODER``, default
   the heads' own), one message per call.
3. **guardrail over HTTP** on loopback (``guardrail serve``, SQLite state, audit log on),
   classifiers loaded, under a policy that runs every content check on every message (PII,
   self-harm content and the trained bot check, sexual content, toxicity, manipulation with
   ``action: info``; caps, quiet hours and engagement out of the way):
   - closed loop, for each ``--concurrency`` (keep-alive connections);
   - open loop at ``--rate`` messages/s offered for ``--seconds``, latency counted from
     each request's scheduled time (a slow server cannot hide its queue);
   - inbound ``user_message`` events, closed loop at the first concurrency (each is
     assessed for self-harm and dependency by the classifiers).
   ``--workers`` repeats it all for each number of worker processes (``serve --workers``).
   For each: the server's CPU per message, broken down by stage from its
   ``guardrail_stage_cpu_seconds_total`` counters (``http+framework`` is what no stage
   claims: parsing, validation, serialisation, the event loop), and its resident memory.

Texts are unique (no cache hits): real chat turns (Topical-Chat English, XPersona French)
from ``--data`` when it is there, mixed with synthetic outreach carrying PII
(``benchmarks/pii_speed.py``), a quarter French.

    python benchmarks/full_path.py [--data ../shared/data] [--workers 1 2] [--out r.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import re
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.http_load import BOT, Connection, cpu_seconds  # noqa: E402
from guardrail.stages import STAGES  # noqa: E402
from tests.conftest import API_KEY  # noqa: E402

FULL_POLICY = """\
name: bench-full-check
rules:
  unanswered: {max_unanswered: 1000000}
  frequency_caps: {caps: [{scope: bot, limit: 1000000, window: 1d}]}
  engagement: {min_user_messages: 1}
  quiet_hours: {enabled: false}
  channel_window: {enabled: false}
  self_harm_content: {}
  self_harm_classifier: {enabled: true}
  sexual_content: {}
  toxicity: {enabled: true, action: block}
  manipulation: {enabled: true, action: info}
  pii: {enabled: true}
"""


# --------------------------------------------------------------------------- texts


def load_texts(data: Path, n: int, seed: int = 11) -> list[tuple[str, str]]:
    """``n`` unique (text, locale) pairs: real chat turns when ``data`` has them, a third
    synthetic outreach with PII, about a quarter French."""
    from benchmarks.pii_speed import make_messages

    rng = random.Random(seed)
    english: list[str] = []
    french: list[str] = []
    if (data / "topical_chat").is_dir() and (data / "xpersona_fr").is_dir():
        from classifiers.training.corpora import topical_chat, xpersona_fr

        english = [r.text for r in topical_chat(data, cap=10 * n)]
        french = [r.text for r in xpersona_fr(data)]
    synthetic = make_messages(max(n, 200), seed=seed)
    out: dict[str, str] = {}
    pools = [(english, "en-US"), (french, "fr-FR")]
    for i in range(40 * n):
        if len(out) >= n:
            break
        if i % 3 == 0 or not english:
            text, locale = synthetic[(i // 3) % len(synthetic)]
            if text in out:  # synthetic templates repeat: make the text unique, keep it real
                text = f"{text} ({rng.randint(2, 99)} min ago)"
        else:
            pool, locale = pools[1] if i % 4 == 1 and french else pools[0]
            text = pool[rng.randrange(len(pool))].strip()
        if 3 <= len(text) <= 600:
            out.setdefault(text, locale)
    if len(out) < n:
        raise SystemExit(f"only {len(out)} unique texts; lower the request counts")
    return list(out.items())


# --------------------------------------------------------------------------- in-process


def percentiles(seconds: Sequence[float]) -> dict[str, float]:
    q = statistics.quantiles(seconds, n=100)
    return {"p50_ms": round(q[49] * 1000, 2), "p99_ms": round(q[98] * 1000, 2)}


def naive_pipeline(texts: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """Presidio's default analyzer + one MiniLM fp32 forward per message, sequential."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    from benchmarks.pii_quality import default_presidio_analyzer
    from classifiers.encoder_minilm import model_dir

    analyzer = default_presidio_analyzer()
    tokenizer = AutoTokenizer.from_pretrained(model_dir())
    model = AutoModel.from_pretrained(model_dir()).eval()

    def one(text: str) -> None:
        analyzer.analyze(text, language="en")
        with torch.inference_mode():
            batch = tokenizer([text], return_tensors="pt", truncation=True, max_length=256)
            hidden = model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1)
            (hidden * mask).sum(1) / mask.sum(1)

    return _sequential(one, texts)


def raw_encoder(texts: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """The gateway's encoder alone, one message per call."""
    from classifiers.encoders import configured_encoder, shared_sentence_encoder
    from classifiers.self_harm import SelfHarmClassifier
    from classifiers.stack import head_encoder_name

    name = configured_encoder(
        os.environ.get("GUARDRAIL_ENCODER") or head_encoder_name(SelfHarmClassifier.load())
    )
    encoder = shared_sentence_encoder(name)
    result = _sequential(lambda text: encoder.encode_documents([text]), texts)
    return {"encoder": name, **result}


def _sequential(one: Callable[[str], Any], texts: Sequence[tuple[str, str]]) -> dict[str, Any]:
    for text, _ in texts[:20]:
        one(text)  # warm-up: lazy initialisation, caches
    latencies = []
    started = time.perf_counter()
    for text, _ in texts[20:]:
        t = time.perf_counter()
        one(text)
        latencies.append(time.perf_counter() - t)
    elapsed = time.perf_counter() - started
    return {
        "messages": len(latencies),
        "msg_per_s": round(len(latencies) / elapsed, 1),
        **percentiles(latencies),
    }


# --------------------------------------------------------------------------- over HTTP


def outreach_body(user: str, text: str, locale: str) -> bytes:
    return json.dumps(
        {
            "bot_id": BOT,
            "user_id": user,
            "channel": "messenger",
            "kind": "proactive",
            "text": text,
            "user": {"timezone": "Europe/Paris", "locale": locale},
        }
    ).encode()


def event_body(user: str, text: str, locale: str) -> bytes:
    now = datetime.now(UTC).isoformat()
    return json.dumps(
        {
            "type": "user_message",
            "bot_id": BOT,
            "user_id": user,
            "text": text,
            "ts": now,
            "locale": locale,
        }
    ).encode()


async def seed_users(url: str, users: Sequence[str]) -> None:
    conn = await Connection.open(url)
    ts = (datetime.now(UTC) - timedelta(minutes=90)).isoformat()
    for user in users:
        body = {"type": "user_message", "bot_id": BOT, "user_id": user, "text": "hi", "ts": ts}
        status, payload = await conn.post("/v1/events", json.dumps(body).encode())
        assert status == 200, payload
    conn.close()


async def closed_loop(
    url: str, path: str, bodies: Sequence[bytes], concurrency: int
) -> dict[str, Any]:
    latencies: list[float] = []
    outcomes: Counter[str] = Counter()
    queue = list(reversed(bodies))

    async def worker() -> None:
        conn = await Connection.open(url)
        while queue:
            body = queue.pop()
            started = time.perf_counter()
            status, payload = await conn.post(path, body)
            latencies.append(time.perf_counter() - started)
            outcomes[_outcome(status, payload)] += 1
        conn.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    return {
        "messages": len(latencies),
        "msg_per_s": round(len(latencies) / elapsed, 1),
        **percentiles(latencies),
        "outcomes": dict(outcomes),
    }


async def open_loop(url: str, bodies: Sequence[bytes], rate: float) -> dict[str, Any]:
    """Offer ``rate`` requests/s on a pool of connections; latency from the scheduled time."""
    free: asyncio.Queue[Connection] = asyncio.Queue()
    latencies: list[float] = []
    outcomes: Counter[str] = Counter()
    opened = 0

    async def one(body: bytes, scheduled: float) -> None:
        nonlocal opened
        if free.empty() and opened < 512:
            opened += 1
            conn = await Connection.open(url)
        else:
            conn = await free.get()
        status, payload = await conn.post("/v1/outreach/check", body)
        latencies.append(time.perf_counter() - scheduled)
        outcomes[_outcome(status, payload)] += 1
        free.put_nowait(conn)

    start = time.perf_counter() + 0.05
    tasks = []
    for i, body in enumerate(bodies):
        scheduled = start + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(body, scheduled)))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - start
    while not free.empty():
        free.get_nowait().close()
    return {
        "offered_per_s": rate,
        "messages": len(latencies),
        "msg_per_s": round(len(latencies) / elapsed, 1),
        **percentiles(latencies),
        "outcomes": dict(outcomes),
    }


def _outcome(status: int, payload: bytes) -> str:
    if status != 200:
        return f"http_{status}"
    body = json.loads(payload)
    return str(body.get("verdict") or body.get("status") or "ok")


async def scrape_stages(url: str) -> dict[str, float]:
    """The server's stage CPU counters (``/metrics``), seconds by stage."""
    import httpx

    async with httpx.AsyncClient() as client:
        auth = {"Authorization": f"Bearer {API_KEY}"}  # the metrics cover every tenant
        payload = (await client.get(f"{url}/metrics", headers=auth, timeout=10)).content
    out: dict[str, float] = {}
    for match in re.finditer(
        rb'^guardrail_stage_cpu_seconds_total\{stage="(\w+)"\} (\S+)$', payload, re.M
    ):
        out[match.group(1).decode()] = float(match.group(2))
    return out


def rss_mib(pid: int) -> float:
    """Resident memory of a process and its children (uvicorn workers), MiB."""
    total = 0
    for p in [pid, *_children(pid)]:
        with Path(f"/proc/{p}/status").open() as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return round(total / 1024, 1)


def _children(pid: int) -> list[int]:
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children = (task / "children").read_text().split()
        out.extend(int(c) for c in children)
    return out + [g for c in out for g in _children(c)]


def tree_cpu(pid: int) -> float:
    return sum(cpu_seconds(p) for p in [pid, *_children(pid)])


async def measured(url: str, pid: int, messages: int, work: Callable[[], Any]) -> dict[str, Any]:
    """Run ``work`` and add the server's CPU per message, by stage, and its memory (with
    several workers, ``/metrics`` adds up their stage counters; ``/proc`` their CPU)."""
    stages_before, cpu_before = await scrape_stages(url), tree_cpu(pid)
    result: dict[str, Any] = await work()
    cpu = tree_cpu(pid) - cpu_before
    stages_after = await scrape_stages(url)
    per = {s: (stages_after.get(s, 0.0) - stages_before.get(s, 0.0)) for s in STAGES}
    per["http+framework"] = cpu - sum(per.values())
    result["server_cpu_ms_per_msg"] = round(1000 * cpu / messages, 2)
    result["stage_cpu_ms_per_msg"] = {k: round(1000 * v / messages, 2) for k, v in per.items()}
    result["server_rss_mib"] = rss_mib(pid)
    return result


def run_gateway(
    texts: Sequence[tuple[str, str]], args: argparse.Namespace, workers: int, tmp: Path
) -> dict[str, Any]:
    from tests.gateways import gateway_processes

    os.environ["GUARDRAIL_CLASSIFIERS"] = "true"
    policy = tmp / "full.yaml"
    policy.write_text(FULL_POLICY)
    run = uuid.uuid4().hex[:8]
    users = [f"full-{run}-{i}" for i in range(args.users)]
    flags = ["--db", str(tmp / f"{run}.db"), "--policy", str(policy)]
    if workers > 1:
        flags += ["--workers", str(workers)]
    it = iter(texts)

    def take(n: int) -> list[tuple[str, str]]:
        return [next(it) for _ in range(n)]

    def bodies(n: int, make: Callable[[str, str, str], bytes]) -> list[bytes]:
        return [make(users[i % len(users)], t, loc) for i, (t, loc) in enumerate(take(n))]

    out: dict[str, Any] = {"workers": workers}
    with gateway_processes(1, *flags, log_dir=tmp, with_pids=True) as [(url, pid)]:
        asyncio.run(_wait_classifiers(url))
        asyncio.run(seed_users(url, users))
        warm = bodies(args.warmup, outreach_body)
        asyncio.run(closed_loop(url, "/v1/outreach/check", warm, args.concurrency[0]))
        n = args.requests
        out["closed_loop"] = []
        for concurrency in args.concurrency:
            closed = bodies(n, outreach_body)
            row = asyncio.run(
                measured(
                    url,
                    pid,
                    n,
                    partial(closed_loop, url, "/v1/outreach/check", closed, concurrency),
                )
            )
            out["closed_loop"].append({"concurrency": concurrency, **row})
        offered = bodies(int(args.rate * args.seconds), outreach_body)
        out["open_loop"] = asyncio.run(
            measured(url, pid, len(offered), lambda: open_loop(url, offered, args.rate))
        )
        events = bodies(n, event_body)
        out["events"] = asyncio.run(
            measured(
                url,
                pid,
                n,
                lambda: closed_loop(url, "/v1/events", events, args.concurrency[0]),
            )
        )
    return out


async def _wait_classifiers(url: str) -> None:
    """Wait until the gateway's classifier stack has loaded (it loads in the background)."""
    import httpx

    deadline = time.monotonic() + 180
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {API_KEY}"}) as client:
        while time.monotonic() < deadline:
            body = {"texts": ["hello"], "role": "bot"}
            reply = await client.post(f"{url}/v1/classify", json=body, timeout=30)
            if reply.status_code == 200:
                return
            await asyncio.sleep(0.5)
    raise TimeoutError("the gateway's classifiers did not load in 180 s")


# --------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument(
        "--concurrency", type=int, nargs="+", default=[8, 32], help="closed-loop connections"
    )
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--naive", type=int, default=400, help="messages for the naive pipeline")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--out", type=Path, help="also write the results as JSON here")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("OMP_NUM_THREADS", "1")

    per_run = (
        args.warmup + (len(args.concurrency) + 1) * args.requests + int(args.rate * args.seconds)
    )
    texts = load_texts(args.data, per_run * len(args.workers) + args.naive + 20)
    results: dict[str, Any] = {
        "meta": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "machine": platform.machine(),
            "texts": "real chat (Topical-Chat, XPersona-fr) + synthetic PII outreach",
        }
    }
    side = texts[: args.naive + 20]
    english = [t for t in side if t[1].startswith("en")]
    results["naive_pipeline"] = naive_pipeline(english)
    print("naive pipeline", json.dumps(results["naive_pipeline"]), flush=True)
    results["raw_encoder"] = raw_encoder(side)
    print("raw encoder", json.dumps(results["raw_encoder"]), flush=True)
    rest = texts[args.naive + 20 :]
    results["gateway"] = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, workers in enumerate(args.workers):
            chunk = rest[i * per_run : (i + 1) * per_run]
            row = run_gateway(chunk, args, workers, Path(tmp))
            results["gateway"].append(row)
            print("gateway", json.dumps(row), flush=True)
    naive = results["naive_pipeline"]["msg_per_s"]
    encoder = results["raw_encoder"]
    for row in results["gateway"]:
        for closed in row["closed_loop"]:
            closed["ratio_vs_naive"] = round(closed["msg_per_s"] / naive, 2)
            print(
                f"workers={row['workers']} closed loop, {closed['concurrency']} connections: "
                f"{closed['msg_per_s']} msg/s = {closed['ratio_vs_naive']}x the naive pipeline "
                f"({naive} msg/s), p50 {closed['p50_ms']} ms, p99 {closed['p99_ms']} ms, "
                f"server CPU {closed['server_cpu_ms_per_msg']} ms/msg",
                flush=True,
            )
        opened, events = row["open_loop"], row["events"]
        print(
            f"workers={row['workers']} open loop at {args.rate:g}/s: p50 {opened['p50_ms']} ms, "
            f"p99 {opened['p99_ms']} ms; events {events['msg_per_s']}/s; memory "
            f"{opened['server_rss_mib']} MiB; raw encoder {encoder['msg_per_s']} msg/s",
            flush=True,
        )
    if args.out:
        args.out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
