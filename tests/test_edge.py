"""The HTTP edge against a real gateway process, with raw sockets: an aborted body is one
line in the log (no traceback), a body that does not arrive in time is a 408 and a closed
connection, slow bodies beyond the cap are refused at once, and normal requests go on."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.audit_support import ADMIN_KEY, TEXT, bearer
from tests.gateways import FIRST_USE_S, gateway_processes

TIMEOUT_S = 2.0
SLOW_S = 0.3


def start_body(port: int, path: str = "/v1/webhooks/whatsapp", length: int = 1000) -> socket.socket:
    """A POST whose headers promise ``length`` bytes and whose body has only begun."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {length}\r\n\r\n"
    )
    sock.sendall(head.encode() + b'{"object": "whatsapp_business_acc')
    return sock


def answer(sock: socket.socket, within: float) -> tuple[bytes, bool]:
    """What the server sends within ``within`` seconds, and whether it closed the socket."""
    sock.settimeout(0.1)
    data, end = b"", time.monotonic() + within
    while time.monotonic() < end:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            continue
        if not chunk:
            return data, True
        data += chunk
    return data, False


@pytest.mark.slow
def test_slow_aborted_and_crowding_bodies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUARDRAIL_BODY_READ_TIMEOUT_S", str(TIMEOUT_S))
    monkeypatch.setenv("GUARDRAIL_SLOW_BODY_S", str(SLOW_S))
    monkeypatch.setenv("GUARDRAIL_MAX_SLOW_BODIES", "2")
    with gateway_processes(1, "--db", str(tmp_path / "state.db"), log_dir=tmp_path) as [url]:
        port = int(urlsplit(url).port or 0)

        # A body the client gives up on, on the unauthenticated webhook.
        start_body(port).close()

        # Two slow bodies take the two places; a third is refused as soon as it is slow.
        first, second = start_body(port), start_body(port, "/v1/events")
        time.sleep(SLOW_S + 0.3)
        third = start_body(port)
        started = time.monotonic()
        refused, _ = answer(third, SLOW_S + 1.0)
        assert refused.startswith(b"HTTP/1.1 503"), refused
        assert b"too many slow request bodies" in refused and b"retry-after: 1" in refused.lower()
        assert time.monotonic() - started < TIMEOUT_S  # at once, not after the timeout

        # Meanwhile the gateway answers whole requests as usual.
        body = {"bot_id": "edge-bot", "user_id": "edge-user", "channel": "sms", "text": TEXT}
        with httpx.Client(base_url=url, headers=bearer(ADMIN_KEY), timeout=FIRST_USE_S) as client:
            assert client.post("/v1/outreach/check", json=body).status_code == 200

            # The two slow ones get 408 once their time is up, and their connections close.
            for sock in (first, second):
                data, closed = answer(sock, TIMEOUT_S + 2)
                assert data.startswith(b"HTTP/1.1 408"), data
                assert b'"error":"timeout"' in data and closed
                sock.close()
            third.close()
            # Their places are free again.
            assert client.post("/v1/outreach/check", json=body).status_code == 200
        time.sleep(0.3)

    log = (tmp_path / "gateway-0.log").read_text(encoding="utf-8")
    gone = [line for line in log.splitlines() if "client went away" in line]
    assert len(gone) == 1 and "POST /v1/webhooks/whatsapp" in gone[0], log
    assert "Traceback" not in log and "Exception in ASGI application" not in log, log
    assert sum("request body not in after" in line for line in log.splitlines()) == 2
    assert sum("refused a slow request body" in line for line in log.splitlines()) == 1
