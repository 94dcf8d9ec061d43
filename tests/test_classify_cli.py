"""``guardrail classify``: the JSONL contract (a fake stack), then once end to end for real."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from classifiers.results import (
    DependencyResult,
    ManipulationResult,
    MinorResult,
    Role,
    SelfHarmResult,
    TextScores,
)
from guardrail.cli import app

ROOT = Path(__file__).resolve().parent.parent


class FakeStack:
    def __init__(self) -> None:
        self.calls: list[tuple[Role, list[str]]] = []

    def describe(self) -> dict[str, Any]:
        return {"fake": True}

    def classify(self, texts: Sequence[str], role: Role) -> list[TextScores]:
        self.calls.append((role, list(texts)))
        return [
            TextScores(
                self_harm=SelfHarmResult(len(t) / 100, "ideation" if "die" in t else "none", False),
                dependency=DependencyResult(0.3, ("only_you",), True) if role == "user" else None,
                manipulation=ManipulationResult(0.6, ("fomo_hook",), True)
                if role == "bot"
                else None,
                minor=MinorResult(0.95, True, ("age",)) if "14" in t else None,
            )
            for t in texts
        ]


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeStack:
    from classifiers.stack import ClassifierStack

    stack = FakeStack()
    seen: dict[str, Any] = {}

    def load(**kwargs: Any) -> FakeStack:
        seen.update(kwargs)
        return stack

    monkeypatch.setattr(ClassifierStack, "load", staticmethod(load))
    stack.load_kwargs = seen  # type: ignore[attr-defined]
    return stack


def run(args: list[str], stdin: str) -> Any:
    return CliRunner().invoke(app, ["classify", *args], input=stdin)


def lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


def test_user_role_contract(fake: FakeStack) -> None:
    stdin = "".join(
        json.dumps(item) + "\n"
        for item in [{"id": 1, "text": "hello"}, {"id": "b", "text": "I want to die"}]
    )
    result = run(["--role", "user"], stdin)
    assert result.exit_code == 0, result.stderr
    out = lines(result.stdout)
    assert [o["id"] for o in out] == [1, "b"]
    assert out[1]["self_harm"] == {
        "score": 0.13,
        "severity": "ideation",
        "flagged": False,
        "imminent": False,
    }
    assert out[0]["dependency"] == {"score": 0.3, "signals": ["only_you"], "flagged": True}
    assert all("manipulation" not in o for o in out)
    assert out[0]["minor"] is None  # no minor head in this fake for that text
    assert "classify:" in result.stderr and "classify:" not in result.stdout


def test_user_role_carries_the_minor_signal_bot_role_does_not(fake: FakeStack) -> None:
    result = run(["--role", "user"], '{"id": 1, "text": "im 14 lol"}\n')
    assert result.exit_code == 0, result.stderr
    assert lines(result.stdout)[0]["minor"] == {"score": 0.95, "flagged": True}
    result = run(["--role", "bot"], '{"id": 2, "text": "im 14 lol"}\n')
    assert "minor" not in lines(result.stdout)[0]


def test_bot_role_adds_manipulation(fake: FakeStack) -> None:
    result = run(["--role", "bot"], '{"id": "x", "text": "only today!"}\n')
    assert result.exit_code == 0
    [out] = lines(result.stdout)
    assert out["manipulation"] == {"score": 0.6, "tactics": ["fomo_hook"], "flagged": True}
    assert out["dependency"] is None and out["self_harm"]["encourages"] is False
    assert fake.calls == [("bot", ["only today!"])]


def test_malformed_lines_keep_outputs_aligned_and_exit_1(fake: FakeStack) -> None:
    stdin = "\n".join(
        [
            '{"id": 1, "text": "fine"}',
            "{not json",
            "",  # blank: skipped
            '["a list"]',
            '{"id": 4, "text": 42}',
            '{"text": "no id"}',
            '{"id": 6, "text": "also fine"}',
        ]
    )
    result = run(["--role", "user", "--batch-size", "1"], stdin + "\n")
    assert result.exit_code == 1
    out = lines(result.stdout)
    assert [o["id"] for o in out] == [1, None, None, 4, None, 6]
    assert ["error" in o for o in out] == [False, True, True, True, True, False]
    assert out[1]["error"].startswith("line 2: not JSON")
    assert out[3]["error"].startswith("line 5:")
    for number in (2, 4, 5, 6):
        assert f"line {number}:" in result.stderr
    assert [texts for _, texts in fake.calls] == [["fine"], ["also fine"]]


def test_batch_size_groups_texts(fake: FakeStack) -> None:
    stdin = "".join(json.dumps({"id": i, "text": f"t{i}"}) + "\n" for i in range(7))
    result = run(["--role", "user", "--batch-size", "3"], stdin)
    assert result.exit_code == 0
    assert [len(t) for _, t in fake.calls] == [3, 3, 1]
    assert [o["id"] for o in lines(result.stdout)] == list(range(7))


def test_options_reach_the_stack(fake: FakeStack, tmp_path: Path) -> None:
    config = tmp_path / "b.yaml"
    args = ["--role", "bot", "--device", "cpu", "--precision", "fp32"]
    result = run([*args, "--classifiers-config", str(config)], "")
    assert result.exit_code == 0 and result.stdout == ""
    assert fake.load_kwargs == {  # type: ignore[attr-defined]
        "device": "cpu",
        "precision": "fp32",
        "backends": config,
    }


def test_bad_role_and_unloadable_stack() -> None:
    assert run(["--role", "admin"], "").exit_code == 2
    result = run(["--role", "user", "--device", "cpu", "--precision", "fp16"], "")
    assert result.exit_code == 2 and "fp16 needs a CUDA device" in result.stderr
    assert result.stdout == ""


def test_end_to_end_with_the_shipped_models_stdout_is_only_jsonl() -> None:
    stdin = '{"id": "a", "text": "what a lovely day"}\n{"id": "b", "text": "I want to die"}\n'
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "guardrail.cli", "classify", "--role", "user"],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    out = lines(proc.stdout)
    assert [o["id"] for o in out] == ["a", "b"]
    assert out[1]["self_harm"]["score"] > out[0]["self_harm"]["score"]
    assert out[1]["self_harm"]["flagged"] is True
    assert set(out[0]) >= {"id", "self_harm", "dependency", "minor"}
    assert out[0]["minor"]["flagged"] is False
