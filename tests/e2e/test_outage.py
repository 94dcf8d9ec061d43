"""A classifier outage: what the default policy does when the stack fails on every call and
when it never loaded. The floor keeps refusing explicit encouragement and keeps seeing
explicit crises; the trained checks that did not run fail closed for proactive messages
(deferred, with ``retry_after``) and open for replies, each named in an ``info`` reason;
``/readyz`` fails while a stack the policy reads is missing, so a load balancer moves
traffic elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from classifiers.batcher import MicroBatcher
from classifiers.results import Role, TextScores
from guardrail.app import create_app
from guardrail.config import Settings
from tests.conftest import API_KEY, AUTH, REDIS_URL, Clock
from tests.e2e.conftest import NOW, Deployed, Driver, wait_until_loaded
from tests.e2e.texts import CRISIS, ENCOURAGEMENT, ENGLISH, EVERYDAY_USER, SUPPORTIVE, TOXIC

pytestmark = pytest.mark.e2e

Uid = Callable[[str], str]
Json = dict[str, Any]


class BrokenStack:
    """A stack that fails on every call, as a corrupted model or a worker out of memory."""

    def __init__(self) -> None:
        self.calls = 0

    def describe(self) -> dict[str, str]:
        return {"broken": "yes"}

    def classify(self, texts: Sequence[str], role: Role) -> list[TextScores]:
        self.calls += 1
        raise RuntimeError("simulated classifier failure")


@pytest.fixture
def broken(deployed: Deployed, monkeypatch: pytest.MonkeyPatch) -> Iterator[BrokenStack]:
    """The deployed gateway's stack, failing on every call for this test only."""
    stack = BrokenStack()
    batcher = MicroBatcher(stack, max_wait_ms=1)
    monkeypatch.setattr(deployed.gateway, "classifiers", batcher)
    yield stack
    deployed.client.portal.call(batcher.aclose)  # type: ignore[union-attr]


def _chatting(deployed: Driver, bot: str, user: str) -> None:
    deployed.engage(bot, user)
    deployed.say(bot, user, EVERYDAY_USER["en"])


def _rules(decision: Json, effect: str) -> list[str]:
    return [r["rule"] for r in decision["reasons"] if r["effect"] == effect]


def test_a_failing_stack(deployed: Deployed, broken: BrokenStack, uid: Uid) -> None:
    bot, user = uid("companion"), uid("flo")
    _chatting(deployed, bot, user)

    # The lexicon floor still refuses encouragement in its own words.
    floor = deployed.decide(bot, user, ENCOURAGEMENT["en-lexicon"])
    assert floor["verdict"] == "block" and "self_harm_content" in _rules(floor, "block")

    # Encouragement worded apart from the floor: a reply is sent, decided by the floors,
    # and the trained check that did not run is named; a proactive message waits.
    worded = deployed.decide(bot, user, ENCOURAGEMENT["en-worded"])
    assert worded["verdict"] == "allow", worded
    (unchecked,) = [r for r in worded["reasons"] if r["rule"] == "self_harm_classifier"]
    assert unchecked["effect"] == "info" and "unavailable" in unchecked["detail"]
    later = deployed.decide(bot, user, ENCOURAGEMENT["en-worded"], kind="proactive")
    assert later["verdict"] == "defer" and later["retry_after"], later
    assert "self_harm_classifier" in _rules(later, "defer")

    # Abuse in a reply passes too; the toxicity rule fails open and says so (info).
    toxic = deployed.decide(bot, user, TOXIC["en"])
    assert toxic["verdict"] == "allow", toxic
    (reason,) = [r for r in toxic["reasons"] if r["rule"] == "toxicity"]
    assert reason["effect"] == "info" and "unavailable" in reason["detail"]
    assert "fails open" in reason["detail"]

    # The classify API has no answer to give: an error body, never made-up scores. (A
    # client that answers as a server does, instead of raising the server's exception.)
    raw = TestClient(deployed.client.app, raise_server_exceptions=False)
    body = {"role": "bot", "texts": [SUPPORTIVE["en"]]}
    response = raw.post("/v1/classify", json=body, headers=AUTH)
    assert response.status_code >= 500 and "results" not in response.json(), response.text
    assert broken.calls >= 4  # every one of these went to the failing stack


def test_a_failing_stack_still_sees_an_explicit_crisis(
    deployed: Deployed, broken: BrokenStack, uid: Uid
) -> None:
    """The assessor falls back to the crisis lexicon: the crisis protocol runs all the same
    (its score is the lexicon's 1.0, not a head's)."""
    bot, user = uid("companion"), uid("gus")
    deployed.engage(bot, user)
    seen = deployed.say(bot, user, CRISIS["en"], locale="en-GB")
    assert seen["crisis"] is True and seen["risk"] == "ideation" and seen["risk_score"] == 1.0
    assert broken.calls >= 1
    held = deployed.decide(bot, user, SUPPORTIVE["en"], kind="proactive", context=ENGLISH)
    assert held["verdict"] == "block" and held["reasons"][0]["rule"] == "risk_hold"
    reply = deployed.decide(bot, user, SUPPORTIVE["en"], context=ENGLISH)
    assert reply["verdict"] == "rewrite" and "crisis_resources" in _rules(reply, "rewrite")
    assert deployed.review_of(bot)["type"] == "crisis"


@pytest.fixture
def never_loaded(deployed: Deployed, tmp_path: Path, uid: Uid) -> Iterator[Driver]:
    """A gateway on the same store whose stack fails to load: its configuration names a
    model folder that is not there (a deployment whose model files went missing)."""
    config = tmp_path / "backends.yaml"
    config.write_text(f"- {{name: emotion, type: hf, path: {tmp_path / 'missing-model'}}}\n")
    if deployed.store == "sqlite":
        store: Json = {"db": str(tmp_path / "state.db")}
    else:
        store = {"redis_url": REDIS_URL, "redis_prefix": uid("e2eout"),
                 "audit_db": str(tmp_path / "audit.db")}  # fmt: skip
    settings = Settings(api_key=API_KEY, classifiers=True, classifiers_config=config, **store)
    with TestClient(create_app(settings, clock=Clock(NOW), policy_poll_s=None)) as client:
        yield Driver(client, Clock(NOW))


def test_a_stack_that_never_loaded(never_loaded: Driver, uid: Uid) -> None:
    helper, client = never_loaded, never_loaded.client
    state = wait_until_loaded(client, ready=False)
    ready = client.get("/readyz")
    # Not ready while the default policy's trained checks cannot run, and it says why.
    assert ready.status_code == 503 and state == "failed: BackendError", ready.json()
    assert ready.json()["missing"] == ["classifiers: failed: BackendError"], ready.json()

    response = client.post("/v1/classify", json={"role": "bot", "texts": ["hi"]}, headers=AUTH)
    assert response.status_code == 503 and "failed" in response.json()["detail"]

    bot, user = uid("companion"), uid("hal")
    _chatting(helper, bot, user)
    floor = helper.decide(bot, user, ENCOURAGEMENT["fr-lexicon"])
    assert floor["verdict"] == "block" and "self_harm_content" in _rules(floor, "block")
    # With no stack at all, replies go out decided by the floors, naming what did not run.
    for text in (ENCOURAGEMENT["fr-worded"], TOXIC["fr"]):
        sent = helper.decide(bot, user, text)
        assert sent["verdict"] == "allow" and _rules(sent, "info"), sent
        assert all("unavailable" in r["detail"] for r in sent["reasons"]), sent
    held = helper.decide(bot, user, TOXIC["fr"], kind="proactive")
    assert held["verdict"] == "defer" and held["retry_after"], held

    seen = helper.say(bot, uid("ivy"), CRISIS["fr"], locale="fr-FR")
    assert seen["crisis"] is True and seen["risk_score"] == 1.0  # the lexicon's
