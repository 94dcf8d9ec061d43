"""Graph API clients (the ``requests`` calls of Meta's own samples) against a running
gateway, for the WhatsApp Cloud API, Messenger and Instagram, with a local fake Graph API
that records what it receives.

The only change to Meta's samples is the base URL: ``https://graph.facebook.com`` becomes
``<gateway>/v1/proxy/graph``, and the token is the bot's proxy token. Guardrail delivers
with the real page or system-user token from ``token_env``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.conftest import AUTH
from tests.proxy_support import serve_gateway, sha256, user_wrote, warm_up
from tests.test_api import PROACTIVE_TEXT
from tests.upstream import Reply, Upstream, serve_upstream

WA_REAL, WA_PROXY = "EAAG-wa-real-SECRET-93be1f", "wa-proxy-token-of-concierge-7Hd"
FB_REAL, FB_PROXY = "EAAB-page-real-SECRET-0c1d", "fb-proxy-token-of-pagebot-4Kq"
IG_REAL, IG_PROXY = "IGAA-real-SECRET-77aa", "ig-proxy-token-of-instabot-2Rt"
PHONE_ID, PAGE_ID, IG_ID = "1098765", "20531316728", "17841400008460056"
WA_OK = {"messaging_product": "whatsapp", "messages": [{"id": "wamid.HBgLMzM2NTU1MDEyMzQV"}]}
FB_OK = {"recipient_id": "1254477777772919", "message_id": "m_AG5Hz2Uq7tuwNEhXfYYKj8mJEM"}


@pytest.fixture(scope="module")
def upstream() -> Iterator[Upstream]:
    with serve_upstream() as up:
        yield up


@pytest.fixture(scope="module")
def gateway(
    upstream: Upstream, tmp_path_factory: pytest.TempPathFactory, monkeypatch_module: Any
) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("graph-proxy")
    monkeypatch_module.setenv("WA_TOKEN", WA_REAL)
    monkeypatch_module.setenv("FB_PAGE_TOKEN", FB_REAL)
    monkeypatch_module.setenv("IG_TOKEN", IG_REAL)

    def bot(kind: str, path: str, env: str, proxy: str, **extra: Any) -> dict[str, Any]:
        up = {"type": kind, "url": f"{upstream.base}{path}", "token_env": env, "retries": 0}
        return {"upstream": up, "proxy_token_sha256": sha256(proxy), **extra}

    bots = {
        "concierge": bot("whatsapp", f"/v21.0/{PHONE_ID}/messages", "WA_TOKEN", WA_PROXY),
        "pagebot": bot("messenger", f"/v21.0/{PAGE_ID}/messages", "FB_PAGE_TOKEN", FB_PROXY),
        "instabot": bot("instagram", f"/v21.0/{IG_ID}/messages", "IG_TOKEN", IG_PROXY),
    }
    with serve_gateway(
        db=str(folder / "state.db"), audit_db=str(folder / "a.db"), bots=bots
    ) as url:
        warm_up(url, "concierge", "whatsapp")
        yield url


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as patch:
        yield patch


@pytest.fixture(autouse=True)
def _fresh(upstream: Upstream) -> None:
    upstream.reset()


def graph(gateway: str) -> str:
    """The one line a Graph API user changes: the base URL."""
    return f"{gateway}/v1/proxy/graph"


def user() -> str:
    return "336" + str(uuid.uuid4().int % 10**8).zfill(8)


def wa_send(gateway: str, payload: dict[str, Any], token: str = WA_PROXY) -> requests.Response:
    """As in Meta's WhatsApp Cloud API samples."""
    return requests.post(
        f"{graph(gateway)}/v21.0/{PHONE_ID}/messages",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        json={"messaging_product": "whatsapp", "recipient_type": "individual", **payload},
        timeout=60,
    )


def text(to: str, body: str = PROACTIVE_TEXT) -> dict[str, Any]:
    return {"to": to, "type": "text", "text": {"preview_url": False, "body": body}}


def test_whatsapp_refused_raises_and_never_leaves(gateway: str, upstream: Upstream) -> None:
    response = wa_send(gateway, text(user()))
    with pytest.raises(requests.HTTPError):
        response.raise_for_status()
    error = response.json()["error"]
    assert error["message"] == "(#403) blocked by guardrail: user_first"
    assert error["fbtrace_id"] == response.headers["x-guardrail-decision-id"]

    interactive = {
        "to": user(),
        "type": "interactive",
        "interactive": {
            "type": "button",
            "body": {"text": PROACTIVE_TEXT},
            "action": {"buttons": [{"type": "reply", "reply": {"id": "y", "title": "Yes"}}]},
        },
    }
    assert wa_send(gateway, interactive).json()["error"]["error_data"]["rules"] == ["user_first"]
    assert upstream.requests == []


def test_whatsapp_allowed_arrives_once_with_the_real_token(
    gateway: str, upstream: Upstream
) -> None:
    to = user()
    user_wrote(gateway, "concierge", to)
    upstream.default = Reply(200, WA_OK)
    response = wa_send(gateway, text(to))
    response.raise_for_status()
    assert response.json() == WA_OK
    [req] = upstream.requests
    assert req.path == f"/v21.0/{PHONE_ID}/messages"
    assert req.headers["authorization"] == f"Bearer {WA_REAL}"
    assert req.json == {"messaging_product": "whatsapp", "recipient_type": "individual", **text(to)}


def test_whatsapp_template_outside_the_window(gateway: str, upstream: Upstream) -> None:
    to = user()
    user_wrote(gateway, "concierge", to, hours_ago=48)
    upstream.default = Reply(200, WA_OK)
    late = wa_send(gateway, text(to))
    assert late.json()["error"]["error_data"]["rules"] == ["channel_window"]
    template = {
        "to": to,
        "type": "template",
        "template": {
            "name": "concert_reminder",
            "language": {"code": "en_US"},
            "components": [
                {"type": "body", "parameters": [{"type": "text", "text": "the jazz quartet"}]}
            ],
        },
    }
    wa_send(gateway, template).raise_for_status()
    [req] = upstream.requests
    assert req.json["template"] == template["template"]


def test_whatsapp_read_receipt_and_media_calls_pass_through(
    gateway: str, upstream: Upstream
) -> None:
    receipt = {"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.X1"}
    upstream.default = Reply(200, {"success": True})
    response = requests.post(
        f"{graph(gateway)}/v21.0/{PHONE_ID}/messages",
        params={"access_token": WA_PROXY},
        json=receipt,
        timeout=30,
    )
    assert response.json() == {"success": True}
    media = requests.get(
        f"{graph(gateway)}/v21.0/4490709327384033",
        headers={"Authorization": f"Bearer {WA_PROXY}"},
        params={"fields": "url"},
        timeout=30,
    )
    assert media.status_code == 200
    first, second = upstream.requests
    assert first.json == receipt and first.headers["authorization"] == f"Bearer {WA_REAL}"
    assert "access_token" not in first.path
    assert (second.method, urlsplit(second.path).path) == ("GET", "/v21.0/4490709327384033")
    assert parse_qs(urlsplit(second.path).query) == {"fields": ["url"]}

    # Media guardrail cannot inspect is refused by default, caption or not.
    to = user()
    user_wrote(gateway, "concierge", to)
    image = {"to": to, "type": "image", "image": {"link": "https://example.org/a.jpg"}}
    refused = wa_send(gateway, image)
    assert refused.status_code == 400
    assert "image cannot be inspected" in refused.json()["error"]["message"]
    assert len(upstream.requests) == 2


def test_wrong_token_is_graph_401(gateway: str, upstream: Upstream) -> None:
    response = wa_send(gateway, text(user()), token="EAAG-someone-else")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == 190
    assert response.json()["error"]["type"] == "OAuthException"
    assert upstream.requests == []


def messenger_form(recipient: str, message: dict[str, Any], **extra: str) -> dict[str, str]:
    """Meta's Messenger samples (curl -F / -d): objects as JSON strings in a form."""
    return {"recipient": json.dumps({"id": recipient}), "message": json.dumps(message), **extra}


def test_messenger_form_body_guarded_and_delivered(gateway: str, upstream: Upstream) -> None:
    url = f"{graph(gateway)}/v21.0/{PAGE_ID}/messages"
    stranger = user()
    refused = requests.post(
        url,
        params={"access_token": FB_PROXY},
        data=messenger_form(stranger, {"text": PROACTIVE_TEXT}, messaging_type="UPDATE"),
        timeout=60,
    )
    assert refused.status_code == 400
    assert refused.json()["error"]["message"] == "(#403) blocked by guardrail: user_first"
    assert upstream.requests == []

    psid = user()
    user_wrote(gateway, "pagebot", psid)
    upstream.default = Reply(200, FB_OK)
    sent = requests.post(
        url,
        params={"access_token": FB_PROXY},
        data=messenger_form(psid, {"text": PROACTIVE_TEXT}, messaging_type="RESPONSE"),
        timeout=60,
    )
    assert sent.json() == FB_OK
    [req] = upstream.requests
    assert req.path == f"/v21.0/{PAGE_ID}/messages"  # the token travels in the header only
    assert req.headers["authorization"] == f"Bearer {FB_REAL}"
    assert req.json == {
        "recipient": {"id": psid},
        "message": {"text": PROACTIVE_TEXT},
        "messaging_type": "RESPONSE",
    }


def test_messenger_window_and_message_tags(gateway: str, upstream: Upstream) -> None:
    url = f"{graph(gateway)}/v21.0/{PAGE_ID}/messages"
    headers = {"Authorization": f"Bearer {FB_PROXY}"}
    psid = user()
    user_wrote(gateway, "pagebot", psid, hours_ago=72)  # three days ago
    upstream.default = Reply(200, FB_OK)

    def send(**extra: Any) -> requests.Response:
        body = {"recipient": {"id": psid}, "message": {"text": PROACTIVE_TEXT}, **extra}
        return requests.post(url, headers=headers, json=body, timeout=60)

    outside = send(messaging_type="UPDATE")
    assert outside.json()["error"]["error_data"]["rules"] == ["channel_window"]
    unknown = send(messaging_type="MESSAGE_TAG", tag="CONFIRMED_EVENT_REMINDER")
    assert unknown.json()["error"]["error_data"]["rules"] == ["channel_window"]
    assert upstream.requests == []
    agent = send(messaging_type="MESSAGE_TAG", tag="HUMAN_AGENT")  # 7 days: still open
    assert agent.json() == FB_OK
    [req] = upstream.requests
    assert req.json["tag"] == "HUMAN_AGENT"
    no_tag = send(messaging_type="MESSAGE_TAG")
    assert no_tag.status_code == 400 and "tag is required" in no_tag.json()["error"]["message"]


def test_instagram_send_api(gateway: str, upstream: Upstream) -> None:
    url = f"{graph(gateway)}/v21.0/{IG_ID}/messages"
    headers = {"Authorization": f"Bearer {IG_PROXY}"}
    igsid = user()
    body = {"recipient": {"id": igsid}, "message": {"text": PROACTIVE_TEXT}}
    refused = requests.post(url, headers=headers, json=body, timeout=60)
    assert refused.json()["error"]["error_data"]["messaging_product"] == "instagram"
    user_wrote(gateway, "instabot", igsid)
    upstream.default = Reply(200, FB_OK)
    assert requests.post(url, headers=headers, json=body, timeout=60).json() == FB_OK
    [req] = upstream.requests
    assert req.headers["authorization"] == f"Bearer {IG_REAL}" and req.json == body
    typing: dict[str, Any] = {"recipient": {"id": igsid}, "sender_action": "typing_on"}
    assert requests.post(url, headers=headers, json=typing, timeout=60).status_code == 200
    assert len(upstream.requests) == 2


def test_channel_window_says_why_a_tag_is_refused(gateway: str) -> None:
    """The decision behind a tagged message names the tag and the window it broke."""
    psid = user()
    user_wrote(gateway, "pagebot", psid, hours_ago=24 * 9)

    def check(tag: str | None) -> list[str]:
        body: dict[str, str | None] = {"bot_id": "pagebot", "user_id": psid, "channel": "messenger"}
        body |= {"text": PROACTIVE_TEXT, "message_tag": tag}
        decision = requests.post(
            f"{gateway}/v1/outreach/check", json=body, headers=AUTH, timeout=60
        ).json()
        return [r["detail"] for r in decision["reasons"] if r["rule"] == "channel_window"]

    assert check(None) == [check(None)[0]] and "1d messenger window" in check(None)[0]
    [unknown] = check("CONFIRMED_EVENT_REMINDER")
    assert "message tag 'CONFIRMED_EVENT_REMINDER' is not allowed on messenger" in unknown
    [agent] = check("HUMAN_AGENT")
    assert "1w window of message tag 'HUMAN_AGENT'" in agent
    assert check("ACCOUNT_UPDATE") == []


def test_calls_that_would_slip_past_the_guard_are_refused(gateway: str, upstream: Upstream) -> None:
    """A batch, a GET with method=post, or a path that climbs out: none reaches upstream."""
    headers = {"Authorization": f"Bearer {FB_PROXY}"}
    send = json.dumps({"recipient": {"id": user()}, "message": {"text": PROACTIVE_TEXT}})
    batch = [{"method": "POST", "relative_url": f"{PAGE_ID}/messages", "body": send}]
    tries = [
        requests.post(graph(gateway), headers=headers, json={"batch": batch}, timeout=30),
        requests.post(
            f"{graph(gateway)}/", headers=headers, data={"batch": json.dumps(batch)}, timeout=30
        ),
        requests.get(
            f"{graph(gateway)}/v21.0/{PAGE_ID}/messages",
            headers=headers,
            params={"method": "post", "recipient": send},
            timeout=30,
        ),
        requests.get(f"{graph(gateway)}/v21.0/%2E%2E/x", headers=headers, timeout=30),
    ]
    for response in tries:
        assert response.status_code in (400, 404), response.text
        assert "error" in response.json()
    assert upstream.requests == []
