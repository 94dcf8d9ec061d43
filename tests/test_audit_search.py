"""What the console's search, filters, timeline and report views read, on both stores:
records of any type with filters, search by text hash, one user's timeline, the report
list; one tenant per request, and no raw user id in any answer."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from guardrail.audit.statutes import REPORTS
from tests.audit_support import (
    ACME_AUDITOR_KEY,
    ADMIN_KEY,
    AUDIT_KEY,
    TEXT,
    Json,
    bearer,
    event,
    keys,
    outreach,
    sha256,
)
from tests.conftest import AUTH, Clock

MakeClient = Callable[..., TestClient]
Uid = Callable[[str], str]


def get(client: TestClient, path: str, key: str = ADMIN_KEY, **params: Any) -> Any:
    return client.get(path, params=params, headers=bearer(key))


def page(client: TestClient, path: str, key: str = ADMIN_KEY, **params: Any) -> Json:
    response = get(client, path, key, **params)
    assert response.status_code == 200, response.text
    data: Json = response.json()
    return data


def test_records_of_any_type_with_search_and_filters(
    make_client: MakeClient, clock: Clock, uid: Uid
) -> None:
    client = make_client(audit_key=AUDIT_KEY)
    bot, ana, bea = uid("maestro"), uid("ana"), uid("bea")
    odd = "A text of its own, to be found by its hash."
    plain = outreach(client, bot, ana)["decision_id"]
    other = outreach(client, bot, bea, text=odd)["decision_id"]
    event(client, bot, ana, clock.now - timedelta(minutes=1), text="STOP")

    def ids(**params: Any) -> list[str]:
        return [r["id"] for r in page(client, "/v1/audit/records", bot=bot, **params)["items"]]

    everything = page(client, "/v1/audit/records", bot=bot)["items"]
    assert [r["type"] for r in everything] == ["consent", "decision", "decision"]  # newest first
    assert ids(type="decision") == [other, plain]
    assert [
        r["action"] for r in page(client, "/v1/audit/records", type="consent", bot=bot)["items"]
    ] == ["opt_out"]

    # Records keep keyed hashes of texts (a plain SHA-256 could be reversed): the auditor
    # asks for the text's hash in a request body, then searches with it.
    def keyed(text: str) -> str:
        answer = client.post("/v1/audit/text-hashes", json={"text": text}, headers=AUTH)
        assert answer.status_code == 200, answer.text
        found: str = answer.json()["text_hash"]
        assert found.startswith("hmac:") and found in answer.json()["text_hashes"]
        return found

    assert ids(text_hash=keyed(odd)) == [other]
    assert ids(text_hash=keyed(TEXT)) == [plain]
    assert ids(text_hash=sha256(odd)) == []  # never stored as a plain hash
    assert ids(text_hash="0" * 64) == []
    assert ids(user=ana) == [everything[0]["id"], plain]
    assert ids(pseudonym=everything[0]["user"]) == ids(user=ana)
    assert ids(verdict="block", rule="user_first") == [other, plain]
    global_types = {r["type"] for r in page(client, "/v1/audit/records", type="all")["items"]}
    assert "policy_reload" in global_types  # the gateway-wide policy load, with type=all
    assert ana not in json.dumps(everything) and odd not in json.dumps(everything)

    one = page(client, "/v1/audit/records", bot=bot, limit=1)
    assert len(one["items"]) == 1 and one["next_cursor"]
    rest = page(client, "/v1/audit/records", bot=bot, limit=5, cursor=one["next_cursor"])
    assert [r["id"] for r in rest["items"]] == [other, plain]

    exported = get(client, "/v1/audit/export", text_hash=keyed(odd), format="csv").text
    assert other in exported and plain not in exported

    for bad in ({"text_hash": "abc"}, {"user": ana, "pseudonym": "x"}, {"type": "nope"},
                {"since": "yesterday"}, {"cursor": "abc"}):  # fmt: skip
        refused = get(client, "/v1/audit/records", **bad)
        assert refused.status_code == 422, bad
        assert refused.json()["error"] == "invalid_request"


def test_one_users_timeline(make_client: MakeClient, clock: Clock, uid: Uid) -> None:
    client = make_client(audit_key=AUDIT_KEY, keys=keys())
    bot, other_bot, ana, bea = uid("maestro"), uid("nova"), uid("ana"), uid("bea")
    blocked = outreach(client, bot, ana)["decision_id"]
    for minutes, text in ((50, "loved the film"), (40, "STOP"), (30, "START")):
        event(client, bot, ana, clock.now - timedelta(minutes=minutes), text=text)
    event(client, other_bot, ana, clock.now - timedelta(minutes=20), text="stop")
    crisis = event(client, bot, ana, clock.now - timedelta(minutes=10),
                   text="Je n'en peux plus, je veux en finir.")  # fmt: skip
    assert crisis["crisis"] is True
    reply = outreach(client, bot, ana, kind="reply")["decision_id"]
    outreach(client, bot, bea)  # someone else

    timeline = page(client, "/v1/audit/timeline", user=ana)
    assert len(timeline["user"]) == 64 and ana not in json.dumps(timeline)
    items = timeline["items"]
    assert [r["type"] for r in items] == [
        "decision", "crisis", "consent", "consent", "consent", "decision"
    ]  # fmt: skip
    assert items[0]["id"] == reply and items[-1]["id"] == blocked
    assert {r["user"] for r in items} == {timeline["user"]}
    summary = timeline["summary"]
    assert summary["records"] == 6 and summary["crises"] == 1
    assert summary["by_type"] == {"consent": 3, "crisis": 1, "decision": 2}
    assert summary["highest_risk"] == crisis["risk"]
    assert sum(summary["verdicts"].values()) == 2 and summary["verdicts"]["block"] >= 1
    assert [(c["bot"], c["action"]) for c in summary["consent"]] == sorted(
        [(bot, "opt_in"), (other_bot, "opt_out")]
    )
    assert summary["first"] == items[-1]["ts"] and summary["last"] == items[0]["ts"]

    # The console looks a raw id up in a POST body (no URL, so no access log, holds it).
    looked_up = client.post(
        "/v1/audit/pseudonyms", json={"user_id": ana}, headers=bearer(ADMIN_KEY)
    )
    assert looked_up.status_code == 200 and looked_up.json() == {"pseudonym": timeline["user"]}
    exported = get(client, "/v1/audit/export", type="all", pseudonym=timeline["user"]).text
    assert len(exported.splitlines()) == 6 and ana not in exported
    refused = client.post("/v1/audit/pseudonyms", json={"user_id": ""}, headers=bearer(ADMIN_KEY))
    assert refused.status_code == 422

    by_pseudonym = page(client, "/v1/audit/timeline", pseudonym=timeline["user"], limit=2)
    assert [r["id"] for r in by_pseudonym["items"]] == [r["id"] for r in items[:2]]
    assert by_pseudonym["summary"] == summary and by_pseudonym["next_cursor"]

    # Another tenant's auditors: the same raw id is another pseudonym, with no records.
    elsewhere = page(client, "/v1/audit/timeline", ACME_AUDITOR_KEY, user=ana)
    assert elsewhere["user"] != timeline["user"] and elsewhere["items"] == []
    assert elsewhere["summary"]["records"] == 0
    assert get(client, "/v1/audit/timeline").status_code == 422


def test_the_report_list_names_every_report(make_client: MakeClient) -> None:
    client = make_client()
    listed = page(client, "/v1/audit/reports")["reports"]
    assert [r["name"] for r in listed] == list(REPORTS)
    assert all(r["summary"] and "\n" not in r["summary"] for r in listed)
    for report in listed:
        body = page(client, f"/v1/audit/reports/{report['name']}", year=2026)
        period = (body.get("about") or body)["period"]  # statute reports: under "about"
        assert body["report"] == report["name"] and period["since"].startswith("2026")
