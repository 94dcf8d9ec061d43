"""``guardrail policy validate|schema|test``: broken files rejected with their line, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from guardrail.cli import app

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()

GOOD = "name: good\nmatch: {channels: [sms]}\n"

# (file text, line:column, message fragment): each is one broken file among good ones.
BROKEN = [
    ("name: x\nrules: [\n", "3:1", "invalid YAML"),
    ("name: x\nrules:\n  unanswered:\n    max_unanswered: many\n", "4:5", "valid integer"),
    ("name: x\nrules:\n  quiet_hour: {}\n", "3:3", "did you mean quiet_hours?"),
    ("name: x\ntimezone: Europe/Pariss\n", "2:1", "unknown IANA time zone"),
    (
        "name: x\nrules:\n  quiet_hours:\n    windows:\n"
        "      - {start: '21:00', end: '08:00'}\n      - {start: '07:00', end: '09:00'}\n",
        "4:5",
        "overlap",
    ),
    ("name: x\nmatch: {chanels: [sms]}\n", "2:9", "did you mean channels?"),
    ("name: x\nmode: dry-run\n", "2:1", "'enforce' or 'shadow'"),
    ("name: x\nrules: {}\nrules: {}\n", "3:1", "duplicate key 'rules' (first at line 2)"),
    ("name: good\n", "1:7", "policy name 'good' is already used"),
    ("name: x\nshadow: [candidat]\n", "2:10", "no policy named 'candidat'"),
    ("- just\n- a list\n", "1:1", "a policy must be a mapping"),
]


@pytest.mark.parametrize(("text", "position", "fragment"), BROKEN)
def test_validate_rejects_a_broken_file_in_a_set(
    tmp_path: Path, text: str, position: str, fragment: str
) -> None:
    (tmp_path / "a-good.yaml").write_text(GOOD, encoding="utf-8")
    broken = tmp_path / "b-broken.yaml"
    broken.write_text(text, encoding="utf-8")
    result = runner.invoke(app, ["policy", "validate", str(tmp_path)])
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert any(line.startswith(f"{broken}:{position}: ") and fragment in line for line in lines), (
        result.output
    )


def test_validate_accepts_files_and_folders() -> None:
    result = runner.invoke(
        app, ["policy", "validate", str(ROOT / "policies"), str(ROOT / "policies" / "tcpa.yaml")]
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    for name in ("default", "meta-proactive", "meta-proactive-after-start", "tcpa", "whatsapp"):
        assert any(f"ok ({name}, " in line for line in lines), (name, result.output)
    assert sum("ok (tcpa, match, sha256:" in line for line in lines) == 2


def test_validate_reports_every_path_and_fails_on_any(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nextends: nothing-here\n", encoding="utf-8")
    good = tmp_path / "good.yaml"
    good.write_text("name: fine\n", encoding="utf-8")
    result = runner.invoke(app, ["policy", "validate", str(bad), str(good)])
    assert result.exit_code == 1
    assert f"{bad}:2:10: extends: no policy named 'nothing-here'" in result.output
    assert f"{good}: ok (fine, fallback, sha256:" in result.output


def test_schema_describes_match_extends_and_shadow() -> None:
    result = runner.invoke(app, ["policy", "schema"])
    assert result.exit_code == 0
    properties = json.loads(result.output)["properties"]
    assert {"extends", "match", "mode", "shadow", "rules"} <= set(properties)


def test_the_packs_pass_their_policy_tests() -> None:
    """``guardrail policy test policies/``: every pack's cases, in the suite."""
    result = runner.invoke(app, ["policy", "test", str(ROOT / "policies")])
    assert result.exit_code == 0, result.output
    summary = result.output.splitlines()[-1]
    assert summary.endswith(" passed, 0 failed"), result.output
    assert int(summary.split()[0]) >= 30
    for pack in ("default", "meta-proactive", "tcpa", "whatsapp"):
        assert f"PASS {ROOT / 'policies' / 'tests' / pack}.yaml:" in result.output, pack


def test_policy_test_prints_a_diff_and_fails(tmp_path: Path) -> None:
    (tmp_path / "default.yaml").write_text("name: default\n", encoding="utf-8")
    tests = tmp_path / "tests"
    tests.mkdir()
    (tests / "cases.yaml").write_text(
        "cases:\n"
        "  - name: expects the wrong thing\n"
        "    request: {at: '2026-11-20T10:00:00Z'}\n"
        "    expect: {verdict: allow, rules: []}\n"
        "  - name: right\n"
        "    request: {at: '2026-11-20T10:00:00Z'}\n"
        "    expect: {verdict: block, rules: [user_first]}\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["policy", "test", str(tmp_path)])
    assert result.exit_code == 1
    out = result.output.splitlines()
    assert f"FAIL {tests / 'cases.yaml'}:2: expects the wrong thing" in out
    assert "    - verdict: allow" in out and "    + verdict: block" in out
    assert "    - rules: []" in out and "    + rules: [user_first]" in out
    assert f"PASS {tests / 'cases.yaml'}:5: right" in out
    assert out[-1] == "1 passed, 1 failed"


def test_policy_test_reports_a_broken_test_file(tmp_path: Path) -> None:
    (tmp_path / "t.yaml").write_text(
        "cases:\n  - name: x\n    request: {at: '2026-11-20T10:00:00Z'}\n"
        "    expect: {verdict: block, rule: [user_first]}\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["policy", "test", str(tmp_path / "t.yaml")])
    assert result.exit_code == 1
    assert (
        f"{tmp_path / 't.yaml'}:4:30: cases.0.expect.rule: unknown key 'rule' (did you mean rules?)"
        in result.output
    )
