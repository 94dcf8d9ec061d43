"""A disk cache of sentence embeddings for the training and evaluation scripts.

The encoder runs once per distinct text chunk: vectors are stored under a gitignored folder
(``.cache/embeddings`` by default), keyed by the SHA-256 of the chunk text, in one ``.npz``
file per encoder and setting (name, precision, max_length). Only hashes and vectors are stored.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from classifiers.encoder import ChunkedDocuments, Embeddings, SentenceEncoder

DEFAULT_CACHE_DIR = Path(__file__).resolve().parent.parent / ".cache" / "embeddings"


KEY_BYTES = 32


def text_key(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).digest()


class EmbeddingCache(ChunkedDocuments):
    """Chunk-level embeddings of one encoder setting, persisted as ``<name>.npz``."""

    def __init__(self, encoder: SentenceEncoder, folder: Path = DEFAULT_CACHE_DIR) -> None:
        self.encoder = encoder
        self.folder = folder
        self.path = folder / f"{encoder.name}-{encoder.setting}.npz"
        self._vectors: dict[bytes, Embeddings] = {}
        if self.path.is_file():
            with np.load(self.path) as stored:
                keys, vectors = stored["keys"], stored["vectors"]
            for key, vec in zip(keys, vectors, strict=True):
                # uint8 rows; an older "S32" array lost trailing NUL bytes: pad them back.
                self._vectors[bytes(key).ljust(KEY_BYTES, b"\0")] = vec.astype(np.float32)

    def __len__(self) -> int:
        return len(self._vectors)

    # The SentenceEncoder protocol, so a cache can stand in for its encoder (benchmarks).
    @property
    def name(self) -> str:
        return self.encoder.name

    @property
    def dim(self) -> int:
        return self.encoder.dim

    @property
    def setting(self) -> str:
        return self.encoder.setting

    def describe(self) -> dict[str, str | int]:
        return {**self.encoder.describe(), "cache": str(self.path)}

    def save(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        keys = np.frombuffer(b"".join(self._vectors), dtype=np.uint8).reshape(-1, KEY_BYTES)
        dim = self.encoder.dim
        vectors = (
            np.stack(list(self._vectors.values()))
            if self._vectors
            else np.zeros((0, dim), dtype=np.float32)
        )
        # One temporary file per process: concurrent scripts share the cache folder.
        tmp = self.path.with_suffix(f".{os.getpid()}.tmp.npz")
        np.savez(tmp, keys=keys, vectors=vectors)
        tmp.replace(self.path)

    def encode(
        self, texts: Sequence[str], *, batch_size: int | None = None, progress: bool = False
    ) -> Embeddings:
        """Rows of unit norm, one per text: exactly what ``Encoder.encode`` would return."""
        keys = [text_key(t) for t in texts]
        missing = {k: t for k, t in zip(keys, texts, strict=True) if k not in self._vectors}
        if missing:
            vectors = self.encoder.encode(list(missing.values()), progress=progress)
            for key, vec in zip(missing, vectors, strict=True):
                self._vectors[key] = vec
            self.save()
        if not keys:
            return np.zeros((0, self.encoder.dim), dtype=np.float32)
        return np.stack([self._vectors[k] for k in keys]).astype(np.float32)
