"""Quiet hours when the request gives no time zone: the zone of a phone-number
user id, else the policy's choice (its zone, the strictest of assumed zones, or defer)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from guardrail.models import Channel, Kind, OutreachRequest, UserContext
from guardrail.policy.policyset import load_policy_set
from guardrail.rules.base import Finding, RuleContext
from guardrail.rules.quiet_hours import QuietHours, QuietHoursParams
from guardrail.state.base import Snapshot
from guardrail.timezones import phone_digits, phone_zones
from tests.conftest import AUTH, Clock
from tests.test_api import MakeClient, Uid, enforcing, engage

PACKS = Path(__file__).resolve().parent.parent / "policies"
US_50 = [
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "America/Anchorage",
    "Pacific/Honolulu",
]
STRICTEST = QuietHoursParams(unknown_timezone="strictest", assumed_zones=US_50)


def run(
    user_id: str,
    now: str,
    params: QuietHoursParams,
    *,
    zone: str | None = None,
    channel: Channel = Channel.SMS,
    policy_zone: str = "America/New_York",
) -> Finding | None:
    req = OutreachRequest(
        bot_id="b", user_id=user_id, channel=channel, text="hi", user=UserContext(timezone=zone)
    )
    ctx = RuleContext(
        request=req,
        kind=Kind.PROACTIVE,
        now=datetime.fromisoformat(now).astimezone(UTC),
        timezone=ZoneInfo(zone or policy_zone),
        snapshot=Snapshot(),
        text=req.text,
    )
    return QuietHours().check(ctx, params)


@pytest.mark.parametrize(
    ("user_id", "channel", "digits"),
    [
        ("+12125550123", Channel.TELEGRAM, "12125550123"),
        ("whatsapp:+33612345678", Channel.WEBHOOK, "33612345678"),
        ("33612345678@s.whatsapp.net", Channel.MESSENGER, "33612345678"),
        ("33612345678", Channel.WHATSAPP, "33612345678"),
        ("13105550123", Channel.SMS, "13105550123"),
        ("13105550123", Channel.TELEGRAM, None),  # a Telegram id is digits, not a phone
        ("ana", Channel.SMS, None),
        ("+1", Channel.SMS, None),
        ("+" + "9" * 40, Channel.SMS, None),
    ],
)
def test_phone_number_ids(user_id: str, channel: Channel, digits: str | None) -> None:
    assert phone_digits(user_id, channel) == digits


def test_zones_of_numbers() -> None:
    def names(user_id: str) -> list[str] | None:
        found = phone_zones(user_id, Channel.SMS)
        return None if found is None else [z.key for z in found[0]]

    assert names("+12125550123") == ["America/New_York"]
    assert names("+13105550123") == ["America/Los_Angeles"]
    assert names("+33612345678") == ["Europe/Paris"]
    assert names("+19075550123") == ["America/Adak", "America/Anchorage"]
    assert names("+18005550123") is None  # toll-free: no place
    assert names("+10005550123") is None  # not a valid number


def test_the_phone_zone_decides_and_the_reason_says_so() -> None:
    # 10:00 in New York is 07:00 in Los Angeles: quiet for a 310 number.
    found = run("+13105550123", "2026-11-20T10:00:00-05:00", STRICTEST)
    assert found is not None and found.effect == "defer"
    assert found.retry_after == datetime.fromisoformat("2026-11-20T08:00:00-08:00")
    assert "America/Los_Angeles" in found.detail and "phone number" in found.detail
    assert "+1 US" in found.detail and "3105550123" not in found.detail  # no number in logs
    allowed = run("+13105550123", "2026-11-20T12:00:00-05:00", STRICTEST)
    assert allowed is not None and allowed.effect == "info"
    assert "09:00 in America/Los_Angeles" in allowed.detail


def test_a_request_zone_the_phone_allows_is_used_as_it_is() -> None:
    # A 310 (Los Angeles) number, the request says Los Angeles, or a zone at the same offset.
    for zone in ("America/Los_Angeles", "America/Tijuana"):
        assert run("+13105550123", "2026-11-20T13:00:00-05:00", STRICTEST, zone=zone) is None


def test_a_request_zone_the_phone_contradicts_gets_the_strictest_reading() -> None:
    """Issue #24: the bot picked the zone. 10:00 in New York is 07:00 for this number."""
    found = run("+13105550123", "2026-11-20T10:00:00-05:00", STRICTEST, zone="America/New_York")
    assert found is not None and found.effect == "defer"
    assert "the request says America/New_York, which conflicts with the phone number" in (
        found.detail
    )
    assert found.retry_after is not None and found.retry_after.hour == 8


def test_a_number_of_several_zones_is_quiet_if_quiet_in_any() -> None:
    # 08:30 in Anchorage (UTC-9) is 07:30 in Adak (UTC-10): still quiet there.
    found = run("+19075550123", "2026-11-20T17:30:00+00:00", QuietHoursParams())
    assert found is not None and found.effect == "defer"
    assert found.retry_after == datetime(2026, 11, 20, 18, 0, tzinfo=UTC)
    assert "America/Adak" in found.detail and "any" in found.detail


def test_tcpa_without_zone_or_number_uses_every_us_zone() -> None:
    """The reported case: no zone, not a phone id. At 08:00 UTC (03:00 New York) the old
    UTC fallback let texts go; now they wait until 08:00 in Hawaii = 13:00 Eastern."""
    found = run("user-42", "2026-11-20T13:00:00+00:00", STRICTEST, policy_zone="UTC")
    assert found is not None and found.effect == "defer"
    assert found.retry_after == datetime.fromisoformat("2026-11-20T08:00:00-10:00")
    assert "every zone the policy assumes" in found.detail
    # 22:00 Eastern: quiet in the east; the next moment clear everywhere is 13:00 Eastern.
    late = run("user-42", "2026-11-20T22:00:00-05:00", STRICTEST)
    assert late is not None and late.retry_after is not None
    assert late.retry_after.astimezone(ZoneInfo("America/New_York")).hour == 13
    ok = run("user-42", "2026-11-20T14:00:00-05:00", STRICTEST)
    assert ok is not None and ok.effect == "info"


def test_unknown_zone_can_defer_or_use_the_policy_zone() -> None:
    found = run("user-42", "2026-11-20T12:00:00-05:00", QuietHoursParams(unknown_timezone="defer"))
    assert found is not None and found.effect == "defer" and found.retry_after is None
    assert "unknown" in found.detail
    assert run("user-42", "2026-11-20T12:00:00-05:00", QuietHoursParams()) is None
    night = run("user-42", "2026-11-20T23:00:00-05:00", QuietHoursParams())
    assert night is not None and "the policy's zone" in night.detail


def test_phone_inference_can_be_turned_off() -> None:
    params = QuietHoursParams(infer_from_phone=False)
    assert run("+13105550123", "2026-11-20T10:00:00-05:00", params) is None  # New York 10:00


def test_strictest_needs_zones() -> None:
    with pytest.raises(ValidationError, match="assumed_zones"):
        QuietHoursParams(unknown_timezone="strictest")
    with pytest.raises(ValidationError, match="time zone"):
        QuietHoursParams(unknown_timezone="strictest", assumed_zones=["Mars/Olympus"])


def test_tcpa_pack_reads_every_us_zone() -> None:
    tcpa = load_policy_set(PACKS).named("tcpa")
    assert tcpa is not None
    params = tcpa.policy.rule_params(QuietHours.id)
    assert isinstance(params, QuietHoursParams)
    assert params.unknown_timezone == "strictest" and set(params.assumed_zones) == set(US_50)


def test_tcpa_text_without_zone_waits_for_the_west(
    make_client: MakeClient, clock: Clock, uid: Uid
) -> None:
    """End to end on both stores: a US text, no zone, a non-phone user id."""
    client = make_client(policy=PACKS)
    bot, user = uid("maestro"), uid("kim")
    clock.set("2026-11-20T16:00:00+00:00")  # 11:00 Eastern, 06:00 Hawaii
    engage(client, bot, user, clock())

    def text() -> dict[str, Any]:
        body = {"bot_id": bot, "user_id": user, "channel": "sms", "text": "Hi! Plans tonight?"}
        response = client.post(
            "/v1/outreach/check", json={**body, "user": {"jurisdiction": "US"}}, headers=AUTH
        )
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()
        return data

    decision = text()
    assert enforcing(decision) == ["quiet_hours"], decision
    assert decision["policy"] == "tcpa"
    assert datetime.fromisoformat(decision["retry_after"]) == datetime(2026, 11, 20, 18, tzinfo=UTC)
    clock.advance(hours=2)
    later = text()
    assert later["verdict"] == "allow", later
    assert any("every zone the policy assumes" in r["detail"] for r in later["reasons"])
