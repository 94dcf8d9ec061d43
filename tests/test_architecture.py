"""The house rules of docs/architecture.md, checked: which layer may import which, no import
circles, and state protocols narrow enough to implement."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path
from typing import Protocol

import grimp
import pytest

from guardrail.service.shadow import ReadOnlyStore
from guardrail.state import base
from guardrail.state.redis import RedisStore
from guardrail.state.sqlite import SQLiteStore

ROOT = Path(__file__).resolve().parent.parent

CONCERNS: tuple[type[Protocol], ...] = (  # type: ignore[valid-type]
    base.DecisionStore,
    base.IdempotencyStore,
    base.EventStore,
    base.ProfileStore,
    base.OutboxStore,
    base.RetentionStore,
)


def members(protocol: type) -> set[str]:
    """What a protocol asks for: its methods and attributes, inherited ones included."""
    names: set[str] = set()
    for cls in protocol.__mro__:
        if cls in (object, Protocol) or not getattr(cls, "_is_protocol", False):
            continue
        names |= {n for n in vars(cls) if not n.startswith("_")}
        names |= set(getattr(cls, "__annotations__", {}))
    return names


def test_import_contracts_hold() -> None:
    """``lint-imports`` with the contracts in pyproject.toml (layers, no HTTP below the
    edge, settings that import no feature, platforms apart). In its own process: it
    reconfigures logging, which would silence the loggers later tests read."""
    command = [str(Path(sys.executable).parent / "lint-imports"), "--no-cache"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-3000:]


def test_no_import_circles() -> None:
    """No module reaches itself through imports, lazy and type-checking imports included."""
    graph = grimp.build_graph("guardrail", "classifiers", cache_dir=None)
    edges = {m: graph.find_modules_directly_imported_by(m) for m in graph.modules}
    circles = [c for c in _strongly_connected(edges) if len(c) > 1]
    assert circles == []


def _strongly_connected(edges: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components, iteratively (no recursion limit to raise:
    raising it mid-run trips a CPython 3.11 bug in ``ast`` that later tests hit)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work: list[tuple[str, list[str]]] = [(root, sorted(edges.get(root, ())))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            v, todo = work[-1]
            if todo:
                w = todo.pop()
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, sorted(edges.get(w, ()))))
                elif w in on_stack:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[v])
            if low[v] == index[v]:
                component = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    component.append(w)
                    if w == v:
                        break
                found.append(sorted(component))
    return found


@pytest.mark.parametrize("protocol", CONCERNS, ids=lambda p: p.__name__)
def test_each_state_concern_is_narrow(protocol: type) -> None:
    assert len(members(protocol)) <= 12


@pytest.mark.parametrize("backend", [SQLiteStore, RedisStore], ids=lambda b: b.__name__)
def test_both_backends_implement_every_concern(backend: type) -> None:
    missing = members(base.Store) - set(dir(backend))
    assert missing == set()
    for name in members(base.Store) - {"name"}:
        assert inspect.iscoroutinefunction(getattr(backend, name)), name


def test_the_shadow_store_implements_only_what_the_pipeline_reads() -> None:
    pipeline = members(base.PipelineStore)
    own = {n for n in vars(ReadOnlyStore) if not n.startswith("_")}
    assert own == pipeline
