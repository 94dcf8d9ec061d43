"""An acknowledged decision is never lost: a gateway killed with SIGKILL right after its
last answer has every answered decision in its audit log, and the chain verifies."""

from __future__ import annotations

import os
import signal
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.audit_support import ADMIN_KEY, TEXT, bearer
from tests.gateways import FIRST_USE_S, gateway_processes

N = 120


@pytest.mark.slow
def test_sigkill_after_the_last_answer_loses_nothing(tmp_path: Path) -> None:
    state = str(tmp_path / "state.db")
    with gateway_processes(1, "--db", state, log_dir=tmp_path, with_pids=True) as gateways:
        [(url, pid)] = gateways
        with httpx.Client(base_url=url, headers=bearer(ADMIN_KEY), timeout=FIRST_USE_S) as client:

            def decide(i: int) -> str:
                body = {"bot_id": "maestro", "user_id": f"u{i}", "channel": "sms", "text": TEXT}
                response = client.post("/v1/outreach/check", json=body)
                assert response.status_code == 200, response.text
                return str(response.json()["decision_id"])

            with ThreadPoolExecutor(8) as pool:
                answered = list(pool.map(decide, range(N)))
            os.kill(pid, signal.SIGKILL)  # no shutdown, no checkpoint, no flush
    assert len(set(answered)) == N

    with (
        gateway_processes(1, "--db", state, log_dir=tmp_path) as [url],
        httpx.Client(base_url=url, headers=bearer(ADMIN_KEY), timeout=FIRST_USE_S) as client,
    ):
        verified = client.get("/v1/audit/verify").json()
        assert verified["ok"], verified
        assert verified["checked"] == N + 1  # and the policy loaded at the first start
        page = client.get("/v1/audit/decisions", params={"limit": 500}).json()
    recorded = {item["id"] for item in page["items"]}
    assert recorded == set(answered)
