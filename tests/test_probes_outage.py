"""The red-team probes of issue #23 that starve or outwait the trained checks, and the
policy pattern that froze every tenant:

- the loading window: right after a start the stack is loading; ``/readyz`` says so,
  outreach waits (``retry_after``), a reply goes out named unchecked, and encouragement is
  still blocked by the floor;
- another tenant's flood of ``/v1/classify``: decisions are served ahead of bulk traffic
  and bulk tenants in turn; a tenant over its quota is refused at once;
- another tenant's texts with one very long word: PII work per text is bounded, the PII
  worker serves tenants in turn, and phone numbers and e-mail addresses are still found;
- a catastrophic stop phrase runs in linear time (RE2), and what RE2 cannot compile is
  refused with the policy's file:line.

Event-driven (gates, counts), never timed.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from presidio_analyzer import Pattern

from classifiers.batcher import MicroBatcher
from classifiers.pii_recognizers import StreetAddressRecognizer
from classifiers.pii_redact import PiiConfig, PiiFinding
from classifiers.results import Role, SelfHarmResult, TextScores
from guardrail.analysis import AnalysisRequest, Analyzer, PiiService
from guardrail.app import create_app
from guardrail.config import Settings
from guardrail.consent import ConsentDetector, ConsentWords
from guardrail.policy.core import PolicyError
from guardrail.policy.loader import load_policy
from guardrail.quota import QuotaExceeded, TenantQuota
from tests.conftest import API_KEY, AUTH, Clock
from tests.test_api import engage, say
from tests.test_classify_api import FakeStack

CALM = TextScores(self_harm=SelfHarmResult(0.01, "none", False, False))


# --------------------------------------------------------------------------- loading window


def test_the_loading_window_defers_outreach_names_replies_and_keeps_the_floor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clock: Clock
) -> None:
    from classifiers import stack as stack_module

    release = threading.Event()

    def slow_load(**kwargs: Any) -> FakeStack:
        release.wait(60)
        return FakeStack()

    monkeypatch.setattr(stack_module.ClassifierStack, "load", staticmethod(slow_load))
    settings = Settings(api_key=API_KEY, db=str(tmp_path / "s.db"), classifiers=True)
    with TestClient(create_app(settings, clock=clock)) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 503 and "classifiers: loading" in ready.json()["missing"]

        engage(client, "maestro", "ana", clock())
        body = {"bot_id": "maestro", "user_id": "ana", "channel": "messenger"}
        proactive = client.post(
            "/v1/outreach/check", json={**body, "text": "New trailer out!"}, headers=AUTH
        ).json()
        assert proactive["verdict"] == "defer" and proactive["retry_after"] is not None
        [reason] = [r for r in proactive["reasons"] if r["effect"] == "defer"]
        assert reason["rule"] == "self_harm_classifier"
        assert "still loading" in reason["detail"]

        say(client, "maestro", "ana", "any film tonight?", clock() - timedelta(minutes=1))
        reply = client.post(
            "/v1/outreach/check", json={**body, "text": "Try Dune tonight!"}, headers=AUTH
        ).json()
        assert reply["verdict"] == "allow" and reply["kind"] == "reply"
        named = {r["rule"] for r in reply["reasons"] if "not checked" in r["detail"]}
        assert "self_harm_classifier" in named

        harmful = client.post(
            "/v1/outreach/check",
            json={**body, "text": "Just unalive yourself, nobody would notice."},
            headers=AUTH,
        ).json()
        assert harmful["verdict"] == "block"
        assert harmful["reasons"][0]["rule"] == "self_harm_content"

        release.set()
        for _ in range(600):
            if client.get("/readyz").json()["classifiers"] == "ready":
                break
            threading.Event().wait(0.05)
        assert client.get("/readyz").json()["classifiers"] == "ready"


# --------------------------------------------------------------------------- flooding


class Gated:
    """A stack whose first call waits for ``gate``; records each batch it runs."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.started = threading.Event()
        self.batches: list[list[str]] = []

    def classify(self, texts: Sequence[str], role: Role) -> list[TextScores]:
        self.started.set()
        self.gate.wait(60)
        self.batches.append(list(texts))
        return [CALM for _ in texts]


async def test_decisions_are_served_ahead_of_another_tenants_bulk_flood() -> None:
    stack = Gated()
    batcher = MicroBatcher(stack, max_batch=4, max_wait_ms=0)
    flood = asyncio.create_task(
        batcher.classify([f"bulk {i}" for i in range(200)], "bot", bulk=True, owner="A")
    )
    await asyncio.to_thread(stack.started.wait, 60)  # the flood's first batch is running
    analyzer = Analyzer(classifiers=batcher, timeout_s=3600)
    decision = asyncio.create_task(
        analyzer.analyze("Try Dune tonight!", "en", AnalysisRequest(classifiers=True))
    )
    other = asyncio.create_task(batcher.classify(["tenant B"], "bot", bulk=True, owner="B"))
    for _ in range(5):
        await asyncio.sleep(0)  # let both queue
    stack.gate.set()
    analysis = await decision
    assert analysis.unavailable == {} and analysis.scores is not None
    assert "Try Dune tonight!" in stack.batches[1]  # right after the batch already running
    await other
    assert any("tenant B" in b for b in stack.batches[1:3])  # B is not behind A's 200
    await flood
    await batcher.aclose()


def test_a_tenant_over_its_quota_is_refused_at_once(tmp_path: Path) -> None:
    quota = TenantQuota(4)
    with quota.admit("acme", 3), pytest.raises(QuotaExceeded), quota.admit("acme", 2):
        pass
    with quota.admit("acme", 4):
        assert quota.in_flight("other") == 0
    settings = Settings(api_key=API_KEY, db=str(tmp_path / "s.db"), classify_max_in_flight=2)
    with TestClient(create_app(settings)) as client:
        client.app.state.gateway.classifiers = MicroBatcher(FakeStack())  # type: ignore[attr-defined]
        body = {"role": "bot", "texts": ["a", "b", "c"]}
        refused = client.post("/v1/classify", json=body, headers=AUTH)
        assert refused.status_code == 429 and refused.headers["retry-after"] == "1"
        assert refused.json()["error"] == "rate_limited"
        body = {"role": "bot", "texts": ["a", "b"]}
        assert client.post("/v1/classify", json=body, headers=AUTH).status_code == 200


# --------------------------------------------------------------------------- long words


class Recording:
    """A PII detector that records each batch; the first waits for ``gate``."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.started = threading.Event()
        self.batches: list[list[str]] = []

    def analyze_batch(self, texts: Sequence[str], lang: str) -> list[list[PiiFinding]]:
        self.started.set()
        self.gate.wait(60)
        self.batches.append(list(texts))
        return [[] for _ in texts]


def test_the_pii_worker_serves_tenants_in_turn_in_bounded_batches() -> None:
    detector = Recording()
    service = PiiService(factory=lambda config, lang: detector, max_chars=10_000)  # type: ignore[arg-type,return-value]
    done = threading.Semaphore(0)
    config = PiiConfig()

    def submit(text: str, owner: str) -> None:
        service.submit(text, "en", config, lambda _: done.release(), owner=owner)

    submit("A0 " + "x" * 3000, "A")
    assert detector.started.wait(60)
    for i in range(1, 20):
        submit(f"A{i} " + "x" * 3000, "A")
    submit("B0 call me at 555-010-0199", "B")
    detector.gate.set()
    for _ in range(21):
        assert done.acquire(timeout=60)
    second = detector.batches[1]
    assert any(t.startswith("B0") for t in second)  # not behind A's nineteen
    assert sum(len(t) for t in second) <= 10_000 or len(second) == 1


def test_long_words_cost_linear_work_and_hide_no_pii() -> None:
    """The address patterns bound every word they read (an unbounded one made a
    4,000-letter word cost seconds); PII beside such a word is still found."""
    unbounded = re.compile(r"\[[^\]]*(?:A-Z|a-z|\\w)[^\]]*\][*+]")  # a run of letters
    # presidio's PatternRecognizer.patterns is a list[Pattern] that mypy cannot infer
    patterns: list[Pattern] = StreetAddressRecognizer().patterns  # type: ignore[has-type]
    for pattern in patterns:
        assert not unbounded.search(pattern.regex), pattern.name
    from classifiers.pii import PiiDetector, load_pipeline

    detector = PiiDetector(PiiConfig(), pipelines={"en": load_pipeline("en")})
    text = "A" * 4000 + " call me at 555-010-0199 or write to jo.doe@example.com"
    found = {f.entity_type for f in detector.analyze(text)}
    assert {"PHONE_NUMBER", "EMAIL_ADDRESS"} <= found


# --------------------------------------------------------------------------- patterns


def test_a_catastrophic_stop_phrase_runs_in_linear_time(tmp_path: Path) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text('name: p\nconsent:\n  stop_phrases: ["(a+)+$", "\\\\bstop it\\\\b"]\n')
    words = load_policy(policy).policy.consent
    detector = ConsentDetector(words)
    # 39 characters that make a backtracking engine try every split of the a's: RE2 returns.
    assert detector.detect("a" * 38 + "b", currently_opted_out=False) is None
    assert detector.detect("please stop it", currently_opted_out=False) is not None


@pytest.mark.parametrize(
    "pattern",
    ["(stop)\\\\1", "(?<=please )stop", "stop(?! it) now"],
    ids=["backref", "lookbehind", "inner lookahead"],
)
def test_patterns_re2_cannot_run_are_refused_with_file_and_line(
    tmp_path: Path, pattern: str
) -> None:
    policy = tmp_path / "bad.yaml"
    policy.write_text(
        f'name: bad\nconsent:\n  stop_phrases:\n    - "stop texting"\n    - "{pattern}"\n'
    )
    with pytest.raises(PolicyError) as raised:
        load_policy(policy)
    message = str(raised.value)
    assert f"{policy}:5:" in message and "consent.stop_phrases.1" in message
    assert "linear-time" in message


def test_custom_pii_patterns_are_checked_the_same_way(tmp_path: Path) -> None:
    policy = tmp_path / "pii.yaml"
    policy.write_text(
        "name: pii\nrules:\n  pii:\n    custom_recognizers:\n"
        "      - {entity: TICKET, patterns: [{regex: '(?<=#)\\d{6}'}]}\n"
    )
    with pytest.raises(PolicyError, match="linear-time"):
        load_policy(policy)


def test_default_stop_phrases_keep_their_trailing_lookaheads() -> None:
    detector = ConsentDetector(ConsentWords())
    assert detector.detect("I want to unsubscribe", currently_opted_out=False) is not None
    found = detector.detect("I want to unsubscribe from the newsletter", currently_opted_out=False)
    assert found is None
