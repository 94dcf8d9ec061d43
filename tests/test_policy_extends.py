"""``extends:``: deep merge, what is not inherited, cycles and unknown parents, the hash."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from guardrail.policy import PolicyError, load_policy, load_policy_set, parse_policy

ROOT = Path(__file__).resolve().parent.parent

PARENT = """\
name: parent
timezone: Europe/Paris
match: {channels: [sms]}
shadow: [child]
rules:
  unanswered: {max_unanswered: 2}
  engagement: {min_user_messages: 3, window: 7d}
  frequency_caps:
    caps:
      - {scope: bot, limit: 5, window: 1d}
      - {scope: all_bots, limit: 9, window: 1d}
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(path: Path) -> list[str]:
    with pytest.raises(PolicyError) as caught:
        load_policy_set(path)
    return [str(p) for p in caught.value.problems]


def test_child_deep_merges_over_its_parent(tmp_path: Path) -> None:
    write(tmp_path, "parent.yaml", PARENT)
    write(
        tmp_path,
        "child.yaml",
        "name: child\nextends: parent\nrules:\n  engagement: {min_user_messages: 4}\n"
        "  frequency_caps:\n    caps: [{scope: bot, limit: 1, window: 1d}]\n",
    )
    child = load_policy_set(tmp_path).named("child")
    assert child is not None
    policy = child.policy
    assert policy.timezone == "Europe/Paris"  # scalar inherited
    assert policy.rule_params("unanswered").max_unanswered == 2  # type: ignore[attr-defined]
    engagement = policy.rule_params("engagement")
    assert engagement.min_user_messages == 4  # type: ignore[attr-defined]  # overridden...
    assert engagement.window == timedelta(days=7)  # type: ignore[attr-defined]  # ...sibling kept
    caps = policy.rule_params("frequency_caps").caps  # type: ignore[attr-defined]
    assert [(c.scope, c.limit) for c in caps] == [("bot", 1)]  # a list replaces, never merges


def test_identity_keys_are_not_inherited(tmp_path: Path) -> None:
    write(tmp_path, "parent.yaml", PARENT.replace("shadow: [child]\n", "mode: shadow\n"))
    write(tmp_path, "child.yaml", "name: child\ndescription: mine\nextends: parent\n")
    child = load_policy_set(tmp_path).named("child")
    assert child is not None
    assert child.policy.match.is_empty()  # a child never takes its parent's place
    assert child.policy.mode == "enforce" and child.policy.shadow == []
    assert child.policy.extends == "parent"
    assert child.policy.rule_params("unanswered").mode == "enforce"


def test_extends_a_relative_file_path(tmp_path: Path) -> None:
    write(tmp_path, "lib/base.yaml", "name: base\nrules: {unanswered: {max_unanswered: 3}}\n")
    path = write(tmp_path, "packs/mine.yaml", "name: mine\nextends: ../lib/base.yaml\n")
    loaded = load_policy(path)
    assert loaded.policy.rule_params("unanswered").max_unanswered == 3  # type: ignore[attr-defined]
    assert (tmp_path / "lib" / "base.yaml").resolve() in load_policy_set(path).files


def test_a_single_file_finds_a_named_parent_beside_it() -> None:
    loaded = load_policy(ROOT / "policies" / "whatsapp.yaml")  # whatsapp → meta-proactive → default
    assert loaded.policy.name == "whatsapp"
    assert loaded.policy.rule_params("engagement").min_user_messages == 5  # type: ignore[attr-defined]


def test_extends_default_means_the_builtin_without_a_file() -> None:
    loaded = parse_policy(
        "name: strict\nextends: default\nrules: {unanswered: {max_unanswered: 2}}\n"
    )
    assert loaded.policy.rule_params("unanswered").max_unanswered == 2  # type: ignore[attr-defined]
    assert loaded.policy.rule_params("engagement").min_user_messages == 5  # type: ignore[attr-defined]


def test_version_hash_covers_the_resolved_content(tmp_path: Path) -> None:
    write(tmp_path, "parent.yaml", "name: parent\nrules: {unanswered: {max_unanswered: 2}}\n")
    write(tmp_path, "child.yaml", "name: child\nextends: parent\n")
    before = load_policy_set(tmp_path).named("child")
    write(tmp_path, "parent.yaml", "name: parent\nrules: {unanswered: {max_unanswered: 3}}\n")
    after = load_policy_set(tmp_path).named("child")
    assert before is not None and after is not None
    assert before.version != after.version  # the child's file did not change; its meaning did
    flat = parse_policy("name: child\nrules: {unanswered: {max_unanswered: 3}}\n")
    assert flat.version == after.version  # same resolved content, same hash


def test_a_shadow_mode_policy_evaluates_every_rule_as_shadow() -> None:
    loaded = parse_policy("name: trial\nmode: shadow\n")
    modes = {rule: params["mode"] for rule, params in loaded.policy.model_dump()["rules"].items()}
    assert set(modes.values()) == {"shadow"}, modes


def test_cycle_is_an_error_at_the_extends_line(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "name: a\nextends: b\n")
    write(tmp_path, "b.yaml", "name: b\nextends: c.yaml\n")
    write(tmp_path, "c.yaml", "name: c\nextends: a\n")
    problems = problems_of(tmp_path)
    assert problems == [f"{tmp_path / 'c.yaml'}:2:10: extends: cycle a -> b -> c -> a"]


def test_extending_itself_is_a_cycle(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "name: a\nextends: a\n")
    assert problems_of(tmp_path) == [f"{tmp_path / 'a.yaml'}:2:10: extends: cycle a -> a"]


def test_unknown_parent_names_the_line_and_suggests(tmp_path: Path) -> None:
    write(tmp_path, "parent.yaml", "name: parent\n")
    write(tmp_path, "child.yaml", "name: child\ndescription: x\nextends: parnet\n")
    assert problems_of(tmp_path) == [
        f"{tmp_path / 'child.yaml'}:3:10: extends: no policy named 'parnet' in this set and "
        "no such file (did you mean parent?)"
    ]


def test_missing_parent_file(tmp_path: Path) -> None:
    write(tmp_path, "child.yaml", "name: child\nextends: ./nowhere.yaml\n")
    (problem,) = problems_of(tmp_path / "child.yaml")
    assert problem.startswith(f"{tmp_path / 'child.yaml'}:2:10: extends: cannot read")


def test_an_invalid_inherited_value_is_reported_in_the_parent_file(tmp_path: Path) -> None:
    base = write(
        tmp_path, "lib/base.yaml", "name: base\nrules:\n  unanswered: {max_unanswered: 0}\n"
    )
    write(tmp_path, "packs/child.yaml", "name: child\nextends: ../lib/base.yaml\n")
    (problem,) = problems_of(tmp_path / "packs")
    assert problem.startswith(f"{base.resolve()}:3:16: rules.unanswered.max_unanswered:"), problem


def test_every_problem_of_a_set_is_reported_at_once(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "name: a\ntimezone: Mars/Olympus\n")
    write(tmp_path, "b.yaml", "name: b\nextends: nope\n")
    write(tmp_path, "c.yaml", "name: c\nrules: {quiet_hour: {}}\n")
    problems = problems_of(tmp_path)
    assert [p.split(":")[0].rsplit("/", 1)[-1] for p in problems] == ["a.yaml", "b.yaml", "c.yaml"]
