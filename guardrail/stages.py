"""Where a gateway process spends its CPU, by stage: the full-path benchmark reads it.

Each stage adds the CPU time of the thread that ran it (``time.thread_time``), so work that
waits (a lock, a queue, the event loop's turn) is not counted, and work done in worker
threads (PII, the encoder) is counted where it runs. What no stage claims (HTTP parsing,
validation, serialisation, the event loop itself) is the process's CPU time minus the sum,
which the benchmark computes from ``/proc``.

Exported on ``/metrics`` as ``guardrail_stage_cpu_seconds_total{stage}`` and
``guardrail_stage_items_total{stage}`` (messages or texts the stage handled).
"""

from __future__ import annotations

import time
from typing import Final

from prometheus_client import CollectorRegistry, Counter

STAGES: Final = ("rules", "pii", "encoder", "heads", "store", "audit")
"""The stages, in the order a message meets them (``rules`` is the pipeline's own work)."""


class StageClock:
    """Process-wide CPU seconds and item counts per stage, as Prometheus counters (so that
    ``serve --workers N`` adds them up across workers, like every other metric)."""

    def __init__(self) -> None:
        self.seconds = Counter(
            "guardrail_stage_cpu_seconds",
            "CPU seconds spent per stage (thread CPU time)",
            ["stage"],
            registry=None,
        )
        self.items = Counter(
            "guardrail_stage_items",
            "Messages or texts handled per stage",
            ["stage"],
            registry=None,
        )
        # Every stage shows, at 0, before its first use; children bound once (hot path).
        self._seconds = {stage: self.seconds.labels(stage) for stage in STAGES}
        self._items = {stage: self.items.labels(stage) for stage in STAGES}

    def add(self, stage: str, seconds: float, items: int = 1) -> None:
        spent = self._seconds.get(stage) or self.seconds.labels(stage)
        spent.inc(max(seconds, 0.0))
        if items:
            (self._items.get(stage) or self.items.labels(stage)).inc(items)

    def cpu(self, stage: str, items: int = 1) -> _Timed:
        """Count the calling thread's CPU time inside the block towards ``stage``."""
        return _Timed(self, stage, items)

    def register(self, registry: CollectorRegistry) -> None:
        """Show the counters on an app's registry (each app of a process shows the same)."""
        registry.register(self.seconds)
        registry.register(self.items)


class _Timed:
    """``StageClock.cpu``'s context manager: a class, not a generator (this runs several
    times per decision; a generator-based one costs a few microseconds more)."""

    __slots__ = ("_clock", "_items", "_stage", "_started")

    def __init__(self, clock: StageClock, stage: str, items: int) -> None:
        self._clock, self._stage, self._items = clock, stage, items
        self._started = 0.0

    def __enter__(self) -> None:
        self._started = time.thread_time()

    def __exit__(self, *exc: object) -> None:
        self._clock.add(self._stage, time.thread_time() - self._started, self._items)


CLOCK: Final = StageClock()
"""The process's clock (stages run in threads and apps that share one process)."""
