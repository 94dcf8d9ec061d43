"""Data loaders, on tiny invented files shaped like ../shared/data (no real text is used)."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import pytest

from classifiers.data import (
    DataError,
    dataset_info,
    default_data_dir,
    load_cssrs,
    load_darkbench,
    load_diasafety,
    split_users,
)

README = """# Data
| folder | what | rows and labels | licence | ship |
| --- | --- | --- | --- | --- |
| `cssrs_reddit500/` | users | 400 users | CC BY | yes |
| `diasafety/` | pairs | 9,017 | Apache-2.0 | yes |
| `darkbench/` | prompts | 660 | MIT | no |
"""

LABELS = ["Supportive", "Indicator", "Ideation", "Behavior", "Attempt"]


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    (tmp_path / "README.md").write_text(README)
    users, posts = [], []
    for i in range(50):
        label = LABELS[i % 5]
        uid = f"user-{i:02d}"
        texts = [f"invented post {j} of {uid}" for j in range(1 + i % 3)]
        users.append([uid, repr(texts), label])
        posts += [[uid, str(j), label, t, str(i % 2)] for j, t in enumerate(texts)]
    write_csv(tmp_path / "cssrs_reddit500" / "users.csv", ["User", "Post", "Label"], users)
    write_csv(
        tmp_path / "cssrs_reddit500" / "posts.csv",
        ["user", "post_idx", "user_label", "post", "from_truncated_user"],
        posts,
    )
    dia = tmp_path / "diasafety"
    dia.mkdir()
    row = {"context": "c", "response": "r", "category": "Risk Ignorance", "label": "Safe"}
    (dia / "train.json").write_text(json.dumps([row, {**row, "label": "Unsafe"}]))
    (dia / "val.json").write_text(json.dumps([row]))
    write_csv(
        tmp_path / "darkbench" / "darkbench_660.csv",
        ["Deceptive Pattern", "Example"],
        [["User retention", "be my friend?"], ["Sneaking", "rewrite this"]],
    )
    return tmp_path


def test_cssrs_records_and_ship_flag(data_dir: Path) -> None:
    data = load_cssrs(data_dir)
    assert len(data.users) == 50 and len(data.posts) == sum(1 + i % 3 for i in range(50))
    assert data.info.ship and data.info.licence == "CC BY"
    assert {u.severity for u in data.users} == {
        "none",
        "indicator",
        "ideation",
        "behavior",
        "attempt",
    }
    assert data.users[0].source_label == "Supportive" and data.users[0].severity == "none"
    assert all(p.ship for p in data.posts)
    assert {p.truncated_user for p in data.posts} == {True, False}
    by_user = data.posts_by_user()
    assert [p.post_idx for p in by_user["user-02"]] == [0, 1, 2]


def test_user_split_is_stratified_disjoint_and_reproducible(data_dir: Path) -> None:
    users = load_cssrs(data_dir).users
    split = split_users(users)
    assert split == split_users(users)
    assert split != split_users(users, seed=1)
    assert set(split) == {u.user for u in users}
    counts = Counter((split[u.user], u.severity) for u in users)
    for severity in ("none", "indicator", "ideation", "behavior", "attempt"):
        assert counts[("train", severity)] == 6
        assert counts[("val", severity)] == 2
        assert counts[("test", severity)] == 2
    with pytest.raises(ValueError):
        split_users(users, fractions=(0.5, 0.5, 0.5))


def test_label_disagreement_is_an_error(data_dir: Path) -> None:
    path = data_dir / "cssrs_reddit500" / "posts.csv"
    text = path.read_text().replace("user-00,0,Supportive", "user-00,0,Attempt")
    path.write_text(text)
    with pytest.raises(DataError):
        load_cssrs(data_dir)


def test_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(DataError):
        load_cssrs(tmp_path)


def test_diasafety_and_darkbench(data_dir: Path) -> None:
    pairs = load_diasafety(data_dir)
    assert [p.split for p in pairs] == ["train", "train", "val"]
    assert pairs[1].label == "Unsafe" and pairs[0].category == "Risk Ignorance"
    assert all(p.ship for p in pairs)
    prompts = load_darkbench(data_dir)
    assert [p.category for p in prompts] == ["User retention", "Sneaking"]
    assert not any(p.ship for p in prompts)  # "no" in this README


def test_ship_flag_defaults_to_false(data_dir: Path, tmp_path: Path) -> None:
    assert not dataset_info(data_dir, "not_listed").ship
    assert not dataset_info(tmp_path / "nowhere", "cssrs_reddit500").ship


def test_default_data_dir_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GUARDRAIL_DATA_DIR", str(tmp_path))
    assert default_data_dir() == tmp_path
    monkeypatch.delenv("GUARDRAIL_DATA_DIR")
    assert default_data_dir().parts[-2:] == ("shared", "data")
