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

import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Final

from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

STAGES: Final = ("rules", "pii", "encoder", "heads", "store", "audit")
"""The stages, in the order a message meets them (``rules`` is the pipeline's own work)."""


class StageClock:
    """Process-wide CPU seconds and item counts per stage; thread-safe, cheap."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seconds: dict[str, float] = dict.fromkeys(STAGES, 0.0)
        self._items: dict[str, int] = dict.fromkeys(STAGES, 0)

    def add(self, stage: str, seconds: float, items: int = 1) -> None:
        with self._lock:
            self._seconds[stage] = self._seconds.get(stage, 0.0) + seconds
            self._items[stage] = self._items.get(stage, 0) + items

    @contextmanager
    def cpu(self, stage: str, items: int = 1) -> Iterator[None]:
        """Count the calling thread's CPU time inside the block towards ``stage``."""
        started = time.thread_time()
        try:
            yield
        finally:
            self.add(stage, time.thread_time() - started, items)

    def snapshot(self) -> dict[str, tuple[float, int]]:
        """Stage → (CPU seconds, items) so far."""
        with self._lock:
            return {s: (self._seconds[s], self._items[s]) for s in self._seconds}


CLOCK: Final = StageClock()
"""The process's clock (stages run in threads and apps that share one process)."""


class StageCollector(Collector):
    """Puts :data:`CLOCK` on an app's Prometheus registry."""

    def __init__(self, clock: StageClock = CLOCK) -> None:
        self._clock = clock

    def collect(self) -> Iterable[CounterMetricFamily]:
        seconds = CounterMetricFamily(
            "guardrail_stage_cpu_seconds", "CPU seconds spent per stage", labels=["stage"]
        )
        items = CounterMetricFamily(
            "guardrail_stage_items", "Messages or texts handled per stage", labels=["stage"]
        )
        for stage, (secs, count) in self._clock.snapshot().items():
            seconds.add_metric([stage], secs)
            items.add_metric([stage], count)
        yield seconds
        yield items
