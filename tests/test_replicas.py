"""Several gateway processes sharing one Redis never over-send."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from tests.conftest import AUTH, REDIS_URL
from tests.gateways import FIRST_USE_S, gateway_processes

POLICY = """\
name: cap-3-per-day
rules:
  unanswered: {max_unanswered: 1000}
  engagement: {min_user_messages: 1}
  frequency_caps:
    caps: [{scope: bot, limit: 3, window: 1d}]
  quiet_hours: {enabled: false}
"""


async def _burst(urls: list[str], bot: str, user: str, n: int) -> Counter[str]:
    limits = httpx.Limits(max_connections=100)
    async with httpx.AsyncClient(headers=AUTH, timeout=FIRST_USE_S, limits=limits) as client:
        now = datetime.now(UTC).isoformat()
        event = {"type": "user_message", "bot_id": bot, "user_id": user, "text": "hi!", "ts": now}
        assert (await client.post(f"{urls[0]}/v1/events", json=event)).status_code == 200

        async def one(i: int) -> str:
            body = {
                "bot_id": bot,
                "user_id": user,
                "channel": "messenger",
                "kind": "proactive",
                "text": f"Any new soundtracks lately? #{i}",
            }
            response = await client.post(f"{urls[i % len(urls)]}/v1/outreach/check", json=body)
            assert response.status_code == 200, response.text
            return str(response.json()["verdict"])

        return Counter(await asyncio.gather(*(one(i) for i in range(n))))


@pytest.mark.redis
@pytest.mark.slow
def test_two_gateways_sharing_redis_allow_exactly_the_cap(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    run = uuid.uuid4().hex[:8]
    args = ("--redis", REDIS_URL, "--policy", str(policy))
    with gateway_processes(2, *args, log_dir=tmp_path) as urls:
        verdicts = asyncio.run(_burst(urls, f"maestro-{run}", f"user-{run}", 200))
    assert verdicts == Counter({"allow": 3, "block": 197})


@pytest.mark.slow
def test_two_gateways_sharing_one_sqlite_file_allow_exactly_the_cap(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    args = ("--db", str(tmp_path / "shared.db"), "--policy", str(policy))
    with gateway_processes(2, *args, log_dir=tmp_path) as urls:
        verdicts = asyncio.run(_burst(urls, "maestro", "user", 200))
    assert verdicts == Counter({"allow": 3, "block": 197})


@pytest.mark.slow
def test_serve_with_two_workers_shares_the_store_and_the_audit_chain(tmp_path: Path) -> None:
    """``guardrail serve --workers 2``: two processes behind one port, caps exact across
    them, and every decision in one audit chain that verifies."""
    from guardrail.audit import AuditTrail
    from guardrail.config import Settings
    from guardrail.gateway import audit_options

    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    args = ("--db", str(tmp_path / "state.db"), "--policy", str(policy), "--workers", "2")
    with gateway_processes(1, *args, log_dir=tmp_path, with_pids=True) as [(url, pid)]:
        verdicts = asyncio.run(_burst([url], "maestro", "user", 120))
        workers = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        # /metrics adds up every worker's counts, whichever worker answers the scrape.
        for _ in range(4):
            lines = httpx.get(f"{url}/metrics", headers=AUTH, timeout=10).text.splitlines()
            counted = sum(
                float(line.rsplit(" ", 1)[1])
                for line in lines
                if line.startswith("guardrail_decisions_total{")
            )
            assert counted == 120
            store_up = [line for line in lines if line.startswith("guardrail_store_up")]
            assert store_up == ["guardrail_store_up 1.0"]  # one series: the latest probe
    assert verdicts == Counter({"allow": 3, "block": 117})
    assert len(workers) >= 2  # the workers (and multiprocessing's resource tracker)
    audit = AuditTrail.open(audit_options(Settings(audit_db=str(tmp_path / "audit.db"))))
    verification = asyncio.run(audit.verify())
    assert verification.ok, verification
    assert verification.checked >= 120  # the user's event and every decision


@pytest.mark.slow
def test_a_killed_worker_is_replaced_and_the_port_keeps_answering(tmp_path: Path) -> None:
    import os
    import signal
    import time

    args = ("--db", str(tmp_path / "state.db"), "--workers", "2")
    with gateway_processes(1, *args, log_dir=tmp_path, with_pids=True) as [(url, pid)]:

        def workers() -> set[int]:
            found: set[int] = set()
            for task in Path(f"/proc/{pid}/task").iterdir():
                found |= {int(c) for c in (task / "children").read_text().split()}
            return found

        before = workers()
        victim = max(before)
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (victim in workers() or len(workers()) < 2):
            time.sleep(0.2)
        assert victim not in workers() and len(workers()) >= 2
        answered = 0
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and answered < 20:
            try:
                answered += httpx.get(f"{url}/readyz", timeout=5).status_code == 200
            except httpx.HTTPError:
                time.sleep(0.2)
        assert answered == 20
