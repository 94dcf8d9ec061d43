"""Small classification heads on top of the shared embedding, run in numpy.

A head is a multilayer perceptron (no hidden layer: multinomial logistic regression) whose
input is the sentence embedding, optionally followed by extra features (lexicon hits). Input
standardisation is folded into the first layer, so inference is a few matrix products: far
under 10% of the encoder's cost. Weights are stored as safetensors with JSON metadata (label
names, feature names, thresholds, provenance).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from safetensors.numpy import load_file, save_file

FloatArray = npt.NDArray[np.float32]


class HeadFormatError(ValueError):
    """A weight file is missing tensors or metadata."""


def softmax(logits: FloatArray) -> FloatArray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(shifted)
    out: FloatArray = (e / e.sum(axis=-1, keepdims=True)).astype(np.float32)
    return out


def sigmoid(x: FloatArray) -> FloatArray:
    out: FloatArray = (1.0 / (1.0 + np.exp(-x))).astype(np.float32)
    return out


@dataclass(frozen=True)
class MLPHead:
    """``softmax(W_n · relu(… relu(W_1 · x + b_1) …) + b_n)`` (or sigmoid per label)."""

    weights: tuple[FloatArray, ...]
    """Each of shape (in, out)."""
    biases: tuple[FloatArray, ...]
    labels: tuple[str, ...]
    feature_names: tuple[str, ...] = ()
    """Names of the extra features after the embedding columns."""
    multilabel: bool = False
    """Sigmoid per output (independent labels) instead of a softmax over them."""
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.weights) != len(self.biases) or not self.weights:
            raise HeadFormatError("a head needs as many bias vectors as weight matrices")
        for w, b in zip(self.weights, self.biases, strict=True):
            if w.ndim != 2 or b.shape != (w.shape[1],):
                raise HeadFormatError("weight/bias shapes do not match")
        for w_prev, w_next in zip(self.weights, self.weights[1:], strict=False):
            if w_prev.shape[1] != w_next.shape[0]:
                raise HeadFormatError("consecutive layers do not chain")
        if self.weights[-1].shape[1] != len(self.labels):
            raise HeadFormatError("the last layer's width is not the number of labels")

    @property
    def input_dim(self) -> int:
        return int(self.weights[0].shape[0])

    def logits(self, x: FloatArray) -> FloatArray:
        if x.ndim != 2 or x.shape[1] != self.input_dim:
            raise ValueError(f"expected inputs of shape (n, {self.input_dim}), got {x.shape}")
        h = x.astype(np.float32, copy=False)
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            h = h @ w + b
            if i < last:
                h = np.maximum(h, 0.0)
        return h

    def predict_proba(self, x: FloatArray) -> FloatArray:
        z = self.logits(x)
        return sigmoid(z) if self.multilabel else softmax(z)

    def n_parameters(self) -> int:
        return int(sum(w.size + b.size for w, b in zip(self.weights, self.biases, strict=True)))

    def save(self, path: Path) -> None:
        tensors: dict[str, npt.NDArray[Any]] = {}
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            tensors[f"layer{i}.weight"] = np.ascontiguousarray(w, dtype=np.float32)
            tensors[f"layer{i}.bias"] = np.ascontiguousarray(b, dtype=np.float32)
        meta = {
            "format": "guardrail-mlp-head/1",
            "labels": json.dumps(list(self.labels)),
            "feature_names": json.dumps(list(self.feature_names)),
            "multilabel": json.dumps(self.multilabel),
            "metadata": json.dumps(self.metadata, sort_keys=True),
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        save_file(tensors, str(path), metadata=meta)

    @classmethod
    def load(cls, path: Path) -> MLPHead:
        tensors, meta = read_head_file(path, "guardrail-mlp-head/1", "head")
        n = len([k for k in tensors if k.endswith(".weight")])
        try:
            weights = tuple(tensors[f"layer{i}.weight"].astype(np.float32) for i in range(n))
            biases = tuple(tensors[f"layer{i}.bias"].astype(np.float32) for i in range(n))
        except KeyError as exc:
            raise HeadFormatError(f"{path.name}: missing tensor {exc}") from None
        return cls(
            weights=weights,
            biases=biases,
            labels=tuple(json.loads(meta["labels"])),
            feature_names=tuple(json.loads(meta.get("feature_names", "[]"))),
            multilabel=bool(json.loads(meta.get("multilabel", "false"))),
            metadata=json.loads(meta.get("metadata", "{}")),
        )


def read_head_file(
    path: Path, fmt: str, what: str
) -> tuple[dict[str, npt.NDArray[Any]], dict[str, str]]:
    """A head's tensors and string metadata, once its ``format`` is ``fmt`` (else a
    HeadFormatError saying the file is not a guardrail ``what`` file)."""
    from safetensors import safe_open

    tensors = load_file(str(path))
    with safe_open(str(path), framework="numpy") as fh:
        meta = fh.metadata() or {}
    if meta.get("format") != fmt:
        raise HeadFormatError(f"{path.name}: not a guardrail {what} file")
    return tensors, meta


def fold_standardisation(
    weight: FloatArray, bias: FloatArray, mean: FloatArray, scale: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Fold ``(x - mean) / scale`` into a first layer ``x @ W + b``."""
    w = (weight / scale[:, None]).astype(np.float32)
    b = (bias - (mean / scale) @ weight).astype(np.float32)
    return w, b
