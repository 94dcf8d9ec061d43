"""Policy files: the default pack, errors with positions, the version hash."""

from __future__ import annotations

from pathlib import Path

import pytest

from guardrail.policy import PolicyError, builtin, load_policy, parse_policy

ROOT = Path(__file__).resolve().parent.parent


def test_default_pack_spells_out_the_builtin_policy() -> None:
    """Not only the same rules: the same version hash, so a newcomer who starts from the
    file sees the version the built-in policy's decisions carry."""
    pack = load_policy(ROOT / "policies" / "default.yaml")
    assert pack.policy.model_dump() == builtin().policy.model_dump()
    assert pack.version == builtin().version


def test_version_hash_is_stable_and_changes_with_content() -> None:
    a = parse_policy("name: x\n")
    b = parse_policy("name: x   # a comment changes nothing\n")
    c = parse_policy("name: x\nrules: {unanswered: {max_unanswered: 2}}\n")
    assert a.version == b.version != c.version
    assert a.version.startswith("sha256:")


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("name: x\nrules:\n  quiet_hour: {}\n", 3, "did you mean quiet_hours?"),
        ("name: x\ntimezone: Europe/Pariss\n", 2, "unknown IANA time zone"),
        ("name: x\nrules:\n  unanswered:\n    max_unanswered: many\n", 4, "integer"),
        ("name: x\nrules: [\n", 3, "invalid YAML"),
        (
            "name: x\nrules:\n  quiet_hours:\n    windows:\n"
            "      - {start: '21:00', end: '08:00'}\n"
            "      - {start: '07:00', end: '09:00'}\n",
            4,
            "overlap",
        ),
    ],
)
def test_errors_point_at_the_line(text: str, line: int, fragment: str) -> None:
    with pytest.raises(PolicyError) as caught:
        parse_policy(text, "p.yaml")
    problem = caught.value.problems[0]
    assert problem.file == "p.yaml" and problem.line == line, str(caught.value)
    assert fragment in str(caught.value)
