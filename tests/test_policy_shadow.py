"""Shadow policies: evaluated beside the enforcing one, recorded, never enforced or written."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from classifiers.results import Role
from guardrail.analysis import Analysis, AnalysisRequest, Analyzer
from guardrail.app import create_app
from guardrail.config import Settings
from guardrail.models import OutreachRequest, Verdict
from guardrail.policy import PolicySet, load_policy_set, parse_policy
from guardrail.service.shadow import decide_with_shadows
from guardrail.state.sqlite import SQLiteStore
from tests.conftest import API_KEY, AUTH, Clock

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)

LIVE = "name: default\nshadow: [lenient, strict]\n"
LENIENT = "name: lenient\nrules: {user_first: {enabled: false}, engagement: {enabled: false}}\n"
STRICT = "name: strict\nextends: default\nrules: {engagement: {min_user_messages: 9}}\n"


@pytest.fixture
def policies(tmp_path: Path) -> PolicySet:
    for name, text in {
        "default.yaml": LIVE,
        "lenient.yaml": LENIENT,
        "strict.yaml": STRICT,
    }.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    return load_policy_set(tmp_path)


@pytest.fixture
async def store() -> AsyncIterator[SQLiteStore]:
    db = SQLiteStore(":memory:")
    yield db
    await db.close()


def request(**extra: object) -> OutreachRequest:
    body = {"bot_id": "b", "user_id": "u", "channel": "telegram", "text": "hi", **extra}
    return OutreachRequest.model_validate(body)


async def engage(store: SQLiteStore, count: int = 5) -> None:
    for i in range(count):
        await store.record_user_message("t", "b", "u", NOW - timedelta(hours=20 - i))


async def test_shadow_verdicts_are_reasons_and_never_change_the_verdict(
    policies: PolicySet, store: SQLiteStore
) -> None:
    counted: list[tuple[str, str]] = []
    live = policies.fallback
    decision = await decide_with_shadows(
        store, live, "t", request(), NOW, lambda *c: counted.append(c)
    )
    assert decision.verdict is Verdict.BLOCK and decision.policy == "default"
    enforcing = [(r.rule, r.effect) for r in decision.reasons if r.effect != "shadow"]
    assert enforcing == [("user_first", "block")]
    shadow = {r.rule: (r.detail, r.policy) for r in decision.reasons if r.effect == "shadow"}
    assert shadow["lenient:verdict"] == ("would allow", "lenient")
    assert shadow["strict:verdict"] == ("would block", "strict")
    assert shadow["strict:user_first"][0] == "block: the user has never written to this bot"
    assert counted == [("lenient", "allow"), ("strict", "block")]


async def test_shadows_write_no_state(policies: PolicySet, store: SQLiteStore) -> None:
    # lenient would allow (and commit) a first message: it must not have counted.
    await decide_with_shadows(store, policies.fallback, "t", request(), NOW)
    snap = await store.snapshot("t", "b", "u", NOW, timedelta(days=7))
    assert snap.proactive_sent == () and snap.outbound_sent == ()
    # An allowed live message counts once, whatever the shadows said.
    await engage(store)
    later = NOW + timedelta(minutes=1)
    decision = await decide_with_shadows(store, policies.fallback, "t", request(), later)
    assert decision.verdict is Verdict.ALLOW
    snap = await store.snapshot("t", "b", "u", later, timedelta(days=7))
    assert len(snap.proactive_sent) == 1


async def test_shadows_see_the_state_before_the_live_commit(
    policies: PolicySet, store: SQLiteStore
) -> None:
    await engage(store)
    decision = await decide_with_shadows(store, policies.fallback, "t", request(), NOW)
    assert decision.verdict is Verdict.ALLOW
    rules = [r.rule for r in decision.reasons]
    assert "lenient:verdict" in rules and "lenient:unanswered" not in rules  # not its own send
    assert "strict:engagement" in rules


async def test_an_idempotent_replay_is_returned_unchanged(
    policies: PolicySet, store: SQLiteStore
) -> None:
    await engage(store)
    first = await decide_with_shadows(
        store, policies.fallback, "t", request(idempotency_key="k1"), NOW
    )
    again = await decide_with_shadows(
        store, policies.fallback, "t", request(idempotency_key="k1"), NOW
    )
    assert again.idempotent_replay and again.decision_id == first.decision_id
    assert not any(r.effect == "shadow" for r in again.reasons)


async def test_a_shadow_mode_policy_reports_and_enforces_nothing(store: SQLiteStore) -> None:
    trial = parse_policy("name: trial\nmode: shadow\n")
    decision = await decide_with_shadows(store, trial, "t", request(), NOW)
    assert decision.verdict is Verdict.ALLOW and decision.policy == "trial"
    assert [(r.rule, r.effect) for r in decision.reasons] == [
        ("user_first", "shadow"),
        ("engagement", "shadow"),
    ]


class CountingAnalyzer(Analyzer):
    """The real analyzer (real PII detection), counting the analyses it runs."""

    def __init__(self) -> None:
        super().__init__()
        self.runs = 0

    async def analyze(
        self, text: str, locale: str | None, request: AnalysisRequest, role: Role = "bot"
    ) -> Analysis:
        self.runs += 1
        return await super().analyze(text, locale, request, role)


async def test_the_live_policy_and_its_shadows_share_one_pii_analysis(
    policies: PolicySet, store: SQLiteStore
) -> None:
    await engage(store)
    analyzer = CountingAnalyzer()
    text = "Call Dana on +1 415 555 0134 about the soundtrack"
    decision = await decide_with_shadows(
        store, policies.fallback, "t", request(text=text), NOW, analyzer=analyzer
    )
    # default and lenient redact the phone number with the same PII settings (strict stops
    # at engagement, before any content analysis)
    assert decision.verdict is Verdict.REWRITE and "0134" not in (decision.text or "")
    (shadow_pii,) = [r for r in decision.reasons if r.rule.endswith(":pii")]
    assert shadow_pii.rule == "lenient:pii"
    assert shadow_pii.labels == ["PERSON", "PHONE_NUMBER"]  # found, kept or not
    # Each policy analyses the text, then re-checks its rewrite: four analyses unshared.
    assert analyzer.runs == 2


def test_shadow_metric_over_http(tmp_path: Path, clock: Clock) -> None:
    for name, text in {
        "default.yaml": LIVE,
        "lenient.yaml": LENIENT,
        "strict.yaml": STRICT,
    }.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    settings = Settings(api_key=API_KEY, db=str(tmp_path / "state.db"), policy=tmp_path)
    with TestClient(create_app(settings, clock=clock, policy_poll_s=None)) as client:
        body = {"bot_id": "b", "user_id": "u", "channel": "telegram", "text": "hi"}
        for _ in range(2):
            decision = client.post("/v1/outreach/check", json=body, headers=AUTH).json()
            assert decision["verdict"] == "block"
        metrics = client.get("/metrics", headers=AUTH).text
        listed = client.get("/v1/policies", headers=AUTH).json()["policies"]
    assert 'guardrail_shadow_verdicts_total{policy="lenient",verdict="allow"} 2.0' in metrics
    assert 'guardrail_shadow_verdicts_total{policy="strict",verdict="block"} 2.0' in metrics
    assert {p["name"]: p["applies"] for p in listed} == {
        "default": "fallback",
        "lenient": "shadow",
        "strict": "shadow",
    }
