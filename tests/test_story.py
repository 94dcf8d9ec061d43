"""The README walkthrough end to end (first contact, engagement, caps, STOP, quiet hours),
over HTTP, on both stores."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from fastapi.testclient import TestClient

from tests.conftest import AUTH, Clock


def check(client: TestClient, bot: str, user_id: str, **extra: object) -> dict[str, object]:
    body = {
        "bot_id": bot,
        "user_id": user_id,
        "channel": "messenger",
        "kind": "proactive",
        "text": "I hope you're having a wonderful day! Discovered any new soundtracks lately?",
        **extra,
    }
    response = client.post("/v1/outreach/check", json=body, headers=AUTH)
    assert response.status_code == 200, response.text
    data: dict[str, object] = response.json()
    return data


def say(
    client: TestClient, bot: str, user: str, text: str, ts: str, clock: Clock | None = None
) -> dict[str, object]:
    if clock is not None and clock.now < datetime.fromisoformat(ts):
        clock.set(ts)  # the platform forwards a message when it arrives, not before
    event = {"type": "user_message", "bot_id": bot, "user_id": user, "text": text, "ts": ts}
    response = client.post("/v1/events", json=event, headers=AUTH)
    assert response.status_code == 200, response.text
    data: dict[str, object] = response.json()
    return data


def rules(decision: dict[str, object]) -> list[str]:
    reasons = decision["reasons"]
    assert isinstance(reasons, list)
    return [r["rule"] for r in reasons]


def test_maestro_story(
    make_client: Callable[..., TestClient], clock: Clock, uid: Callable[[str], str]
) -> None:
    client = make_client()
    bot, ana, bea, cleo = uid("maestro-cinema"), uid("ana"), uid("bea"), uid("cleo")

    # 1. The bot writes first to a user who never wrote: blocked by user-first.
    clock.set("2026-11-17T09:00:00+00:00")
    first = check(client, bot, ana)
    assert first["verdict"] == "block" and rules(first) == ["user_first"]
    assert str(first["policy_version"]).startswith("sha256:")

    # 2. Ana writes 5 messages over 3 days; then a proactive message is allowed.
    for ts in [
        "2026-11-17T09:00:00Z",
        "2026-11-17T09:05:00Z",
        "2026-11-18T18:00:00Z",
        "2026-11-19T12:00:00Z",
        "2026-11-19T12:10:00Z",
    ]:
        say(client, bot, ana, "loved the film you recommended", ts, clock=clock)
    clock.set("2026-11-20T10:00:00+00:00")
    allowed = check(client, bot, ana)
    assert allowed["verdict"] == "allow", allowed
    assert allowed["text"] and allowed["kind"] == "proactive"

    # 3. A second one while the first is unanswered: blocked.
    clock.advance(hours=2)
    second = check(client, bot, ana)
    assert second["verdict"] == "block" and rules(second) == ["unanswered"]

    # 4. Ana replies; the next day the next one is allowed (the 1/day cap permitting).
    say(client, bot, ana, "haha yes, Interstellar again", "2026-11-20T13:00:00Z", clock=clock)
    clock.set("2026-11-20T15:00:00+00:00")
    capped = check(client, bot, ana)
    assert capped["verdict"] == "block" and rules(capped) == ["frequency_caps"]
    clock.set("2026-11-21T10:30:00+00:00")
    assert check(client, bot, ana)["verdict"] == "allow"

    # 5. "STOP" from Ana, and a French "arrêt" from Bea, block all proactive messages.
    for ts in [
        "2026-11-18T10:00:00Z",
        "2026-11-19T10:00:00Z",
        "2026-11-20T10:00:00Z",
        "2026-11-20T11:00:00Z",
        "2026-11-21T09:00:00Z",
    ]:
        say(client, bot, bea, "merci pour la recommandation", ts, clock=clock)
    stop = say(client, bot, ana, "STOP", "2026-11-21T11:00:00Z", clock=clock)
    assert stop["consent"] == "opted_out"
    arret = say(client, bot, bea, "Arrêt !", "2026-11-21T11:00:00Z", clock=clock)
    assert arret["consent"] == "opted_out"
    clock.set("2026-11-22T11:00:00+00:00")
    for user in (ana, bea):
        blocked = check(client, bot, user)
        assert blocked["verdict"] == "block" and rules(blocked) == ["opt_out"], blocked

    # 6. 23:30 in Europe/Paris: deferred to 08:00 local.
    for ts in [
        "2026-11-20T09:00:00Z",
        "2026-11-20T10:00:00Z",
        "2026-11-21T10:00:00Z",
        "2026-11-22T10:00:00Z",
        "2026-11-22T20:00:00Z",
    ]:
        say(client, bot, cleo, "bonne soirée", ts, clock=clock)
    clock.set("2026-11-22T22:30:00+00:00")  # 23:30 in Paris (UTC+1 in November)
    late = check(client, bot, cleo, user={"timezone": "Europe/Paris"})
    assert late["verdict"] == "defer" and rules(late) == ["quiet_hours"]
    retry = datetime.fromisoformat(str(late["retry_after"]))
    assert retry.isoformat() == "2026-11-23T08:00:00+01:00"
    assert late["text"] is None
