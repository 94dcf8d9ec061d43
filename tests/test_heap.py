"""Loaded models are moved out of the garbage collector's reach."""

from __future__ import annotations

import gc

from guardrail.heap import freeze_heap


def test_freeze_heap_moves_live_objects_to_the_permanent_generation() -> None:
    models = [object() for _ in range(1000)]  # stands for a loaded pipeline
    try:
        freeze_heap()
        assert gc.get_freeze_count() >= len(models)
    finally:
        gc.unfreeze()  # other tests run in this process
