"""The shipped classifiers as tests load them: on the CPU even where CUDA is present, so a
test reads the same int8 path on every machine."""

from __future__ import annotations

import pytest
import torch

from classifiers.batcher import MicroBatcher
from classifiers.stack import ClassifierStack
from guardrail.risk import ClassifierAssessor


def cpu_stack() -> ClassifierStack:
    """The shipped stack, loaded as on a machine without CUDA."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(torch.cuda, "is_available", lambda: False)
        return ClassifierStack.load()


def shipped_assessor(stack: ClassifierStack | None = None) -> ClassifierAssessor:
    """The gateway's assessor over the shipped stack's micro-batcher."""
    batcher = MicroBatcher(stack or cpu_stack())
    return ClassifierAssessor(lambda: batcher)
