"""Hot reload: the admin endpoint, file changes, SIGHUP, bad policies kept out, and reloads
while requests flow (every decision names one of the versions that were loaded)."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from guardrail.app import create_app
from guardrail.config import ApiKeyConfig, Settings
from tests.conftest import API_KEY, AUTH, Clock
from tests.gateways import gateway_processes

BOT_KEY = "bot-key-0123456789"
AUDITOR_KEY = "auditor-key-0123456789"
BOT = {"Authorization": f"Bearer {BOT_KEY}"}
AUDITOR = {"Authorization": f"Bearer {AUDITOR_KEY}"}


def caps_policy(limit: int) -> str:
    return (
        f"name: default\ndescription: {limit} a day\n"
        f"rules:\n  frequency_caps:\n    caps: [{{scope: bot, limit: {limit}, window: 1d}}]\n"
    )


SMS = "name: sms\nextends: default\nmatch: {channels: [sms]}\n"
BROKEN = "name: default\nrules:\n  unanswered: {max_unanswered: lots}\n"


def write(path: Path, text: str) -> None:
    """Write and make sure the mtime moves even within one clock tick."""
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(text, encoding="utf-8")
    if path.stat().st_mtime_ns <= before:
        os.utime(path, ns=(before + 1_000_000, before + 1_000_000))


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    policies = tmp_path / "policies"
    policies.mkdir()
    write(policies / "default.yaml", caps_policy(1))
    write(policies / "sms.yaml", SMS)
    return policies


@pytest.fixture
def make(tmp_path: Path, clock: Clock) -> Iterator[Callable[..., TestClient]]:
    clients: list[TestClient] = []

    def build(policy: Path, **kwargs: Any) -> TestClient:
        keys = [
            ApiKeyConfig(name="engine", tenant="default", key=BOT_KEY),
            ApiKeyConfig(name="audit", tenant="default", role="auditor", key=AUDITOR_KEY),
        ]
        settings = Settings(
            api_key=API_KEY, keys=keys, db=str(tmp_path / "state.db"), policy=policy
        )
        client = TestClient(create_app(settings, clock=clock, **kwargs))
        client.__enter__()
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.__exit__(None, None, None)


def versions(client: TestClient) -> dict[str, str]:
    body = client.get("/v1/policies", headers=AUTH).json()
    return {p["name"]: p["version"] for p in body["policies"]}


def test_reload_endpoint_is_for_admins_only(make: Callable[..., TestClient], folder: Path) -> None:
    client = make(folder, policy_poll_s=None)
    assert client.post("/v1/policies/reload").status_code == 401
    for headers in (BOT, AUDITOR):
        refused = client.post("/v1/policies/reload", headers=headers)
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"] == "forbidden"
    assert client.get("/v1/policies", headers=BOT).status_code == 200  # reading is for everyone

    old = versions(client)
    write(folder / "default.yaml", caps_policy(2))
    reloaded = client.post("/v1/policies/reload", headers=AUTH)  # GUARDRAIL_API_KEY is admin
    assert reloaded.status_code == 200, reloaded.text
    body = reloaded.json()
    assert body["last_reload"]["ok"] is True and body["last_reload"]["trigger"] == "api"
    assert body["last_reload"]["actor"] == "GUARDRAIL_API_KEY"
    new = {p["name"]: p["version"] for p in body["policies"]}
    assert new["default"] != old["default"]
    assert new["sms"] != old["sms"]  # it extends default: its resolved content changed too
    entry = next(p for p in body["policies"] if p["name"] == "sms")
    assert entry["match"] == {"channels": ["sms"]} and entry["applies"] == "match"
    assert entry["source"] == str(folder / "sms.yaml")


def test_an_invalid_policy_is_rejected_and_the_old_one_stays(
    make: Callable[..., TestClient], folder: Path
) -> None:
    client = make(folder, policy_poll_s=None)
    old = versions(client)
    write(folder / "default.yaml", BROKEN)
    refused = client.post("/v1/policies/reload", headers=AUTH)
    assert refused.status_code == 422
    expected = f"{folder / 'default.yaml'}:3:16: rules.unanswered.max_unanswered: Input should"
    assert refused.json()["error"] == "invalid_policy"
    assert any(e.startswith(expected) for e in refused.json()["detail"]), refused.json()

    body = client.get("/v1/policies", headers=AUTH).json()
    assert {p["name"]: p["version"] for p in body["policies"]} == old
    assert body["last_reload"]["ok"] is False
    assert any(e.startswith(expected) for e in body["last_reload"]["errors"])
    decision = client.post(
        "/v1/outreach/check",
        json={"bot_id": "b", "user_id": "u", "channel": "telegram", "text": "hi"},
        headers=AUTH,
    ).json()
    assert decision["policy_version"] == old["default"]  # still deciding with the old one

    metrics = client.get("/metrics", headers=AUTH).text
    assert 'guardrail_policy_reload_total{outcome="error"} 1.0' in metrics
    assert f'guardrail_policy_info{{name="default",version="{old["default"]}"}} 1.0' in metrics


def test_the_rejection_is_logged(
    make: Callable[..., TestClient], folder: Path, caplog: pytest.LogCaptureFixture
) -> None:
    client = make(folder, policy_poll_s=None)
    write(folder / "default.yaml", BROKEN)
    client.post("/v1/policies/reload", headers=AUTH)
    logged = [r for r in caplog.records if r.name == "guardrail.policy" and r.levelname == "ERROR"]
    assert logged and "default.yaml:3:16" in logged[-1].getMessage()


def wait_for(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_file_change_is_picked_up(make: Callable[..., TestClient], folder: Path) -> None:
    client = make(folder, policy_poll_s=0.1)
    old = versions(client)
    write(folder / "default.yaml", caps_policy(3))
    wait_for(lambda: versions(client)["default"] != old["default"])
    body = client.get("/v1/policies", headers=AUTH).json()
    assert body["last_reload"]["trigger"] == "file" and body["last_reload"]["ok"]

    write(folder / "new.yaml", "name: new\nmatch: {channels: [whatsapp]}\n")  # a new file too
    wait_for(lambda: "new" in versions(client))

    write(folder / "default.yaml", BROKEN)  # a broken save: reported, not applied
    wait_for(lambda: not client.get("/v1/policies", headers=AUTH).json()["last_reload"]["ok"])
    assert "new" in versions(client) and versions(client)["default"] != old["default"]
    metrics = client.get("/metrics", headers=AUTH).text
    assert 'guardrail_policy_reload_total{outcome="ok"} 2.0' in metrics
    assert 'guardrail_policy_reload_total{outcome="error"} 1.0' in metrics


def test_reload_while_requests_flow(make: Callable[..., TestClient], folder: Path) -> None:
    """Requests from 8 threads while the policy is reloaded 6 times (one bad): none fails,
    and each decision names a version that was loaded."""
    client = make(folder, policy_poll_s=None)
    loaded = {versions(client)["default"]: 1}
    stop = threading.Event()

    def traffic(worker: int) -> list[dict[str, Any]]:
        seen: list[dict[str, Any]] = []
        while not stop.is_set() or len(seen) < 30:
            body = {
                "bot_id": f"bot-{worker}",
                "user_id": f"user-{len(seen)}",
                "channel": "telegram",
                "text": "hi",
            }
            response = client.post("/v1/outreach/check", json=body, headers=AUTH)
            assert response.status_code == 200, response.text
            seen.append(response.json())
        return seen

    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(traffic, i) for i in range(8)]
        for limit in (2, 3, 4, 0, 5, 6):
            time.sleep(0.05)
            write(folder / "default.yaml", BROKEN if limit == 0 else caps_policy(limit))
            response = client.post("/v1/policies/reload", headers=AUTH)
            if limit == 0:
                assert response.status_code == 422
                continue
            assert response.status_code == 200, response.text
            loaded[response.json()["version"]] = limit
        time.sleep(0.05)
        stop.set()
        decisions = [d for f in futures for d in f.result()]

    assert len(decisions) >= 240
    used = {d["policy_version"] for d in decisions}
    assert used <= set(loaded), used - set(loaded)
    assert len(used) >= 2  # requests really ran across reloads
    assert all(d["policy"] == "default" for d in decisions)


@pytest.mark.slow
def test_sighup_reloads_a_served_gateway(tmp_path: Path, folder: Path) -> None:
    args = ("--policy", str(folder), "--db", str(tmp_path / "served.db"))
    with gateway_processes(1, *args, log_dir=tmp_path, with_pids=True) as [(url, pid)]:
        before = httpx.get(f"{url}/v1/policies", headers=AUTH).json()
        write(folder / "default.yaml", caps_policy(7))
        os.kill(pid, signal.SIGHUP)

        def reloaded() -> bool:
            body = httpx.get(f"{url}/v1/policies", headers=AUTH).json()
            return bool(
                body["last_reload"]["trigger"] == "signal" and body["version"] != before["version"]
            )

        wait_for(reloaded)
        body = httpx.get(f"{url}/v1/policies", headers=AUTH).json()
        assert body["policy"]["description"] == "7 a day"


def test_an_atomic_save_is_picked_up(make: Callable[..., TestClient], folder: Path) -> None:
    """Editors often save by writing a temporary file and renaming it over the old one."""
    client = make(folder, policy_poll_s=0.1)
    old = versions(client)
    temporary = folder / ".default.yaml.swp"
    temporary.write_text(caps_policy(4), encoding="utf-8")
    os.replace(temporary, folder / "default.yaml")
    wait_for(lambda: versions(client)["default"] != old["default"])
    assert client.get("/v1/policies", headers=AUTH).json()["last_reload"]["trigger"] == "file"
