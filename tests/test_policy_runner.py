"""The policy test runner as a library: history through the real pipeline, pass and fail."""

from __future__ import annotations

from pathlib import Path

from guardrail.service.policy_tests import run_policy_tests

POLICIES = {
    "default.yaml": "name: default\n",
    "two-a-day.yaml": (
        "name: two-a-day\nextends: default\nmatch: {tenants: [acme]}\nshadow: [strict]\n"
        "rules:\n  unanswered: {enabled: false}\n  engagement: {min_user_messages: 1}\n"
        "  frequency_caps: {caps: [{scope: bot, limit: 2, window: 1d}]}\n"
    ),
    "strict.yaml": (
        "name: strict\nextends: two-a-day\nrules: {engagement: {min_user_messages: 3}}\n"
    ),
}

CASES = """\
defaults: {tenant: acme, channel: telegram, user: {timezone: UTC}}
cases:
  - name: history outreach is committed, so the cap counts it
    history:
      - {at: "2026-11-20T08:00:00Z", user_message: "hello"}
      - {at: "2026-11-20T10:00:00Z", outreach: "one"}
      - {at: "2026-11-20T11:00:00Z", outreach: "two"}
      - {at: "2026-11-20T12:00:00Z", outreach: "three", expect: block}
    request: {at: "2026-11-20T13:00:00Z"}
    expect: {verdict: block, rules: [frequency_caps], policy: two-a-day}
  - name: the shadow candidate is evaluated and recorded, not enforced
    history:
      - {at: "2026-11-20T08:00:00Z", user_message: "hello"}
    request: {at: "2026-11-20T10:00:00Z"}
    expect:
      verdict: allow
      policy: two-a-day
      shadow: ["strict:verdict", "strict:engagement"]
  - name: a case may force a policy of the set
    policy: strict
    history:
      - {at: "2026-11-20T08:00:00Z", user_message: "hello"}
    request: {at: "2026-11-20T10:00:00Z"}
    expect: {verdict: block, rules: [engagement], policy: strict}
  - name: another tenant gets the fallback
    request: {at: "2026-11-20T10:00:00Z", tenant: other}
    expect: {verdict: block, rules: [user_first], policy: default}
  - name: opt-out events count
    history:
      - {at: "2026-11-20T08:00:00Z", user_message: "hello"}
      - {at: "2026-11-20T08:30:00Z", opt_out: all}
    request: {at: "2026-11-20T10:00:00Z"}
    expect: {verdict: block, rules: [opt_out]}
"""


def make(folder: Path, cases: str = CASES) -> Path:
    for name, text in POLICIES.items():
        (folder / name).write_text(text, encoding="utf-8")
    (folder / "tests").mkdir()
    (folder / "tests" / "cases.yaml").write_text(cases, encoding="utf-8")
    return folder


def test_every_case_passes(tmp_path: Path) -> None:
    report = run_policy_tests([make(tmp_path)])
    assert report.ok, "\n".join(report.lines())
    assert (report.passed, report.failed) == (5, 0)
    assert [r.line for r in report.results] == [3, 11, 19, 25, 28]


def test_failures_carry_a_diff(tmp_path: Path) -> None:
    wrong = CASES.replace("rules: [frequency_caps]", "rules: [unanswered]").replace(
        'outreach: "three", expect: block', 'outreach: "three"'
    )
    report = run_policy_tests([make(tmp_path, wrong)])
    assert not report.ok and report.failed == 1
    (failed,) = [r for r in report.results if not r.passed]
    assert failed.diff[0].startswith("history[3] at 2026-11-20T12:00:00+00:00: outreach got block")
    assert report.lines()[-1] == "4 passed, 1 failed"


def test_history_must_be_in_time_order(tmp_path: Path) -> None:
    backwards = CASES.replace(
        '"2026-11-20T11:00:00Z", outreach: "two"', '"2026-11-20T09:00:00Z", outreach: "two"'
    )
    report = run_policy_tests([make(tmp_path, backwards)])
    (problem,) = report.problems
    assert problem.line == 3 and "history[2] is earlier" in problem.message
    assert not report.ok and not report.results


def test_nothing_to_run_is_a_failure(tmp_path: Path) -> None:
    report = run_policy_tests([tmp_path])
    assert not report.ok
    assert "no policy tests here" in report.problems[0].message
