"""Each rule on its own, as pure functions of a snapshot."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from guardrail.models import Channel, Kind, OutreachRequest
from guardrail.policy import Policy
from guardrail.rules import RULES, RuleContext
from guardrail.rules.channel_window import ChannelWindow, ChannelWindowParams
from guardrail.rules.consent import OptOut, OptOutParams
from guardrail.rules.engagement import Engagement, EngagementParams, conversation_start
from guardrail.rules.frequency_caps import CapSpec, FrequencyCapParams, FrequencyCaps
from guardrail.rules.quiet_hours import QuietHours, QuietHoursParams, QuietWindow
from guardrail.rules.unanswered import Unanswered, UnansweredParams
from guardrail.rules.user_first import UserFirst, UserFirstParams
from guardrail.state.base import Snapshot

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def at(**ago: float) -> datetime:
    return NOW - timedelta(**ago)


def ctx(
    snap: Snapshot,
    *,
    channel: Channel = Channel.MESSENGER,
    zone: str = "UTC",
    kind: Kind = Kind.PROACTIVE,
    now: datetime = NOW,
) -> RuleContext:
    req = OutreachRequest(bot_id="b", user_id="u", channel=channel, text="hi")
    return RuleContext(
        request=req, kind=kind, now=now, timezone=ZoneInfo(zone), snapshot=snap, text=req.text
    )


def test_registry_ids_are_unique_and_policy_has_a_section_for_each() -> None:
    ids = [r.id for r in RULES]
    assert len(ids) == len(set(ids))
    policy = Policy()
    for rule in RULES:
        assert isinstance(policy.rule_params(rule.id), rule.params_model)


def test_user_first() -> None:
    assert UserFirst().check(ctx(Snapshot()), UserFirstParams()) is not None
    assert (
        UserFirst().check(ctx(Snapshot(first_user_message=at(days=300))), UserFirstParams()) is None
    )


def test_unanswered_counts_proactive_after_last_user_message() -> None:
    rule, params = Unanswered(), UnansweredParams(max_unanswered=2)
    snap = Snapshot(user_messages=(at(days=2),), proactive_sent=(at(days=3), at(days=1)))
    assert rule.check(ctx(snap), params) is None  # one unanswered, two allowed
    snap = Snapshot(user_messages=(at(days=2),), proactive_sent=(at(days=1), at(hours=1)))
    found = rule.check(ctx(snap), params)
    assert found is not None and "2 proactive" in found.detail


@pytest.mark.parametrize(
    ("ages_days", "k", "expected_block"),
    [([1, 2, 3, 4, 13], 5, False), ([1, 2, 3, 4, 15], 5, True), ([], 0, False), ([1], 2, True)],
)
def test_engagement_before_send(ages_days: list[float], k: int, expected_block: bool) -> None:
    snap = Snapshot(user_messages=tuple(sorted(at(days=d) for d in ages_days)))
    found = Engagement().check(ctx(snap), EngagementParams(min_user_messages=k))
    assert (found is not None) is expected_block


def test_engagement_after_conversation_start() -> None:
    params = EngagementParams(min_user_messages=3, anchor="after_conversation_start")
    # An old conversation 40 days ago, then a new one started 10 days ago with 3 messages.
    old = [at(days=40), at(days=39)]
    new = [at(days=10), at(days=9), at(days=2)]
    snap = Snapshot(user_messages=tuple(old + new))
    assert conversation_start(snap.user_messages, timedelta(days=14)) == at(days=10)
    assert Engagement().check(ctx(snap), params) is None
    # 15 days after the conversation started: too late, however engaged the user was.
    late = ctx(snap, now=NOW + timedelta(days=5))
    found = Engagement().check(late, params)
    assert found is not None and "after the user started" in found.detail


def test_frequency_caps_rolling_windows_and_scopes() -> None:
    params = FrequencyCapParams(
        caps=[
            CapSpec(scope="bot", limit=1, window=timedelta(days=1)),
            CapSpec(scope="all_bots", limit=2, window=timedelta(days=7)),
        ]
    )
    rule = FrequencyCaps()
    assert rule.check(ctx(Snapshot(proactive_sent=(at(hours=25),))), params) is None
    hit = rule.check(ctx(Snapshot(proactive_sent=(at(hours=23),))), params)
    assert hit is not None and "1 per 1d" in hit.detail
    across = Snapshot(proactive_sent_all_bots=(at(days=6), at(days=2)))
    hit = rule.check(ctx(across), params)
    assert hit is not None and "all bots" in hit.detail


def test_channel_window_whatsapp_24h() -> None:
    rule, params = ChannelWindow(), ChannelWindowParams()
    fresh = Snapshot(user_messages=(at(hours=23),))
    stale = Snapshot(user_messages=(at(hours=25),))
    assert rule.check(ctx(fresh, channel=Channel.WHATSAPP), params) is None
    assert rule.check(ctx(stale, channel=Channel.WHATSAPP), params) is not None
    assert rule.check(ctx(stale, channel=Channel.TELEGRAM), params) is None


def test_opt_out_blocks_proactive_but_not_replies_by_default() -> None:
    snap = Snapshot(opted_out=True, opt_out_scope="all", opted_out_at=at(hours=1))
    found = OptOut().check(ctx(snap), OptOutParams())
    assert found is not None and "every bot" in found.detail
    assert OptOut().check(ctx(snap, kind=Kind.REPLY), OptOutParams()) is None
    assert OptOut().check(ctx(snap, kind=Kind.REPLY), OptOutParams(block_replies=True)) is not None


@pytest.mark.parametrize(
    ("utc_now", "zone", "expected"),
    [
        ("2026-11-20T22:30:00+00:00", "Europe/Paris", "2026-11-21T08:00:00+01:00"),
        ("2026-11-20T05:00:00+00:00", "Europe/Paris", "2026-11-20T08:00:00+01:00"),
        ("2026-11-20T12:00:00+00:00", "Europe/Paris", None),
        ("2026-11-21T03:30:00+00:00", "America/New_York", "2026-11-21T08:00:00-05:00"),
        # The night DST ends in Europe (25 Oct 2026): still 08:00 local, now at +01:00.
        ("2026-10-24T21:30:00+00:00", "Europe/Paris", "2026-10-25T08:00:00+01:00"),
    ],
)
def test_quiet_hours_defer_to_local_morning(utc_now: str, zone: str, expected: str | None) -> None:
    now = datetime.fromisoformat(utc_now)
    found = QuietHours().check(ctx(Snapshot(), zone=zone, now=now), QuietHoursParams())
    if expected is None:
        assert found is None
    else:
        assert found is not None and found.effect == "defer" and found.retry_after is not None
        assert found.retry_after.isoformat() == expected


def test_quiet_hours_touching_windows_defer_to_the_end_of_the_chain() -> None:
    params = QuietHoursParams(
        windows=[
            QuietWindow(start=time(22, 0), end=time(0, 0)),
            QuietWindow(start=time(0, 0), end=time(7, 0)),
        ]
    )
    found = QuietHours().check(ctx(Snapshot(), now=datetime(2026, 11, 20, 23, tzinfo=UTC)), params)
    assert found is not None and found.retry_after == datetime(2026, 11, 21, 7, tzinfo=UTC)


def test_quiet_hours_reject_overlaps_and_empty_windows() -> None:
    with pytest.raises(ValidationError, match="overlap"):
        QuietHoursParams.model_validate(
            {"windows": [{"start": "21:00", "end": "08:00"}, {"start": "07:00", "end": "09:00"}]}
        )
    with pytest.raises(ValidationError, match="equal"):
        QuietWindow.model_validate({"start": "08:00", "end": "08:00"})
