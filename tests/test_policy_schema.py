"""The published schemas: what the loader accepts, committed, and valid for the shipped files.

Once, check-jsonschema rejected default.yaml and tcpa.yaml (``"21:00"`` against
``format: time``, ``PHONE_NUMBER: replace`` against an object-only operator, and durations
against ISO 8601). The shipped packs and their tests are validated here both as the loader
reads them (PyYAML) and as editors do (check-jsonschema, a YAML 1.2 reader).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from guardrail.cli import app
from guardrail.policy import PolicyError, parse_policy
from guardrail.policy.json_schema import (
    POLICY_SCHEMA_FILE,
    TESTS_SCHEMA_FILE,
    dumps,
    policy_schema,
    policy_tests_schema,
)
from tests.schema_support import cases_problems, cases_validator, loader_problems, policy_validator

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ROOT / "policies"
PACKS = sorted(POLICIES.glob("*.yaml"))
TEST_FILES = sorted((POLICIES / "tests").glob("*.yaml"))
runner = CliRunner()


def _errors(validator: Any, data: Any) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(data)]


def test_the_committed_schemas_are_the_generated_ones() -> None:
    """Regenerate with: guardrail policy schema [--tests] > policies/<file>."""
    assert (POLICIES / POLICY_SCHEMA_FILE).read_text(encoding="utf-8") == dumps(policy_schema())
    assert (POLICIES / TESTS_SCHEMA_FILE).read_text(encoding="utf-8") == dumps(
        policy_tests_schema()
    )


def test_cli_prints_both_schemas() -> None:
    result = runner.invoke(app, ["policy", "schema"])
    assert result.exit_code == 0
    assert json.loads(result.output) == policy_schema()
    result = runner.invoke(app, ["policy", "schema", "--tests"])
    assert result.exit_code == 0
    assert json.loads(result.output) == policy_tests_schema()
    assert json.loads(result.output)["title"] == "guardrail policy tests"


@pytest.mark.parametrize("path", PACKS + TEST_FILES, ids=lambda p: p.name)
def test_every_shipped_file_names_its_schema(path: Path) -> None:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    target = POLICY_SCHEMA_FILE if path.parent == POLICIES else f"../{TESTS_SCHEMA_FILE}"
    assert first == f"# yaml-language-server: $schema={target}"
    assert (path.parent / target).is_file()


@pytest.mark.parametrize("path", PACKS, ids=lambda p: p.name)
def test_every_pack_is_valid_against_the_policy_schema(path: Path) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    json.dumps(data)  # plain JSON data as the loader reads it: no YAML-only types
    assert _errors(policy_validator(), data) == []


@pytest.mark.parametrize("path", TEST_FILES, ids=lambda p: p.name)
def test_every_test_file_is_valid_against_the_policy_tests_schema(path: Path) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    json.dumps(data)
    assert _errors(cases_validator(), data) == []
    assert cases_problems(data) is None


def test_check_jsonschema_accepts_the_shipped_files() -> None:
    """The validator editors' pre-commit hooks use, reading YAML 1.2 as editors do."""
    exe = Path(sys.executable).with_name("check-jsonschema")
    for schema, files in ((POLICY_SCHEMA_FILE, PACKS), (TESTS_SCHEMA_FILE, TEST_FILES)):
        result = subprocess.run(
            [str(exe), "--schemafile", str(POLICIES / schema), *map(str, files)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr


def _walk(schema: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    objects = [("<root>", schema), *schema["$defs"].items()]
    return [(name, obj) for name, obj in objects if "properties" in obj]


@pytest.mark.parametrize(
    "schema", [policy_schema(), policy_tests_schema()], ids=["policy", "tests"]
)
def test_every_field_has_a_description_and_objects_refuse_unknown_keys(
    schema: dict[str, Any],
) -> None:
    missing, open_objects, no_example = [], [], []
    for name, obj in _walk(schema):
        if obj.get("additionalProperties") is not False:
            open_objects.append(name)
        for key, prop in obj["properties"].items():
            if not prop.get("description"):
                missing.append(f"{name}.{key}")
            leaf = "$ref" not in json.dumps(prop)
            if leaf and not (prop.get("examples") or prop.get("default") not in (None, [], {})):
                no_example.append(f"{name}.{key}")
    assert missing == []
    assert open_objects == []
    assert len(no_example) <= 25, no_example  # optional texts and ids: null or "" by default


SHORTHANDS = [
    ("reply: {window: 30m}", True),
    ("reply: {window: 24h}", True),
    ("reply: {window: 7d}", True),
    ("reply: {window: 2w}", True),
    ("reply: {window: 1.5h}", True),
    ("reply: {window: 3600}", True),
    ("reply: {window: PT1H}", False),
    ("reply: {window: 0m}", False),
    ("reply: {window: 0}", False),
    ("reply: {window: -5}", False),
    ("reply: {window: '٣m'}", False),
    ("reply: {window: 9999999d}", False),
    ("reply: {window: .inf}", False),
    ("rules: {quiet_hours: {windows: [{start: '21:00', end: '08:00'}]}}", True),
    ("rules: {quiet_hours: {windows: [{start: '21:00:00', end: '08:00'}]}}", False),
    ("rules: {quiet_hours: {windows: [{start: '21:00+01:00', end: '08:00'}]}}", False),
    ("rules: {quiet_hours: {windows: [{start: '9:30', end: '08:00'}]}}", False),
    ("rules: {quiet_hours: {windows: [{start: '24:00', end: '08:00'}]}}", False),
    ("rules: {pii: {operators: {PHONE_NUMBER: replace}}}", True),
    ("rules: {pii: {operators: {PHONE_NUMBER: {type: mask, keep_last: 2}}}}", True),
    ("rules: {pii: {operators: {PHONE_NUMBER: redact}}}", False),
    ("rules: {pii: {default_operator: keep}}", True),
    ("rules: {pii: {on_error: fail_closed}}", True),
    ("rules: {pii: {on_error: {proactive: fail_open}}}", True),
    ("rules: {pii: {on_error: fail}}", False),
    ("rules: {manipulation: {tactics: [guilt]}}", False),
    ("timezone: Europe/Paris", True),
    ("timezone: Mars/Olympus", False),
    ("match: {jurisdictions: [us-ca]}", True),
    ("match: {jurisdictions: [USA-CALIFORNIA]}", False),
    ("rules: {self_harm_content: {enabled: false}}", False),
    ("rules: {frequency_caps: {caps: [{limit: 2, window: 1d, scope: all_bots}]}}", True),
    ("rules: {frequency_caps: {cap: []}}", False),
    ("colour: blue", False),
]


@pytest.mark.parametrize(("text", "valid"), SHORTHANDS, ids=[t for t, _ in SHORTHANDS])
def test_schema_and_loader_agree_on_each_shorthand(text: str, valid: bool) -> None:
    data = yaml.safe_load(text)
    assert policy_validator().is_valid(data) is valid
    assert (loader_problems(data) is None) is valid, loader_problems(data)


def test_an_unquoted_time_is_refused_with_a_hint_not_read_as_minutes() -> None:
    """YAML 1.1 reads 21:00 as 1260 (base 60); it used to mean 00:21 UTC, silently."""
    with pytest.raises(PolicyError, match="in quotes"):
        parse_policy("rules: {quiet_hours: {windows: [{start: 21:00, end: '08:00'}]}}")


def test_durations_too_long_are_problems_not_crashes() -> None:
    for value in ("999999w", "1e13", ".inf", ".nan"):
        text = f"reply: {{window: {value}}}"
        if value == "999999w":
            assert parse_policy(text).policy.reply.window.days == 999999 * 7
        else:
            with pytest.raises(PolicyError, match=r"reply\.window"):
                parse_policy(text)


def test_defaults_are_shown_as_yaml_writes_them() -> None:
    d = policy_schema()["$defs"]
    assert d["ReplySettings"]["properties"]["window"]["default"] == "1h"
    assert d["QuietHoursParams"]["properties"]["windows"]["default"] == [
        {"start": "21:00", "end": "08:00"}
    ]
    assert d["PiiParams"]["properties"]["operators"]["default"]["CREDIT_CARD"]["type"] == "block"


def test_a_history_item_needs_exactly_one_kind() -> None:
    base = {"cases": [{"name": "x", "request": {"at": "2026-11-20T10:00:00Z"}}]}
    for item, valid in [
        ({"user_message": "hi"}, True),
        ({"opt_out": "all"}, True),
        ({"user_message": "hi", "opt_in": "bot"}, False),
        ({"user_message": ""}, False),
        ({}, False),
    ]:
        doc = json.loads(json.dumps(base))
        doc["cases"][0]["history"] = [{"at": "2026-11-20T09:00:00Z", **item}]
        doc["cases"][0]["expect"] = {"verdict": "allow"}
        assert cases_validator().is_valid(doc) is valid, item
        assert (cases_problems(doc) is None) is valid, item


@pytest.mark.parametrize(
    ("at", "valid"),
    [
        ("2026-11-20T10:00:00+01:00", True),
        ("2026-11-20T10:00:00.5Z", True),
        ("2026-11-20T10:00:00", False),
        ("2026-11-20 10:00:00Z", False),
        ("2026-02-30T10:00:00Z", False),
        (1763632800, False),
    ],
)
def test_case_times_are_rfc3339_with_an_offset(at: Any, valid: bool) -> None:
    doc: dict[str, Any] = {
        "cases": [{"name": "x", "request": {"at": at}, "expect": {"verdict": "block"}}]
    }
    assert cases_validator().is_valid(doc) is valid
    assert (cases_problems(doc) is None) is valid
