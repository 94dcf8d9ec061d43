"""What the store's atomic commit re-checks besides the frequency caps: the one reply
allowed after an opt-out, the reply budget of a user message and the dependency rule's
lower caps, so concurrent decisions cannot all pass. Both stores, the real Redis server.

Concurrent decisions go through :class:`tests.store_support.HeldStore`: each reads its
snapshot, then waits until all have, so every one of them passes the rules and only the
commit-time re-check can refuse.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from guardrail.app import create_app
from guardrail.config import DEFAULT_TENANT, Settings
from guardrail.models import Decision, Kind, OutreachRequest
from guardrail.pipeline import decide
from guardrail.policy.loader import LoadedPolicy, parse_policy
from guardrail.state import Cap, CommitRequest, Store
from tests.conftest import API_KEY, AUTH, REDIS_URL, Clock, redis_available
from tests.store_support import HeldStore, store

__all__ = ["store"]  # the fixture, used by name

T0 = datetime(2026, 3, 3, 12, 0, tzinfo=UTC)
TENANT, BOT = "acme", "coach"
DAY = timedelta(days=1)
CONFIRMATION = "You're unsubscribed: no more messages from us."

# Only what these tests are about: no PII pass (spaCy), no classifier, no timing rules.
QUIET = """\
  user_first: {enabled: false}
  unanswered: {enabled: false}
  engagement: {enabled: false}
  quiet_hours: {enabled: false}
  pii: {enabled: false}
  manipulation: {enabled: false}
"""


def policy(extra: str = "", reply: str = "") -> LoadedPolicy:
    return parse_policy(f"name: guards\n{reply}rules:\n{QUIET}{extra}")


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def request(user: str, kind: Kind | None = Kind.REPLY, text: str = CONFIRMATION) -> OutreachRequest:
    return OutreachRequest(bot_id=BOT, user_id=user, channel="sms", text=text, kind=kind)


async def stop(store: Store, user: str, ts: datetime, bot: str | None = BOT) -> None:
    """The user's STOP, as the events stage records it: a message, and the opt-out."""
    await store.record_user_message(TENANT, BOT, user, ts)
    await store.set_consent(TENANT, bot, user, True, ts)


async def burst(
    store: Store, loaded: LoadedPolicy, reqs: list[OutreachRequest], now: datetime
) -> list[Decision]:
    """Decide every request at once; all read their snapshot before any commits."""
    held = HeldStore(store, parties=len(reqs))
    return list(await asyncio.gather(*(decide(held, loaded, TENANT, r, now) for r in reqs)))


def enforcing(decision: Decision) -> list[str]:
    return [r.rule for r in decision.reasons if r.effect in ("block", "defer")]


def reply_commit(ts: datetime, **extra: Any) -> CommitRequest:
    return CommitRequest(uuid.uuid4().hex, Kind.REPLY, ts, "{}", **extra)


# --------------------------------------------------------------------------- the store


async def test_after_an_opt_out_the_store_commits_one_reply_per_user_message(
    store: Store,
) -> None:
    user = "u-stop"
    await stop(store, user, at(0))

    async def commit(req: CommitRequest) -> Any:
        return await store.commit(TENANT, BOT, user, req)

    assert (await commit(reply_commit(at(1), opted_out_replies=1))).committed
    refused = await commit(reply_commit(at(2), opted_out_replies=1))
    assert (refused.committed, refused.opted_out, refused.details) == (
        False,
        True,
        {"sent": 1, "limit": 1},
    )
    # Not re-checked when the caller does not ask (the opt-out rule disabled or shadowed).
    assert (await commit(reply_commit(at(3)))).committed
    # Proactive outreach is refused outright; with replies blocked, so is every reply.
    pro = CommitRequest(uuid.uuid4().hex, Kind.PROACTIVE, at(4), "{}", opted_out_replies=1)
    assert (await commit(pro)).opted_out
    # The user writes again: one more answer, not two.
    await store.record_user_message(TENANT, BOT, user, at(60))
    assert (await commit(reply_commit(at(70), opted_out_replies=0))).opted_out
    assert (await commit(reply_commit(at(71), opted_out_replies=1))).committed
    assert (await commit(reply_commit(at(72), opted_out_replies=1))).opted_out
    # Opted back in: the opt-out no longer limits replies.
    await store.set_consent(TENANT, BOT, user, False, at(80))
    for second in (81, 82, 83):
        assert (await commit(reply_commit(at(second), opted_out_replies=1))).committed


async def test_an_opt_out_of_every_bot_limits_each_bot_to_one_reply(store: Store) -> None:
    user = "u-stopall"
    await store.record_user_message(TENANT, "other", user, at(0))
    await stop(store, user, at(0), bot=None)
    for bot in (BOT, "other"):
        assert (
            await store.commit(TENANT, bot, user, reply_commit(at(1), opted_out_replies=1))
        ).committed
        again = await store.commit(TENANT, bot, user, reply_commit(at(2), opted_out_replies=1))
        assert again.opted_out


async def test_the_store_refuses_replies_past_the_reply_budget(store: Store) -> None:
    user = "u-budget"
    await store.record_user_message(TENANT, BOT, user, at(0))
    results = [
        await store.commit(TENANT, BOT, user, reply_commit(at(1 + i), reply_budget=3))
        for i in range(5)
    ]
    assert [r.committed for r in results] == [True, True, True, False, False]
    assert results[3].reply_budget_spent and results[3].details == {"sent": 3, "limit": 3}
    await store.record_user_message(TENANT, BOT, user, at(30))
    assert (await store.commit(TENANT, BOT, user, reply_commit(at(31), reply_budget=3))).committed


async def test_the_commit_names_which_cap_was_reached(store: Store) -> None:
    user = "u-caps"
    caps = (Cap("bot", 5, DAY), Cap("all_bots", 1, 7 * DAY))
    pro = [CommitRequest(uuid.uuid4().hex, Kind.PROACTIVE, at(i), "{}", caps=caps) for i in (0, 1)]
    assert (await store.commit(TENANT, BOT, user, pro[0])).committed
    refused = await store.commit(TENANT, BOT, user, pro[1])
    assert (refused.violated_cap, refused.violated_index) == (caps[1], 1)


# --------------------------------------------------------------------------- the pipeline


async def test_fifty_concurrent_replies_right_after_stop_allow_exactly_one(
    store: Store,
) -> None:
    user = f"u-{uuid.uuid4().hex[:8]}"
    await stop(store, user, at(0))
    decisions = await burst(store, policy(), [request(user) for _ in range(50)], at(5))
    assert Counter(d.verdict.value for d in decisions) == {"allow": 1, "block": 49}
    blocked = next(d for d in decisions if d.verdict.value == "block")
    assert enforcing(blocked) == ["opt_out"]
    assert "one reply allowed until they write again" in blocked.reasons[-1].detail
    snap = await store.snapshot(TENANT, BOT, user, at(10), DAY)
    assert len(snap.outbound_sent) == 1


async def test_after_stop_one_reply_then_the_rule_explains_the_refusal(store: Store) -> None:
    user = "u-seq"
    loaded = policy()
    await stop(store, user, at(0))
    first = await decide(store, loaded, TENANT, request(user), at(5))
    assert first.verdict.value == "allow"
    second = await decide(store, loaded, TENANT, request(user, text="Sorry to see you go!"), at(9))
    assert enforcing(second) == ["opt_out"]
    assert "the one reply allowed until they write again (the confirmation) was sent" in (
        second.reasons[-1].detail
    )
    # Not dressed up as outreach either: a proactive message is refused as ever.
    pro = await decide(store, loaded, TENANT, request(user, kind=Kind.PROACTIVE), at(10))
    assert enforcing(pro) == ["opt_out"]
    # The user writes again: one answer.
    await store.record_user_message(TENANT, BOT, user, at(60))
    assert (
        await decide(store, loaded, TENANT, request(user, text="Yes?"), at(65))
    ).verdict.value == "allow"
    again = await decide(store, loaded, TENANT, request(user, text="Hello?"), at(66))
    assert enforcing(again) == ["opt_out"]


async def test_block_replies_refuses_even_the_confirmation(store: Store) -> None:
    user = "u-strict"
    await stop(store, user, at(0))
    loaded = policy("  opt_out: {block_replies: true}\n")
    decisions = await burst(store, loaded, [request(user) for _ in range(5)], at(5))
    assert {d.verdict.value for d in decisions} == {"block"}


async def test_a_stop_landing_mid_decision_is_honoured_at_commit(store: Store) -> None:
    """A STOP recorded between a proactive decision's snapshot and its commit."""
    user = "u-mid"
    await store.record_user_message(TENANT, BOT, user, at(0))
    held = HeldStore(
        store, after_snapshot=lambda: store.set_consent(TENANT, BOT, user, True, at(5))
    )
    pro = request(user, kind=Kind.PROACTIVE, text="New playlists are out!")
    decision = await decide(held, policy(), TENANT, pro, at(10))
    assert enforcing(decision) == ["opt_out"]
    assert "recorded while this message was being checked" in decision.reasons[-1].detail
    assert (await store.snapshot(TENANT, BOT, user, at(10), DAY)).outbound_sent == ()


async def test_concurrent_replies_cannot_overrun_the_reply_budget(store: Store) -> None:
    user = "u-budget-race"
    await store.record_user_message(TENANT, BOT, user, at(0))
    loaded = policy(reply="reply: {max_per_user_message: 2}\n")
    decisions = await burst(
        store, loaded, [request(user, text="Here you go.") for _ in range(20)], at(5)
    )
    assert Counter(d.verdict.value for d in decisions) == {"allow": 2, "block": 18}
    refused = next(d for d in decisions if d.verdict.value == "block")
    assert enforcing(refused) == ["kind.reply_budget"]
    assert "at most 2 per user message" in refused.reasons[-1].detail
    # The next check knows: the conversation no longer supports a reply.
    later = await decide(store, loaded, TENANT, request(user, text="One more thing"), at(9))
    assert later.kind is Kind.PROACTIVE


async def test_concurrent_outreach_cannot_overrun_the_dependency_caps(store: Store) -> None:
    user = "u-dependent"
    await store.record_user_message(TENANT, BOT, user, at(-3600))
    await store.record_dependency(TENANT, BOT, user, at(-3600), 0.9)
    loaded = policy(
        "  frequency_caps: {caps: [{scope: bot, limit: 50, window: 1d}]}\n"
        "  dependency: {signals: 1, caps: [{scope: all_bots, limit: 1, window: 7d}]}\n"
    )
    reqs = [request(user, kind=Kind.PROACTIVE, text="Thinking of you!") for _ in range(20)]
    decisions = await burst(store, loaded, reqs, at(0))
    assert Counter(d.verdict.value for d in decisions) == {"allow": 1, "block": 19}
    refused = next(d for d in decisions if d.verdict.value == "block")
    assert enforcing(refused) == ["dependency"]
    assert "lower cap 1 per 1w (all bots) reached" in refused.reasons[-1].detail
    # A user without the signals is held to the ordinary caps only.
    other = "u-independent"
    await store.record_user_message(TENANT, BOT, other, at(-3600))
    reqs = [request(other, kind=Kind.PROACTIVE, text="Thinking of you!") for _ in range(5)]
    assert {d.verdict.value for d in await burst(store, loaded, reqs, at(0))} == {"allow"}


# --------------------------------------------------------------------------- over HTTP


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
async def test_fifty_concurrent_reply_checks_over_http_after_stop(
    backend: str, tmp_path: Path
) -> None:
    """The whole app on one event loop, 50 checks in flight at once, right after a STOP."""
    if backend == "redis" and not redis_available():
        pytest.fail("Redis is not answering on 127.0.0.1:6379")
    where: dict[str, Any] = (
        {"db": str(tmp_path / "state.db")}
        if backend == "sqlite"
        else {"redis_url": REDIS_URL, "audit_db": str(tmp_path / "audit.db")}
    )
    clock = Clock(T0)
    app = create_app(Settings(api_key=API_KEY, **where), clock=clock, policy_poll_s=None)
    run = uuid.uuid4().hex[:8]
    bot, user = f"maestro-{run}", f"ana-{run}"
    body = {"bot_id": bot, "user_id": user, "channel": "sms", "text": CONFIRMATION, "kind": "reply"}
    async with app.router.lifespan_context(app):
        gateway = app.state.gateway
        await gateway.store.record_user_message(DEFAULT_TENANT, bot, user, at(-2))
        await gateway.store.set_consent(DEFAULT_TENANT, bot, user, True, at(-2))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
            responses = await asyncio.gather(
                *(client.post("/v1/outreach/check", json=body, headers=AUTH) for _ in range(50))
            )
    assert {r.status_code for r in responses} == {200}
    verdicts = Counter(r.json()["verdict"] for r in responses)
    assert verdicts == {"allow": 1, "block": 49}
    reasons = {r.json()["reasons"][-1]["rule"] for r in responses if r.json()["verdict"] == "block"}
    assert reasons == {"opt_out"}
