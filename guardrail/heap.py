"""Keep loaded models out of the garbage collector's way."""

from __future__ import annotations

import gc


def freeze_heap() -> None:
    """Move every object alive now to the collector's permanent generation.

    Called once models are loaded (spaCy pipelines, Presidio, torch and transformers):
    they live as long as the process, yet every full collection would walk their millions
    of objects while the event loop waits. Measured on the Redis refusals workload with
    32 concurrent requests: p99 253 ms, max 260 ms before; p99 61 ms, max 115 ms after.
    """
    gc.collect()
    gc.freeze()
