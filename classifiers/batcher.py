"""Async micro-batcher: concurrent requests share one forward pass, results cached by text.

Callers ``await batcher.classify(texts, role)``. Texts not in the cache join a per-role
queue; a worker takes up to ``max_batch`` of them, waiting at most ``max_wait_ms`` after
the first for others to arrive, and runs the stack once on the batch in a worker thread,
so the event loop stays free. Each caller gets its own texts' results, in order. Results
are kept in an LRU cache keyed by (role, SHA-256 of the text); the same text requested
twice while its batch runs is computed once.

Two lanes per role, so bulk traffic never starves decisions: ``bulk=True`` (the
``/v1/classify`` API) queues per ``owner`` (a tenant) and is served round-robin between
owners, and only when no decision text waits; a decision waits at most for the batch
already running. A decision that needs a text a bulk caller queued first moves it ahead.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import threading
from collections import OrderedDict, deque
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from prometheus_client import CollectorRegistry, Counter, Histogram

from classifiers.crisis import HeadReading
from classifiers.results import Role, TextScores

Key = tuple[Role, bytes]
Item = tuple[Key, str]


class _Lanes:
    """One role's waiting texts: decisions first, then bulk owners in turn."""

    def __init__(self) -> None:
        self.decisions: deque[Item] = deque()
        self.bulk: dict[str, deque[Item]] = {}
        self.ready = asyncio.Event()

    def __len__(self) -> int:
        return len(self.decisions) + sum(len(q) for q in self.bulk.values())

    def put(self, item: Item, owner: str | None) -> None:
        if owner is None:
            self.decisions.append(item)
        else:
            self.bulk.setdefault(owner, deque()).append(item)
        self.ready.set()

    def take(self, limit: int) -> list[Item]:
        """Up to ``limit`` items: every waiting decision first, then one text per bulk
        owner in turn (an owner that was served goes to the back of the line)."""
        out: list[Item] = []
        while self.decisions and len(out) < limit:
            out.append(self.decisions.popleft())
        while self.bulk and len(out) < limit:
            for owner in list(self.bulk):
                queue = self.bulk.pop(owner)
                out.append(queue.popleft())
                if queue:
                    self.bulk[owner] = queue  # re-inserted last: round-robin
                if len(out) >= limit:
                    break
        if not len(self):
            self.ready.clear()
        return out


class Classifies(Protocol):
    def classify(self, texts: Sequence[str], role: Role) -> list[TextScores]: ...


@runtime_checkable
class ReadsConversations(Protocol):
    """A stack whose severity head can read a user's last messages together
    (``ClassifierStack.conversation``); test stacks and older backends need not."""

    def conversation(
        self, vectors: Sequence[bytes], facts: Sequence[Sequence[str]], topical: bool
    ) -> HeadReading: ...


@dataclass
class BatcherStats:
    batches: int = 0
    """Stack calls (forward passes) made."""
    texts: int = 0
    """Texts sent to the stack."""
    cache_hits: int = 0
    cache_misses: int = 0
    shared: int = 0
    """Texts that joined an identical text already queued or running."""


class _Metrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.batches = Counter(
            "guardrail_classifier_batches", "Classifier stack calls", ["role"], registry=registry
        )
        self.texts = Counter(
            "guardrail_classifier_texts", "Texts classified", ["role"], registry=registry
        )
        self.cache = Counter(
            "guardrail_classifier_cache", "Cache lookups", ["outcome"], registry=registry
        )
        self.batch_size = Histogram(
            "guardrail_classifier_batch_size",
            "Texts per stack call",
            buckets=(1, 2, 4, 8, 16, 32, 64, 128),
            registry=registry,
        )


def cache_key(text: str, role: Role) -> Key:
    return (role, hashlib.sha256(text.encode("utf-8")).digest())


class MicroBatcher:
    def __init__(
        self,
        stack: Classifies,
        max_batch: int = 32,
        max_wait_ms: float = 3.0,
        cache_size: int = 10_000,
        registry: CollectorRegistry | None = None,
    ) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be positive")
        if max_wait_ms < 0 or cache_size < 0:
            raise ValueError("max_wait_ms and cache_size must not be negative")
        self.stack = stack
        self.max_batch = max_batch
        self.max_wait = max_wait_ms / 1000
        self.cache_size = cache_size
        self.stats = BatcherStats()
        self._metrics = _Metrics(registry) if registry is not None else None
        self._cache: OrderedDict[Key, TextScores] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._pending: dict[Key, asyncio.Future[TextScores]] = {}
        self._bulk_queued: set[Key] = set()
        """Texts waiting in a bulk lane (a decision asking for one moves it ahead)."""
        self._queues: dict[Role, _Lanes] = {}
        self._workers: list[asyncio.Task[None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="classifiers")

    # -- cache -------------------------------------------------------------------------

    def cached(self, text: str, role: Role) -> TextScores | None:
        with self._cache_lock:
            hit = self._cache.get(cache_key(text, role))
            if hit is not None:
                self._cache.move_to_end(cache_key(text, role))
            return hit

    def _remember(self, key: Key, scores: TextScores) -> None:
        if not self.cache_size:
            return
        with self._cache_lock:
            self._cache[key] = scores
            self._cache.move_to_end(key)
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)

    def __len__(self) -> int:
        return len(self._cache)

    def conversation(
        self, vectors: Sequence[bytes], facts: Sequence[Sequence[str]], topical: bool
    ) -> HeadReading | None:
        """The stack's reading of a short conversation, None where it has none. Run inline:
        one row through a small head costs less than a trip through the queue."""
        if not isinstance(self.stack, ReadsConversations):
            return None
        return self.stack.conversation(vectors, facts, topical)

    # -- batching ----------------------------------------------------------------------

    def _start(self) -> None:
        loop = asyncio.get_running_loop()
        if self._loop is loop:
            return
        # First call, or a new event loop (tests): queues and futures belong to one loop.
        self._loop = loop
        self._pending.clear()
        self._bulk_queued.clear()
        self._queues = {role: _Lanes() for role in ("user", "bot")}
        self._workers = [loop.create_task(self._work(role)) for role in self._queues]

    async def classify(
        self, texts: Sequence[str], role: Role, *, bulk: bool = False, owner: str = ""
    ) -> list[TextScores]:
        """One TextScores per text, in order. ``bulk``: served after every waiting
        decision, round-robin between ``owner`` values (tenants)."""
        if role not in ("user", "bot"):
            raise ValueError(f"role must be user or bot, not {role!r}")
        if isinstance(texts, str):
            raise TypeError("classify takes a sequence of texts, not one string")
        self._start()
        out: list[TextScores | asyncio.Future[TextScores]] = []
        for text in texts:
            key = cache_key(text, role)
            with self._cache_lock:
                hit = self._cache.get(key)
                if hit is not None:
                    self._cache.move_to_end(key)
            if hit is not None:
                self._count_cache(hit=True)
                out.append(hit)
                continue
            self._count_cache(hit=False)
            fut = self._pending.get(key)
            if fut is None:
                fut = asyncio.get_running_loop().create_future()
                self._pending[key] = fut
                self._queues[role].put((key, text), owner if bulk else None)
                if bulk:
                    self._bulk_queued.add(key)
            else:
                self.stats.shared += 1
                if not bulk and key in self._bulk_queued:
                    self._bulk_queued.discard(key)  # a decision waits for it: ahead
                    self._queues[role].put((key, text), None)
            out.append(fut)
        # shield: a caller that gives up must not cancel a result others share
        return [
            item if isinstance(item, TextScores) else await asyncio.shield(item) for item in out
        ]

    def _count_cache(self, *, hit: bool) -> None:
        if hit:
            self.stats.cache_hits += 1
        else:
            self.stats.cache_misses += 1
        if self._metrics is not None:
            self._metrics.cache.labels("hit" if hit else "miss").inc()

    async def _collect(self, lanes: _Lanes) -> list[Item]:
        """The next batch: waits for a first text, then at most ``max_wait`` for more;
        texts already answered (queued in both lanes) are left out."""
        loop = asyncio.get_running_loop()
        batch: list[Item] = []
        deadline: float | None = None
        while len(batch) < self.max_batch:
            if not len(lanes):
                if deadline is None:
                    await lanes.ready.wait()
                else:
                    remaining = deadline - loop.time()
                    if remaining <= 0:
                        break
                    try:
                        await asyncio.wait_for(lanes.ready.wait(), remaining)
                    except TimeoutError:
                        break
                continue
            for key, text in lanes.take(self.max_batch - len(batch)):
                self._bulk_queued.discard(key)
                if key in self._pending and all(k != key for k, _ in batch):
                    batch.append((key, text))
            if batch and deadline is None:
                deadline = loop.time() + self.max_wait
        return batch

    async def _work(self, role: Role) -> None:
        lanes = self._queues[role]
        loop = asyncio.get_running_loop()
        while True:
            batch = await self._collect(lanes)
            texts = [text for _, text in batch]
            try:
                results = await loop.run_in_executor(
                    self._executor, self.stack.classify, texts, role
                )
                if len(results) != len(texts):
                    raise RuntimeError(f"stack returned {len(results)} results for {len(texts)}")
            except Exception as exc:
                for key, _ in batch:
                    fut = self._pending.pop(key, None)
                    if fut is not None and not fut.done():
                        fut.set_exception(exc)
                continue
            self.stats.batches += 1
            self.stats.texts += len(texts)
            if self._metrics is not None:
                self._metrics.batches.labels(role).inc()
                self._metrics.texts.labels(role).inc(len(texts))
                self._metrics.batch_size.observe(len(texts))
            for (key, _), scores in zip(batch, results, strict=True):
                self._remember(key, scores)
                fut = self._pending.pop(key, None)
                if fut is not None and not fut.done():
                    fut.set_result(scores)

    async def aclose(self) -> None:
        current = asyncio.get_running_loop()
        for task in self._workers:
            task.cancel()
            if task.get_loop() is current:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._workers = []
        self._loop = None
        self._executor.shutdown(wait=False, cancel_futures=True)
