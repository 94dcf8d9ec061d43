"""Async micro-batcher: concurrent requests share one forward pass, results cached by text.

Callers ``await batcher.classify(texts, role)``. Texts not in the cache join a per-role
queue; a worker takes up to ``max_batch`` of them, waiting at most ``max_wait_ms`` after
the first for others to arrive, and runs the stack once on the batch in a worker thread,
so the event loop stays free. Each caller gets its own texts' results, in order. Results
are kept in an LRU cache keyed by (role, SHA-256 of the text); the same text requested
twice while its batch runs is computed once.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Histogram

from classifiers.results import Role, TextScores

Key = tuple[Role, bytes]


class Classifies(Protocol):
    def classify(self, texts: Sequence[str], role: Role) -> list[TextScores]: ...


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
        self._queues: dict[Role, asyncio.Queue[tuple[Key, str]]] = {}
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

    # -- batching ----------------------------------------------------------------------

    def _start(self) -> None:
        loop = asyncio.get_running_loop()
        if self._loop is loop:
            return
        # First call, or a new event loop (tests): queues and futures belong to one loop.
        self._loop = loop
        self._pending.clear()
        self._queues = {role: asyncio.Queue() for role in ("user", "bot")}
        self._workers = [loop.create_task(self._work(role)) for role in self._queues]

    async def classify(self, texts: Sequence[str], role: Role) -> list[TextScores]:
        """One TextScores per text, in order."""
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
                self._queues[role].put_nowait((key, text))
            else:
                self.stats.shared += 1
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

    async def _collect(self, queue: asyncio.Queue[tuple[Key, str]]) -> list[tuple[Key, str]]:
        batch = [await queue.get()]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.max_wait
        while len(batch) < self.max_batch:
            while len(batch) < self.max_batch and not queue.empty():
                batch.append(queue.get_nowait())
            remaining = deadline - loop.time()
            if len(batch) >= self.max_batch or remaining <= 0:
                break
            try:
                batch.append(await asyncio.wait_for(queue.get(), remaining))
            except TimeoutError:
                break
        return batch

    async def _work(self, role: Role) -> None:
        queue = self._queues[role]
        loop = asyncio.get_running_loop()
        while True:
            batch = await self._collect(queue)
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
