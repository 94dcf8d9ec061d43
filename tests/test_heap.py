"""Loaded models are moved out of the garbage collector's reach."""

from __future__ import annotations

import gc

from guardrail.heap import freeze_heap


class _Loaded:
    """Stands for one object of a loaded pipeline (an instance the collector tracks)."""


def _walked(objects: list[_Loaded]) -> int:
    """How many of ``objects`` a full collection would walk (the three generations, not the
    permanent one ``gc.freeze`` moves objects to)."""
    wanted = {id(o) for o in objects}
    return sum(id(o) in wanted for o in gc.get_objects())


def test_freeze_heap_moves_live_objects_to_the_permanent_generation() -> None:
    """The very objects alive at the call leave the collected generations. Nothing frozen
    earlier in this process (a gateway that loaded models) can make this pass."""
    gc.unfreeze()
    models = [_Loaded() for _ in range(1000)]
    try:
        assert gc.get_freeze_count() == 0
        assert _walked(models) == len(models)
        freeze_heap()
        assert _walked(models) == 0
        assert gc.get_freeze_count() >= len(models)
    finally:
        gc.unfreeze()  # other tests run in this process
