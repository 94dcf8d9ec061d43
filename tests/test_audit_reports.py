"""Reports from a scripted year: every figure is checked exactly, and no report carries a
user id, raw or pseudonymous.

Quiet-hour deferrals and opt-outs go through the real API. Crisis, manipulation and
dependency rules are not all built yet, so their decisions are appended to the trail
directly, shaped as those rules will shape them (rule ids ``crisis_*``/``crisis.*``,
``manipulation.<tactic>``, ``dependency.*``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from guardrail.cli import app as cli
from guardrail.config import audit_db_path
from guardrail.gateway import Gateway
from guardrail.models import Decision, Kind, OutreachRequest, Reason, Verdict
from tests.audit_support import ADMIN_KEY, AUDIT_KEY, TEXT, Json, bearer, event, outreach
from tests.conftest import Clock

MakeClient = Callable[..., TestClient]
Uid = Callable[[str], str]
SYNTHETIC = "sha256:" + "ab" * 32


def at(iso: str) -> datetime:
    return datetime.fromisoformat(iso).astimezone(UTC)


def synthetic(
    gateway: Gateway,
    when: str,
    bot: str,
    verdict: Verdict,
    *reasons: tuple[str, str],
    tenant: str = "default",
) -> None:
    """Append a decision as a rule not yet built would produce it."""
    decided = at(when)
    req = OutreachRequest(bot_id=bot, user_id="u-synthetic", channel="sms", text=TEXT)
    decision = Decision(
        decision_id=f"syn-{bot}-{decided:%Y%m%d%H%M}-{verdict.value}",
        verdict=verdict,
        text=TEXT if verdict in (Verdict.ALLOW, Verdict.REWRITE) else None,
        kind=Kind.REPLY,
        reasons=[Reason(rule=r, detail="scripted", policy="default", effect=e) for r, e in reasons],
        policy="default",
        policy_version=SYNTHETIC,
        decided_at=decided,
    )
    asyncio.run(gateway.audit.record_decision(tenant, req, decision))


def report(client: TestClient, name: str, **params: Any) -> Json:
    response = client.get(f"/v1/audit/reports/{name}", params=params, headers=bearer(ADMIN_KEY))
    assert response.status_code == 200, response.text
    data: Json = response.json()
    return data


def test_scripted_year(
    make_client: MakeClient, clock: Clock, uid: Uid, store_settings: dict[str, Any]
) -> None:
    client = make_client(audit_key=AUDIT_KEY)
    gateway: Gateway = client.app.state.gateway  # type: ignore[attr-defined]
    maestro, nova = uid("maestro"), uid("nova")
    u1, u2, u3 = uid("u1"), uid("u2"), uid("u3")

    # Quiet hours: three engaged users, a proactive message at 22:30 UTC each.
    clock.set("2026-11-20T20:00:00+00:00")  # events may not be dated after the clock
    for bot, user in ((maestro, u1), (maestro, u2), (nova, u3)):
        for day in (15, 16, 17, 18, 20):
            event(client, bot, user, at(f"2026-11-{day}T20:00:00+00:00"), text="good film")
    clock.set("2026-11-20T22:30:00+00:00")
    deferred = [
        outreach(client, bot, user, user={"timezone": "UTC"})
        for bot, user in ((maestro, u1), (maestro, u2), (nova, u3))
    ]
    assert [d["verdict"] for d in deferred] == ["defer"] * 3, deferred
    live_version = deferred[0]["policy_version"]

    # Opt-outs: a STOP honoured 3 s after the platform saw it, an explicit opt-out of
    # every bot 10 s after; then an opt-in.
    clock.set("2026-11-20T22:40:03+00:00")
    event(client, maestro, u1, at("2026-11-20T22:40:00+00:00"), text="STOP")
    clock.set("2026-11-20T22:41:10+00:00")
    event(client, nova, u3, at("2026-11-20T22:41:00+00:00"), type="opt_out", scope="all")
    clock.set("2026-11-20T22:50:01+00:00")
    event(client, maestro, u1, at("2026-11-20T22:50:00+00:00"), text="START")
    clock.set("2026-11-21T09:00:00+00:00")
    asyncio.run(
        gateway.audit.record_policy_reload(
            name="strict", version="sha256:" + "cd" * 32, source="policies/strict.yaml",
            actor="acme-admin",
        )
    )  # fmt: skip

    # Crisis referrals: two delivered in 2026; a shadow finding, a blocked message, the
    # years around and another tenant do not count.
    synthetic(
        gateway,
        "2026-03-05T12:00:00+00:00",
        maestro,
        Verdict.REWRITE,
        ("crisis_resources", "rewrite"),
    )
    synthetic(
        gateway, "2026-07-01T12:00:00+00:00", nova, Verdict.REWRITE, ("crisis.resources", "rewrite")
    )
    synthetic(
        gateway, "2026-08-01T12:00:00+00:00", maestro, Verdict.ALLOW, ("crisis_resources", "shadow")
    )
    synthetic(
        gateway,
        "2026-09-01T12:00:00+00:00",
        maestro,
        Verdict.BLOCK,
        ("risk_hold", "block"),
        ("crisis_resources", "info"),
    )
    synthetic(
        gateway,
        "2025-12-31T23:59:00+00:00",
        maestro,
        Verdict.REWRITE,
        ("crisis_resources", "rewrite"),
    )
    synthetic(
        gateway,
        "2027-01-01T00:00:00+00:00",
        maestro,
        Verdict.REWRITE,
        ("crisis_resources", "rewrite"),
    )
    synthetic(
        gateway,
        "2026-04-01T12:00:00+00:00",
        maestro,
        Verdict.REWRITE,
        ("crisis_resources", "rewrite"),
        tenant="acme",
    )
    # Manipulation: three blocked messages, four tactic blocks; a rewrite and a shadow.
    synthetic(
        gateway,
        "2026-05-01T12:00:00+00:00",
        maestro,
        Verdict.BLOCK,
        ("manipulation.guilt", "block"),
    )
    synthetic(
        gateway,
        "2026-05-02T12:00:00+00:00",
        nova,
        Verdict.BLOCK,
        ("manipulation.guilt", "block"),
        ("manipulation.fomo", "block"),
    )
    synthetic(
        gateway,
        "2026-05-03T12:00:00+00:00",
        maestro,
        Verdict.REWRITE,
        ("manipulation.flattery", "rewrite"),
    )
    synthetic(
        gateway,
        "2026-06-01T12:00:00+00:00",
        maestro,
        Verdict.BLOCK,
        ("manipulation.guilt", "block"),
    )
    synthetic(
        gateway, "2026-06-02T12:00:00+00:00", nova, Verdict.ALLOW, ("manipulation.fomo", "shadow")
    )
    # Dependency rules: three activations.
    synthetic(
        gateway, "2026-10-01T12:00:00+00:00", maestro, Verdict.ALLOW, ("dependency.dampen", "info")
    )
    synthetic(
        gateway, "2026-10-02T12:00:00+00:00", nova, Verdict.BLOCK, ("dependency.off", "block")
    )
    synthetic(gateway, "2026-10-03T12:00:00+00:00", maestro, Verdict.ALLOW,
              ("dependency.dampen", "shadow"))  # fmt: skip

    year = {"since": "2026-01-01T00:00:00+00:00", "until": "2027-01-01T00:00:00+00:00"}
    sb243 = report(client, "sb243", year=2026)
    assert sb243["period"] == year and sb243["tenant"] == "default"
    assert sb243["crisis_referrals"] == {
        "total": 2,
        "by_bot": {maestro: 1, nova: 1},
        "by_month": {"2026-03": 1, "2026-07": 1},
        "by_rule": {"crisis.resources": 1, "crisis_resources": 1},
    }
    protocol = sb243["protocol"]
    assert protocol["in_force_at_start"] is None
    assert [(r["policy"], r["reason"]) for r in protocol["reloads"]] == [
        ("default", "startup"),
        ("strict", "reload"),
    ]
    assert [(v["policy_version"], v["decisions"]) for v in protocol["versions_used"]] == [
        (SYNTHETIC, 12),
        (live_version, 3),
    ]
    assert protocol["versions_used"][0]["first"] == "2026-03-05T12:00:00+00:00"
    assert protocol["versions_used"][0]["last"] == "2026-10-03T12:00:00+00:00"
    assert report(client, "sb243")["crisis_referrals"]["total"] == 1  # default: last year

    assert report(client, "opt-outs", year=2026) == {
        "report": "opt-outs",
        "tenant": "default",
        "period": year,
        "total": 2,
        "by_bot": {maestro: 1, nova: 1},
        "by_scope": {"all": 1, "bot": 1},
        "opt_ins": 1,
        "delay_seconds": {"max": 10.0, "median": 6.5},
        "items": [
            {
                "bot": maestro, "scope": "bot", "source": "user_message", "channel": None,
                "received_at": "2026-11-20T22:40:00+00:00",
                "honoured_at": "2026-11-20T22:40:03+00:00", "delay_seconds": 3.0,
            },
            {
                "bot": nova, "scope": "all", "source": "opt_out", "channel": None,
                "received_at": "2026-11-20T22:41:00+00:00",
                "honoured_at": "2026-11-20T22:41:10+00:00", "delay_seconds": 10.0,
            },
        ],
    }  # fmt: skip

    quiet = report(client, "quiet-hours", year=2026)
    assert (quiet["deferrals"], quiet["by_bot"]) == (3, {maestro: 2, nova: 1})
    assert quiet["by_month"] == {"2026-11": 3}
    assert report(client, "quiet-hours", since="2026-11-21")["deferrals"] == 0

    manipulation = report(client, "manipulation", year=2026)
    assert manipulation["blocked_messages"] == 3
    assert manipulation["blocks_by_tactic"] == {"fomo": 1, "guilt": 3}
    assert manipulation["blocks_by_bot"] == {maestro: 2, nova: 1}  # messages, not tactics
    assert manipulation["blocks_by_tactic_and_bot"] == [
        {"tactic": "fomo", "bot": nova, "count": 1},
        {"tactic": "guilt", "bot": maestro, "count": 2},
        {"tactic": "guilt", "bot": nova, "count": 1},
    ]
    assert manipulation["other_effects"] == {"rewrite": 1, "shadow": 1}

    dependency = report(client, "dependency", year=2026)
    assert dependency["activations"] == 3
    assert dependency["by_rule"] == {"dependency.dampen": 2, "dependency.off": 1}
    assert dependency["by_bot"] == {maestro: 2, nova: 1}
    assert dependency["by_effect"] == {"block": 1, "info": 1, "shadow": 1}

    # No report holds a user id, raw or pseudonymous, nor any text.
    texts = json.dumps([sb243, quiet, manipulation, dependency, report(client, "opt-outs")])
    for user in (u1, u2, u3, "u-synthetic"):
        assert user not in texts
        assert gateway.audit.pseudonym("default", user) not in texts
    assert TEXT not in texts

    # The console's chart data agrees.
    stats = client.get("/v1/audit/stats", params=year, headers=bearer(ADMIN_KEY)).json()
    assert stats["crisis_by_month"] == [
        {"month": "2026-03", "count": 1},
        {"month": "2026-07", "count": 1},
    ]
    assert stats["total"] == 15
    assert {"rule": "quiet_hours", "count": 3} in stats["top_rules"]

    # The CLI prints the same reports from the database itself.
    from guardrail.config import Settings

    path = audit_db_path(Settings(**store_settings))
    runner = CliRunner()
    for name in ("sb243", "opt-outs", "quiet-hours", "manipulation", "dependency"):
        out = runner.invoke(
            cli,
            ["audit", "report", name, "--db", path, "--tenant", "default", "--year", "2026"],
            env={"GUARDRAIL_AUDIT_KEY": AUDIT_KEY},
        )
        assert out.exit_code == 0, out.output
        assert json.loads(out.stdout) == report(client, name, year=2026), name

    missing = client.get("/v1/audit/reports/nope", headers=bearer(ADMIN_KEY))
    assert missing.status_code == 404 and "sb243" in missing.json()["detail"]


def test_tactics_come_from_rule_ids_or_the_manipulation_rule_labels() -> None:
    from guardrail.audit.reports import _tactics

    assert _tactics({"rule": "manipulation.guilt"}) == ["guilt"]
    labelled = {"rule": "manipulation", "detail": "fomo_hook in words", "labels": ["pressure"]}
    assert _tactics(labelled) == ["pressure"]  # the labels, not the words
    # Records written before reasons carried labels: the tactics named in the detail.
    detail = "manipulative: emotional_neglect, fomo_hook (score 0.97, over the head's threshold)"
    assert _tactics({"rule": "manipulation", "detail": detail}) == [
        "emotional_neglect",
        "fomo_hook",
    ]
    assert _tactics({"rule": "manipulation", "detail": "manipulative: x"}) == ["unnamed"]
    assert _tactics({"rule": "quiet_hours", "detail": "fomo_hook"}) == []
