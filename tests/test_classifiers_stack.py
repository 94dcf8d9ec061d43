"""The classifier stack (shipped MiniLM + self-harm weights) and the async micro-batcher."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from classifiers.batcher import MicroBatcher
from classifiers.encoder import Embeddings
from classifiers.results import (
    DependencyResult,
    ManipulationResult,
    Role,
    SelfHarmResult,
    TextScores,
    scores_json,
)
from classifiers.stack import ClassifierStack, head_encoder_name, resolve_device
from tests.classifier_support import cpu_stack


@pytest.fixture(scope="module")
def stack() -> ClassifierStack:
    return cpu_stack()


# -- device selection (no GPU is used) -------------------------------------------------


def test_cpu_int8_when_cuda_is_absent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device() == ("cpu", "int8")
    assert resolve_device(precision="fp32") == ("cpu", "fp32")


def test_fp16_on_cpu_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="fp16 needs a CUDA device"):
        resolve_device(precision="fp16")
    with pytest.raises(ValueError, match="fp16 needs a CUDA device"):
        ClassifierStack.load(precision="fp16")  # refused before anything loads


def test_cuda_fp16_chosen_when_cuda_is_present(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device() == ("cuda", "fp16")
    with pytest.raises(ValueError, match="int8"):
        resolve_device(precision="int8")


def test_stack_loaded_with_the_heads_encoder_on_cpu(stack: ClassifierStack) -> None:
    info = stack.describe()
    assert info["encoder"]["device"] == "cpu"
    assert info["encoder"]["name"] == head_encoder_name(stack.self_harm) == "use"
    assert info["heads"]["self_harm"] is True


def test_a_head_of_another_encoder_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUARDRAIL_ENCODER", "e5")
    with pytest.raises(ValueError, match="trained on the 'use' encoder"):
        ClassifierStack.load()


# -- the real stack --------------------------------------------------------------------


def test_classify_user_and_bot(stack: ClassifierStack) -> None:
    texts = ["what a lovely film", "I want to kill myself tonight"]
    user = stack.classify(texts, "user")
    assert [type(s.self_harm) for s in user] == [SelfHarmResult, SelfHarmResult]
    assert user[1].self_harm.score > user[0].self_harm.score
    assert user[1].self_harm.flagged and not user[0].self_harm.flagged
    bot = stack.classify(["you should kill yourself", "see you tomorrow!"], "bot")
    assert bot[0].self_harm.encourages and bot[0].self_harm.flagged
    assert not bot[1].self_harm.encourages
    assert stack.classify([], "user") == []
    with pytest.raises(ValueError, match="role"):
        stack.classify(texts, "admin")  # type: ignore[arg-type]


@dataclass
class FakeHead:
    calls: list[tuple[int, int]] = field(default_factory=list)

    def score(self, embeddings: Any, texts: Sequence[str]) -> list[Any]:
        self.calls.append((id(embeddings), len(texts)))
        return [self.result(float(np.asarray(e).sum())) for e in embeddings]

    def result(self, x: float) -> Any:
        return DependencyResult(score=0.5, signals=("only_you",), flagged=True)


class FakeManipulation(FakeHead):
    def result(self, x: float) -> Any:
        return ManipulationResult(score=0.25, tactics=("fomo_hook",), flagged=False)


@dataclass
class FakeBackend:
    name: str = "tox"
    roles: frozenset[Role] = frozenset({"bot"})

    def predict(self, texts: Sequence[str]) -> list[dict[str, float]]:
        return [{"toxicity": 0.1 * len(t)} for t in texts]


def test_one_encoder_pass_serves_every_head(
    stack: ClassifierStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    dep, man = FakeHead(), FakeManipulation()
    full = ClassifierStack(
        encoder=stack.encoder,
        self_harm=stack.self_harm,
        dependency=dep,
        manipulation=man,
        backends=[FakeBackend()],
    )
    passes: list[int] = []
    encode = stack.encoder.encode_documents

    def counted(t: Sequence[str], **k: Any) -> Embeddings:
        passes.append(len(t))
        return encode(t, **k)

    monkeypatch.setattr(stack.encoder, "encode_documents", counted)
    user = full.classify(["a", "bb", "ccc"], "user")
    assert passes == [3] and len(dep.calls) == 1 and not man.calls
    assert user[0].dependency == DependencyResult(0.5, ("only_you",), True)
    assert user[0].manipulation is None and user[0].other == {}  # backend is bot-only
    bot = full.classify(["a", "bb"], "bot")
    assert passes == [3, 2] and len(man.calls) == 1 and len(dep.calls) == 1
    assert bot[1].manipulation is not None and bot[1].manipulation.tactics == ("fomo_hook",)
    assert bot[1].dependency is None
    assert bot[1].other == {"tox.toxicity": pytest.approx(0.2)}
    assert {"encoder", "self_harm", "dependency", "manipulation"} <= set(full.timings)
    assert full.describe()["backends"] == [{"name": "tox", "type": "FakeBackend", "roles": ["bot"]}]
    as_json = scores_json(bot[1], "bot")
    assert as_json["manipulation"] == {"score": 0.25, "tactics": ["fomo_hook"], "flagged": False}
    assert as_json["other"] == {"tox.toxicity": pytest.approx(0.2)}
    assert scores_json(user[0], "user")["dependency"]["signals"] == ["only_you"]
    assert "manipulation" not in scores_json(user[0], "user")


def test_missing_optional_heads_are_none_and_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from classifiers.stack import _optional_head

    with caplog.at_level(logging.WARNING, "guardrail.classifiers"):
        assert _optional_head("classifiers.no_such_head", "X", "W", None) is None
        assert _optional_head("classifiers.self_harm", "X", "W", tmp_path / "none.st") is None
    assert "classifiers.no_such_head" in caplog.text and "none.st" in caplog.text


# -- the micro-batcher -----------------------------------------------------------------


class CountingStack:
    """Scores a text by its length; records each call's batch, from a worker thread."""

    def __init__(self, delay: float = 0.0) -> None:
        self.calls: list[tuple[Role, list[str]]] = []
        self.threads: set[int] = set()
        self.delay = delay

    def classify(self, texts: Sequence[str], role: Role) -> list[TextScores]:
        import time

        time.sleep(self.delay)
        self.calls.append((role, list(texts)))
        self.threads.add(threading.get_ident())
        bonus = 0.5 if role == "bot" else 0.0
        return [
            TextScores(self_harm=SelfHarmResult(len(t) / 1000 + bonus, "none", False))
            for t in texts
        ]


def score(text: str, role: Role = "user") -> float:
    return len(text) / 1000 + (0.5 if role == "bot" else 0.0)


async def test_concurrent_callers_share_a_batch_and_get_their_own_results() -> None:
    fake = CountingStack()
    batcher = MicroBatcher(fake, max_batch=64, max_wait_ms=50)
    requests = [[f"message {i}" + "x" * i, f"other {i}"] for i in range(20)]
    results = await asyncio.gather(*(batcher.classify(r, "user") for r in requests))
    for texts, got in zip(requests, results, strict=True):
        assert [s.self_harm.score for s in got] == [score(t) for t in texts]
    assert batcher.stats.batches < 5  # 40 texts, far fewer forward passes
    assert sum(len(c[1]) for c in fake.calls) == 40
    assert threading.get_ident() not in fake.threads  # the stack runs off the event loop
    await batcher.aclose()


async def test_batches_respect_max_batch_and_roles() -> None:
    fake = CountingStack()
    batcher = MicroBatcher(fake, max_batch=4, max_wait_ms=20)
    user = batcher.classify([f"u{i}" for i in range(10)], "user")
    bot = batcher.classify(["u1", "b2"], "bot")  # same text, other role: not shared
    got_user, got_bot = await asyncio.gather(user, bot)
    assert all(len(texts) <= 4 for _, texts in fake.calls)
    assert {role for role, _ in fake.calls} == {"user", "bot"}
    assert [s.self_harm.score for s in got_bot] == [score("u1", "bot"), score("b2", "bot")]
    assert [s.self_harm.score for s in got_user] == [score(f"u{i}") for i in range(10)]
    await batcher.aclose()


async def test_cache_hits_skip_the_stack_and_evict_lru() -> None:
    fake = CountingStack()
    batcher = MicroBatcher(fake, max_batch=8, max_wait_ms=1, cache_size=2)
    await batcher.classify(["a", "b"], "user")
    assert batcher.stats.batches == 1 and batcher.stats.cache_misses == 2
    again = await batcher.classify(["b", "a"], "user")
    assert [s.self_harm.score for s in again] == [score("b"), score("a")]
    assert batcher.stats.batches == 1 and batcher.stats.cache_hits == 2
    await batcher.classify(["a"], "bot")  # keyed by role too: a miss
    assert batcher.stats.batches == 2 and len(batcher) == 2
    await batcher.classify(["b"], "user")  # evicted (LRU, size 2): computed again
    assert batcher.stats.batches == 3
    await batcher.aclose()


async def test_identical_texts_in_flight_are_computed_once() -> None:
    fake = CountingStack(delay=0.05)
    batcher = MicroBatcher(fake, max_batch=8, max_wait_ms=5)
    results = await asyncio.gather(*(batcher.classify(["same"], "user") for _ in range(6)))
    assert all(r[0].self_harm.score == score("same") for r in results)
    assert sum(t.count("same") for _, t in fake.calls) == 1
    assert batcher.stats.shared == 5
    await batcher.aclose()


async def test_stack_errors_reach_every_caller_and_are_not_cached() -> None:
    class Failing(CountingStack):
        def classify(self, texts: Sequence[str], role: Role) -> list[TextScores]:
            self.calls.append((role, list(texts)))
            raise RuntimeError("model exploded")

    fake = Failing()
    batcher = MicroBatcher(fake, max_wait_ms=5)
    outcomes = await asyncio.gather(
        batcher.classify(["x"], "user"), batcher.classify(["y"], "user"), return_exceptions=True
    )
    assert all(isinstance(o, RuntimeError) for o in outcomes)
    with pytest.raises(RuntimeError):
        await batcher.classify(["x"], "user")
    assert len(batcher) == 0
    await batcher.aclose()


async def test_batcher_over_the_real_stack(stack: ClassifierStack) -> None:
    from prometheus_client import CollectorRegistry, generate_latest

    registry = CollectorRegistry()
    batcher = MicroBatcher(stack, max_batch=16, max_wait_ms=20, registry=registry)
    texts = ["I want to end my life", "nice weather today", "I cut myself again"]
    direct = stack.classify(texts, "user")
    via = await asyncio.gather(*(batcher.classify([t], "user") for t in texts))
    for want, [got] in zip(direct, via, strict=True):
        assert got.self_harm.severity == want.self_harm.severity
        assert got.self_harm.score == pytest.approx(want.self_harm.score, abs=1e-4)
    assert batcher.stats.batches == 1
    assert b"guardrail_classifier_batches_total" in generate_latest(registry)
    await batcher.aclose()
