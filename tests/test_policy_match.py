"""``match:``: which policy of a set decides a request, and ambiguous sets refused at load."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from guardrail.app import create_app
from guardrail.config import Settings
from guardrail.models import OutreachRequest
from guardrail.policy import PolicyError, PolicySet, load_policy_set
from tests.conftest import API_KEY, AUTH, Clock

ROOT = Path(__file__).resolve().parent.parent

SET = {
    "default.yaml": "name: default\n",
    "sms.yaml": "name: sms\nmatch: {channels: [sms]}\n",
    "us.yaml": "name: us\nmatch: {jurisdictions: [US]}\n",
    "us-ca.yaml": "name: us-ca\nmatch: {jurisdictions: [US-CA]}\n",
    "acme.yaml": "name: acme\nmatch: {tenants: [acme]}\n",
    "acme-sms.yaml": "name: acme-sms\nmatch: {tenants: [acme], channels: [sms]}\n",
    "maestro.yaml": "name: maestro\nmatch: {bots: [maestro]}\n",
    "minors.yaml": "name: minors\nmatch: {minors: true}\n",
    "adults-fr.yaml": "name: adults-fr\nmatch: {minors: false, jurisdictions: [FR]}\n",
    "library.yaml": "name: library\n",  # no match: a parent or candidate only
}


def write_set(folder: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def request(channel: str = "telegram", bot: str = "other", **user: Any) -> OutreachRequest:
    return OutreachRequest.model_validate(
        {"bot_id": bot, "user_id": "u", "channel": channel, "text": "hi", "user": user}
    )


@pytest.fixture
def policies(tmp_path: Path) -> PolicySet:
    return load_policy_set(write_set(tmp_path, SET))


@pytest.mark.parametrize(
    ("tenant", "req", "expected"),
    [
        ("t", request(), "default"),  # nothing matches: the fallback
        ("t", request("sms"), "sms"),
        ("t", request(jurisdiction="US-NY"), "us"),  # "US" matches "US-NY" by prefix
        ("t", request(jurisdiction="us-ca"), "us-ca"),  # deeper code wins; case ignored
        ("t", request(jurisdiction="USA"), "default"),  # prefix by segment, not by letter
        ("t", request("sms", jurisdiction="US-NY"), "us"),  # 1 each: jurisdiction > channel
        ("acme", request(), "acme"),
        ("acme", request("sms"), "acme-sms"),  # two dimensions beat one
        ("acme", request("sms", jurisdiction="US-CA"), "acme-sms"),
        ("acme", request(bot="maestro"), "maestro"),  # 1 each: bot > tenant
        ("t", request(is_minor=True), "minors"),
        ("t", request(is_minor=None), "default"),  # unknown age matches neither true nor false
        ("t", request(is_minor=False, jurisdiction="FR"), "adults-fr"),
        ("t", request(is_minor=True, jurisdiction="FR"), "minors"),
    ],
)
def test_the_most_specific_policy_decides(
    policies: PolicySet, tenant: str, req: OutreachRequest, expected: str
) -> None:
    assert policies.select(tenant, req).policy.name == expected


def test_roles_in_the_set(policies: PolicySet) -> None:
    roles = {p.policy.name: policies.applies(p) for p in policies.members}
    assert roles["default"] == "fallback"
    assert roles["library"] == "none"
    assert roles["sms"] == roles["minors"] == "match"


def test_the_policies_folder_loads_as_a_set() -> None:
    policies = load_policy_set(ROOT / "policies")
    assert policies.fallback.policy.name == "default"
    assert policies.select("t", request("sms", jurisdiction="US-CA")).policy.name == "tcpa"
    assert policies.select("t", request("sms")).policy.name == "default"
    assert policies.select("t", request("whatsapp")).policy.name == "whatsapp"
    assert policies.select("t", request("messenger")).policy.name == "meta-proactive"


def test_fallback_without_a_default(tmp_path: Path) -> None:
    write_set(tmp_path, {"sms.yaml": "name: sms\nmatch: {channels: [sms]}\n"})
    assert load_policy_set(tmp_path).fallback.source == "<builtin>"
    single = load_policy_set(tmp_path / "sms.yaml")  # a file with a match: builtin elsewhere
    assert single.fallback.source == "<builtin>"
    assert single.select("t", request("sms")).policy.name == "sms"
    (tmp_path / "mine.yaml").write_text("name: mine\n", encoding="utf-8")
    assert load_policy_set(tmp_path / "mine.yaml").fallback.policy.name == "mine"


@pytest.mark.parametrize(
    ("first", "second", "example"),
    [
        ("{channels: [sms]}", "{channels: [sms, whatsapp]}", "channel sms"),
        ("{jurisdictions: [US, FR]}", "{jurisdictions: [FR]}", "jurisdiction FR"),
        ("{tenants: [a], minors: true}", "{minors: true, tenants: [b, a]}", "tenant a, a minor"),
    ],
)
def test_ties_are_refused_at_load(tmp_path: Path, first: str, second: str, example: str) -> None:
    write_set(
        tmp_path,
        {
            "a.yaml": f"name: a\nmatch: {first}\n",
            "b.yaml": f"name: b\ndescription: x\nmatch: {second}\n",
        },
    )
    with pytest.raises(PolicyError) as caught:
        load_policy_set(tmp_path)
    (problem,) = caught.value.problems
    assert (problem.file, problem.line, problem.column) == (str(tmp_path / "b.yaml"), 3, 1)
    assert f"ties with policy 'a' ({tmp_path / 'a.yaml'}:2)" in problem.message
    assert example in problem.message


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("{jurisdictions: [US]}", "{jurisdictions: [US-CA]}"),  # different depth
        ("{channels: [sms]}", "{channels: [whatsapp]}"),  # disjoint
        ("{channels: [sms]}", "{jurisdictions: [US]}"),  # different dimensions: ranked
        ("{minors: true}", "{minors: false}"),
    ],
)
def test_no_tie(tmp_path: Path, first: str, second: str) -> None:
    write_set(
        tmp_path, {"a.yaml": f"name: a\nmatch: {first}\n", "b.yaml": f"name: b\nmatch: {second}\n"}
    )
    assert len(load_policy_set(tmp_path).selectable) == 2


def test_the_default_policy_takes_no_match(tmp_path: Path) -> None:
    write_set(tmp_path, {"default.yaml": "name: default\nmatch: {channels: [sms]}\n"})
    with pytest.raises(PolicyError, match=r"default.yaml:2:1: the default policy applies"):
        load_policy_set(tmp_path)


def test_jurisdiction_codes_are_checked(tmp_path: Path) -> None:
    write_set(tmp_path, {"a.yaml": "name: a\nmatch:\n  jurisdictions: [US, 'California']\n"})
    with pytest.raises(PolicyError, match=r"a.yaml:3:23: match.jurisdictions.1: String should"):
        load_policy_set(tmp_path)


def test_decisions_name_the_policy_that_applied(tmp_path: Path, clock: Clock) -> None:
    settings = Settings(api_key=API_KEY, db=str(tmp_path / "state.db"), policy=ROOT / "policies")
    with TestClient(create_app(settings, clock=clock, policy_poll_s=None)) as client:
        listed = client.get("/v1/policies", headers=AUTH).json()["policies"]
        versions = {p["name"]: p["version"] for p in listed}
        for n, (channel, user, expected) in enumerate(
            [
                ("sms", {"jurisdiction": "US-CA"}, "tcpa"),
                ("sms", {}, "default"),  # another user: the first one's record says US-CA
                ("whatsapp", {}, "whatsapp"),
            ]
        ):
            body = {"bot_id": "b", "user_id": f"u{n}", "channel": channel, "text": "hi",
                    "user": user}  # fmt: skip
            decision = client.post("/v1/outreach/check", json=body, headers=AUTH).json()
            assert decision["policy"] == expected
            assert decision["policy_version"] == versions[expected]
            assert {r["policy"] for r in decision["reasons"]} == {expected}


def test_proxy_headers_take_part_in_selection(tmp_path: Path, clock: Clock) -> None:
    """X-Guardrail-Jurisdiction and X-Guardrail-Minor reach ``match`` in proxy mode."""
    write_set(
        tmp_path,
        {
            "default.yaml": "name: default\n",
            "fr-minors.yaml": (
                "name: fr-minors\nmatch: {jurisdictions: [FR], minors: true}\n"
                "rules:\n  user_first: {enabled: false}\n  engagement: {enabled: false}\n"
                "  quiet_hours: {windows: [{start: '00:00', end: '23:59'}]}\n"
            ),
        },
    )
    upstream = {"type": "telegram", "url": "http://127.0.0.1:9/botX", "retries": 0}
    settings = Settings(
        api_key=API_KEY,
        db=str(tmp_path / "state.db"),
        policy=tmp_path,
        bots={"maestro": {"upstream": upstream}},
    )
    with TestClient(create_app(settings, clock=clock, policy_poll_s=None)) as client:
        url = "/v1/proxy/telegram/maestro/sendMessage"
        body = {"chat_id": 42, "text": "hi"}
        minor = {**AUTH, "X-Guardrail-Jurisdiction": "FR", "X-Guardrail-Minor": "true"}
        deferred = client.post(url, json=body, headers=minor)
        assert deferred.headers["X-Guardrail-Verdict"] == "defer"  # fr-minors: quiet all day
        adult = {**AUTH, "X-Guardrail-Jurisdiction": "FR", "X-Guardrail-Minor": "false"}
        # another user: chat 42's record now says minor, whatever a later header claims
        blocked = client.post(url, json={**body, "chat_id": 43}, headers=adult)
        assert blocked.headers["X-Guardrail-Verdict"] == "block"  # default: user_first
