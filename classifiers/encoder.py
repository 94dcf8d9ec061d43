"""The shared sentence encoder protocol, and what every encoder shares: chunking.

Every encoder (``SentenceEncoder``) gives L2-normalised float32 rows, one per text, that do
not depend on the text's batch-mates. Which one serves is configuration, built by the
registry (:mod:`classifiers.encoders`): ``minilm`` (:mod:`classifiers.encoder_minilm`,
torch, CUDA when present), ``use`` (Universal Sentence Encoder multilingual v3,
:mod:`classifiers.encoder_use`) and ``e5`` (multilingual-e5-small 4-bit,
:mod:`classifiers.encoder_e5`). This module imports neither torch nor any model.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol, cast, runtime_checkable

import numpy as np
import numpy.typing as npt

Embeddings = npt.NDArray[np.float32]
Precision = Literal["int8", "fp32", "fp16"]
"""How a torch encoder computes: int8 (CPU), fp32, fp16 (CUDA)."""


class EncoderUnavailable(RuntimeError):
    """The model package is not installed or its folder lacks the model files."""


@runtime_checkable
class SentenceEncoder(Protocol):
    """What the stack, the caches and the training scripts need of an encoder."""

    @property
    def name(self) -> str:
        """Registry name (``minilm``, ``use``, ``e5``): heads record it and must match it."""
        ...

    @property
    def dim(self) -> int: ...

    def encode(
        self, texts: Sequence[str], *, batch_size: int | None = None, progress: bool = False
    ) -> Embeddings: ...

    def encode_documents(
        self,
        texts: Sequence[str],
        *,
        chunk_words: int = ...,
        max_chunks: int = ...,
        batch_size: int | None = None,
        progress: bool = False,
    ) -> Embeddings: ...

    @property
    def setting(self) -> str: ...

    def describe(self) -> dict[str, str | int]: ...


CHUNK_WORDS = 180
"""Words per chunk for long texts: about 230 MiniLM tokens, inside the 256-token window."""
MAX_CHUNKS = 16


def chunk_text(
    text: str, chunk_words: int = CHUNK_WORDS, max_chunks: int = MAX_CHUNKS
) -> list[str]:
    """Whitespace-split ``text`` into at most ``max_chunks`` chunks of ``chunk_words`` words.

    A text of at most ``chunk_words`` words is one chunk, unchanged; an empty text is one
    empty chunk (the encoder still gives it a vector).
    """
    words = text.split()
    if len(words) <= chunk_words:
        return [text]
    return [
        " ".join(words[i : i + chunk_words])
        for i in range(0, min(len(words), chunk_words * max_chunks), chunk_words)
    ]


def unit_rows(rows: Embeddings) -> Embeddings:
    """``rows`` scaled to unit length, float32 (a zero row stays zero)."""
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    out: Embeddings = (rows / np.maximum(norms, 1e-12)).astype(np.float32)
    return out


def pool_chunks(flat: Embeddings, owners: npt.NDArray[np.int64], n: int) -> Embeddings:
    """Normalised mean of the rows of ``flat`` that belong to each of ``n`` owners."""
    out = np.zeros((n, flat.shape[1]), dtype=np.float32)
    np.add.at(out, owners, flat)
    return unit_rows(out)


def encode_documents_with(
    encoder: SentenceEncoder,
    texts: Sequence[str],
    *,
    chunk_words: int = CHUNK_WORDS,
    max_chunks: int = MAX_CHUNKS,
    batch_size: int | None = None,
    progress: bool = False,
) -> Embeddings:
    """``encode_documents`` for any encoder: chunks of ``chunk_words`` words through one
    ``encode`` call, a text's vector the normalised mean of its chunks' vectors."""
    chunks, owners = [], []
    for i, text in enumerate(texts):
        for chunk in chunk_text(text, chunk_words, max_chunks):
            chunks.append(chunk)
            owners.append(i)
    flat = encoder.encode(chunks, batch_size=batch_size, progress=progress)
    return pool_chunks(flat, np.asarray(owners, dtype=np.int64), len(texts))


class ChunkedDocuments:
    """``encode_documents`` by chunks, for every encoder here (each window is shorter than a
    Reddit post): mixed into a class that has ``encode``."""

    def encode_documents(
        self,
        texts: Sequence[str],
        *,
        chunk_words: int = CHUNK_WORDS,
        max_chunks: int = MAX_CHUNKS,
        batch_size: int | None = None,
        progress: bool = False,
    ) -> Embeddings:
        """Like ``encode``, for texts longer than the model's window.

        Each text is cut into chunks of ``chunk_words`` words (see ``chunk_text``); all chunks
        of all texts go through one batched ``encode``; a text's embedding is the normalised
        mean of its chunks' embeddings. Texts of one chunk get exactly ``encode``'s vector.
        """
        return encode_documents_with(
            cast(SentenceEncoder, self),
            texts,
            chunk_words=chunk_words,
            max_chunks=max_chunks,
            batch_size=batch_size,
            progress=progress,
        )
