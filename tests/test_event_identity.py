"""Event identity (issue #24, point 2): an event id is remembered per source and per bot,
and an opt-out is applied even when its id was seen on another event. Both stores.

Before, ids were de-duplicated per tenant and user only: a bot allowed to forward user
events could post a message under the id the platform would later give another bot's
STOP, and the real STOP came back ``duplicate: true``; Telegram's update ids, counted per
bot, collided by accident between two bots polling for one chat.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from guardrail.state.base import EventWrite, Store
from guardrail.state.common import ConsentChange, event_key
from tests.channel_support import (
    API_BOT,
    BOT,
    FB_BOT,
    INGEST,
    TG_BOT,
    TG_BOT_2,
    TG_PROXY_2,
    WA_BOT,
    MakeClient,
    fb_item,
    make_channels,
    messenger,
    post_event,
    telegram,
    tg_update,
    wa_message,
    whatsapp,
)
from tests.conftest import Clock
from tests.store_support import store
from tests.test_api import Uid, check, enforcing
from tests.upstream import Reply, Upstream, serve_upstream

__all__ = ["store"]  # the fixture, of each backend


@pytest.fixture(scope="module")
def upstream() -> Iterator[Upstream]:
    with serve_upstream() as up:
        up.default = Reply(200, {"ok": True, "result": []})
        yield up


def blocked(client: TestClient, bot: str, user: str, channel: str = "messenger") -> bool:
    decision = check(client, bot, user, channel=channel, kind="proactive")
    return "opt_out" in enforcing(decision)


def wa_user() -> str:
    return "3361" + str(uuid.uuid4().int % 10**7).zfill(7)


def test_a_forwarding_bot_cannot_burn_the_id_of_another_bots_stop(
    make_client: MakeClient, upstream: Upstream, clock: Clock
) -> None:
    client = make_channels(make_client, upstream)
    user, mid = wa_user(), f"wamid.{uuid.uuid4().hex}"
    # api-bot's engine forwards a harmless message under the id WhatsApp will use.
    first = post_event(client, BOT, bot_id=API_BOT, user_id=user, text="hi", event_id=mid,
                       ts=clock() - timedelta(minutes=5))  # fmt: skip
    assert first["duplicate"] is False
    # The user's real STOP to wa-bot arrives from the signed webhook under that id.
    hook = whatsapp(client, wa_message(user, clock() - timedelta(minutes=1), "text", "STOP", mid))
    assert hook == {"recorded": 1, "warnings": []}
    assert blocked(client, WA_BOT, user, "whatsapp")


def test_nor_the_id_of_a_messenger_stop(
    make_client: MakeClient, upstream: Upstream, clock: Clock
) -> None:
    client = make_channels(make_client, upstream)
    psid, mid = f"psid-{uuid.uuid4().hex[:8]}", f"m_{uuid.uuid4().hex}"
    post_event(client, BOT, bot_id=API_BOT, user_id=psid, text="hi", event_id=mid,
               ts=clock() - timedelta(minutes=5))  # fmt: skip
    hook = messenger(client, fb_item(psid, clock() - timedelta(minutes=1), "text", "stop", mid))
    assert hook == {"recorded": 1, "warnings": []}
    assert blocked(client, FB_BOT, psid)


def test_the_same_bots_forwarded_copy_does_not_hide_the_platforms_stop(
    make_client: MakeClient, upstream: Upstream, clock: Clock
) -> None:
    client = make_channels(make_client, upstream, WA_BOT)
    user, mid = wa_user(), f"wamid.{uuid.uuid4().hex}"
    post_event(client, BOT, bot_id=WA_BOT, user_id=user, text="nice film", event_id=mid,
               ts=clock() - timedelta(minutes=5))  # fmt: skip
    whatsapp(client, wa_message(user, clock() - timedelta(minutes=1), "text", "STOP", mid))
    assert blocked(client, WA_BOT, user, "whatsapp")


def test_telegram_update_ids_of_two_bots_do_not_collide(
    make_client: MakeClient, upstream: Upstream, clock: Clock
) -> None:
    client = make_channels(make_client, upstream)
    chat, number = 10**9 + uuid.uuid4().int % 10**9, uuid.uuid4().int % 10**9
    telegram(
        client, upstream, tg_update(chat, clock() - timedelta(minutes=3), "text", "hey", number)
    )
    stop = tg_update(chat, clock() - timedelta(minutes=1), "text", "STOP", number)
    telegram(client, upstream, stop, token=TG_PROXY_2)
    assert blocked(client, TG_BOT_2, str(chat), "telegram")
    assert not blocked(client, TG_BOT, str(chat), "telegram")


def test_an_opt_out_under_an_id_already_seen_is_applied_anyway(
    make_client: MakeClient, upstream: Upstream, clock: Clock, uid: Uid
) -> None:
    """Even from one source: the STOP is never lost to a reused id; a redelivered STOP stays
    a duplicate, so it never outranks a START said since."""
    client = make_channels(make_client, upstream)
    user, mid, t0 = uid("ana"), uid("mid"), clock() - timedelta(minutes=10)
    post_event(client, INGEST, bot_id=API_BOT, user_id=user, text="hello", event_id=mid, ts=t0)
    out = post_event(client, INGEST, bot_id=API_BOT, user_id=user, event_id=mid, text="STOP",
                     ts=t0 + timedelta(minutes=1))  # fmt: skip
    assert (out["duplicate"], out["consent"], out["consent_applied"]) == (False, "opted_out", True)
    assert "was seen before" in out["detail"] and "applied anyway" in out["detail"]
    assert blocked(client, API_BOT, user)
    post_event(client, INGEST, bot_id=API_BOT, user_id=user, text="START",
               ts=t0 + timedelta(minutes=2))  # fmt: skip
    again = post_event(client, INGEST, bot_id=API_BOT, user_id=user, event_id=mid, text="STOP",
                       ts=t0 + timedelta(minutes=1))  # fmt: skip
    assert again["duplicate"] is True
    assert not blocked(client, API_BOT, user)


def test_a_redelivered_message_is_still_a_duplicate_per_source(
    make_client: MakeClient, upstream: Upstream, clock: Clock
) -> None:
    client = make_channels(make_client, upstream)
    user, mid = wa_user(), f"wamid.{uuid.uuid4().hex}"
    message = wa_message(user, clock() - timedelta(minutes=2), "text", "hello", mid)
    assert whatsapp(client, message)["recorded"] == 1
    assert whatsapp(client, message)["recorded"] == 0


# --------------------------------------------------------------------------- the stores

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def write(key: str, *, out: bool | None = None, at: int = 0) -> EventWrite:
    ts = T0 + timedelta(minutes=at)
    change = None if out is None else ConsentChange("coach", out, ts, "ingest", ts)
    return EventWrite(ts=ts, seen_key=key, user_message=True, consent=change)


async def test_stores_scope_ids_and_keep_every_stop(store: Store) -> None:
    key = event_key("user_message", "m1", origin="bot", bot="other")
    platform = event_key("user_message", "m1", origin="webhook", bot="coach")
    assert key != platform
    assert not (await store.apply_event("acme", "other", "u", write(key))).duplicate
    applied = await store.apply_event("acme", "coach", "u", write(platform, out=True, at=1))
    assert not applied.duplicate and not applied.id_reused
    assert applied.consent is not None and applied.consent.applied

    same = event_key("user_message", "m2", origin="ingest", bot="coach")
    await store.apply_event("acme", "coach", "v", write(same))
    reused = await store.apply_event("acme", "coach", "v", write(same, out=True, at=1))
    assert reused.id_reused and reused.consent is not None and reused.consent.applied
    snap = await store.snapshot("acme", "coach", "v", T0 + timedelta(minutes=2), timedelta(days=1))
    assert snap.opted_out and snap.user_messages == (T0,)  # nothing else of the STOP event
    start = event_key("user_message", "m3", origin="ingest", bot="coach")
    await store.apply_event("acme", "coach", "v", write(start, out=False, at=3))
    redelivered = await store.apply_event("acme", "coach", "v", write(same, out=True, at=1))
    assert redelivered.duplicate and redelivered.consent is None
    snap = await store.snapshot("acme", "coach", "v", T0 + timedelta(minutes=5), timedelta(days=1))
    assert not snap.opted_out
