"""The encoder registry: which sentence encoder serves, by name.

Adding an encoder is one module implementing :class:`~classifiers.encoder.SentenceEncoder`
and one line in :data:`LOADERS`. The name comes from the caller, else
``$GUARDRAIL_ENCODER``, else :data:`DEFAULT_ENCODER` (what the shipped heads are trained
on; their ``encoder_name`` says it too). Implementations are imported only when chosen, so
a numpy encoder never loads torch.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Protocol

from classifiers.encoder import Precision, SentenceEncoder


@dataclass(frozen=True)
class EncoderOptions:
    """How to build an encoder; each encoder reads what applies to it."""

    device: str | None = None
    """torch encoders: the device (None: CUDA when present, else CPU)."""
    precision: Precision | None = None
    """torch encoders: int8 (CPU default), fp32, fp16 (CUDA default)."""
    max_length: int = 256
    """torch encoders: the token window."""
    threads: int = 1
    """numpy and C encoders: CPU threads (their own defaults oversubscribe the cores)."""


class Loader(Protocol):
    def __call__(self, options: EncoderOptions, *, shared: bool) -> SentenceEncoder:
        """A new encoder, or with ``shared`` the process's one for these options."""
        ...


_once_lock = threading.Lock()
_once: dict[str, SentenceEncoder] = {}


def _process_wide(name: str, build: Callable[[], SentenceEncoder]) -> SentenceEncoder:
    with _once_lock:
        if name not in _once:
            _once[name] = build()
        return _once[name]


def _minilm(options: EncoderOptions, *, shared: bool) -> SentenceEncoder:
    from classifiers.encoder_minilm import Encoder, shared_encoder

    if shared:  # one per device / precision / window
        return shared_encoder(options.device, options.precision, options.max_length)
    return Encoder(
        device=options.device, precision=options.precision, max_length=options.max_length
    )


def _use(options: EncoderOptions, *, shared: bool) -> SentenceEncoder:
    from classifiers.encoder_use import UseEncoder

    if shared:
        return _process_wide("use", lambda: UseEncoder(threads=1))
    return UseEncoder(threads=options.threads)


def _e5(options: EncoderOptions, *, shared: bool) -> SentenceEncoder:
    from classifiers.encoder_e5 import E5Encoder

    if shared:
        return _process_wide("e5", lambda: E5Encoder(threads=1))
    return E5Encoder(threads=options.threads)


LOADERS: Final[dict[str, Loader]] = {"minilm": _minilm, "use": _use, "e5": _e5}
"""Encoders by registry name."""

ENCODER_NAMES: Final[tuple[str, ...]] = tuple(LOADERS)
ENCODER_ENV: Final = "GUARDRAIL_ENCODER"
"""Environment variable naming the encoder when the caller names none."""
DEFAULT_ENCODER: Final = "use"
"""What the shipped heads are trained on (their ``encoder_name`` says it too)."""


def configured_encoder(name: str | None = None) -> str:
    """The encoder to use: ``name``, else ``$GUARDRAIL_ENCODER``, else ``DEFAULT_ENCODER``."""
    chosen = name or os.environ.get(ENCODER_ENV) or DEFAULT_ENCODER
    if chosen not in ENCODER_NAMES:
        raise ValueError(f"unknown encoder {chosen!r}; choose one of {ENCODER_NAMES}")
    return chosen


def load_encoder(
    name: str | None = None,
    *,
    device: str | None = None,
    precision: Precision | None = None,
    max_length: int = 256,
    threads: int | None = None,
) -> SentenceEncoder:
    """A new encoder by registry name; ``device``/``precision``/``max_length`` serve MiniLM
    (the torch one), ``threads`` the numpy/C ones (USE, e5)."""
    options = EncoderOptions(device, precision, max_length, threads or 1)
    return LOADERS[configured_encoder(name)](options, shared=False)


def shared_sentence_encoder(
    name: str | None = None,
    *,
    device: str | None = None,
    precision: Precision | None = None,
    max_length: int = 256,
) -> SentenceEncoder:
    """One encoder per process per configuration, loaded on first use (MiniLM keyed by
    device / precision / max_length; the others by name)."""
    options = EncoderOptions(device, precision, max_length)
    return LOADERS[configured_encoder(name)](options, shared=True)
