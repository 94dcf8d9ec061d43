"""The ``review`` action: the message goes out and the operator's reviewers are told."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import cast

import pytest
from fastapi.testclient import TestClient

from classifiers.batcher import MicroBatcher
from classifiers.results import ManipulationResult, Role, SelfHarmResult, TextScores
from guardrail.gateway import Gateway
from guardrail.notify import SIGNATURE_HEADER, verify
from tests.conftest import AUTH, Clock
from tests.upstream import Upstream, serve_upstream

POLICY = """\
name: review-test
rules:
  engagement: {enabled: false}
  quiet_hours: {enabled: false}
  pii: {enabled: false}
  manipulation: {enabled: true, action: review}
"""
GUILT = "You're leaving already? After everything I did for you?"


class GuiltStack:
    """Scores bot texts as the manipulation head would this one (plumbing test only)."""

    def describe(self) -> dict[str, str]:
        return {"test": "guilt"}

    def classify(self, texts: Sequence[str], role: Role) -> list[TextScores]:
        out = []
        for text in texts:
            hit = "leaving already" in text
            tactics = ("premature_exit_guilt",) if hit else ()
            manipulation = ManipulationResult(0.97 if hit else 0.02, tactics, hit)
            out.append(TextScores(SelfHarmResult(0.0, "none", False), manipulation=manipulation))
        return out


@pytest.fixture(scope="module")
def webhook() -> Iterator[Upstream]:
    with serve_upstream() as upstream:
        yield upstream


def test_review_sends_and_tells_the_reviewers(
    make_client: Callable[..., TestClient],
    clock: Clock,
    uid: Callable[[str], str],
    tmp_path: Path,
    webhook: Upstream,
) -> None:
    webhook.reset()
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    review = {"url": f"{webhook.base}/review", "secret": "review-secret-2"}
    client = make_client(policy=policy, review_webhook=review)
    gateway: Gateway = client.app.state.gateway  # type: ignore[attr-defined]
    gateway.classifiers = MicroBatcher(GuiltStack(), max_wait_ms=1)
    bot, user = uid("maestro"), uid("noor")
    wrote = {"type": "user_message", "bot_id": bot, "user_id": user, "text": "bye for now",
             "ts": (clock() - timedelta(minutes=5)).isoformat()}  # fmt: skip
    assert client.post("/v1/events", json=wrote, headers=AUTH).status_code == 200

    def reply(text: str) -> dict[str, object]:
        body = {"bot_id": bot, "user_id": user, "channel": "messenger", "kind": "reply",
                "text": text}  # fmt: skip
        response = client.post("/v1/outreach/check", json=body, headers=AUTH)
        assert response.status_code == 200, response.text
        decision: dict[str, object] = response.json()
        return decision

    clean = reply("Sleep well!")
    assert clean["verdict"] == "allow" and clean["reasons"] == []
    flagged = reply(GUILT)
    assert flagged["verdict"] == "allow"  # review never stops the message
    (reason,) = cast(list[dict[str, str]], flagged["reasons"])
    assert reason["rule"] == "manipulation" and reason["detail"].startswith("review:")

    webhook.wait_for()  # the outbox loop delivers in the background: wait for it, not a time
    (sent,) = webhook.requests  # the clean reply told nobody
    assert verify("review-secret-2", sent.body, sent.headers[SIGNATURE_HEADER.lower()])
    payload = json.loads(sent.body)
    assert payload["type"] == "review" and payload["decision_id"] == flagged["decision_id"]
    assert "premature_exit_guilt" in payload["reasons"][0]["detail"] and "text" not in payload
