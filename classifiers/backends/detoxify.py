"""Detoxify toxicity models from a local checkpoint, offline.

A Detoxify checkpoint is a ``torch.save`` dict with ``config`` (the training config:
``arch.args`` names the transformers model/tokenizer classes and ``model_type``;
``dataset.args.classes`` the labels) and ``state_dict``. ``huggingface_config_path`` is a
folder with the model's ``config.json`` and tokenizer files, so nothing is downloaded.

``detoxify.Detoxify(checkpoint=..., huggingface_config_path=...)`` still asks the hub for
``model_type``'s config (detoxify 0.5.4 reads it before looking at the local folder), so
this backend reads the checkpoint itself, points ``model_type`` at the local folder, and
builds the model with Detoxify's own ``get_model_and_tokenizer``; predictions are
Detoxify's ``predict`` (a sigmoid per class, class names standardised as Detoxify does).
The checkpoint is a pickle: load only files you trust.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from classifiers.backends.base import BackendError, local_model_folder, parse_roles, require_path
from classifiers.results import Role

CLASS_RENAMES = {
    "toxic": "toxicity",
    "identity_hate": "identity_attack",
    "severe_toxic": "severe_toxicity",
}
"""Detoxify's standard class names (as ``detoxify.detoxify.load_checkpoint`` renames them)."""


def load_detoxify(checkpoint: Path, config_folder: Path, device: str = "cpu") -> Any:
    """A ``detoxify.Detoxify`` built from local files only."""
    import torch
    from detoxify import Detoxify
    from detoxify.detoxify import get_model_and_tokenizer

    config_folder = local_model_folder(config_folder)
    loaded = torch.load(checkpoint, map_location=device, weights_only=False)
    if not isinstance(loaded, dict) or "config" not in loaded or "state_dict" not in loaded:
        raise BackendError(f"{checkpoint}: not a Detoxify checkpoint (needs config, state_dict)")
    try:
        classes = list(loaded["config"]["dataset"]["args"]["classes"])
        arch = dict(loaded["config"]["arch"]["args"])
    except (KeyError, TypeError) as exc:
        raise BackendError(f"{checkpoint}: config lacks arch.args or dataset.args.classes") from exc
    arch["model_type"] = str(config_folder)  # local config, never the hub
    model, tokenizer = get_model_and_tokenizer(
        **arch, state_dict=loaded["state_dict"], huggingface_config_path=str(config_folder)
    )
    detox = Detoxify.__new__(Detoxify)  # Detoxify.__init__ would look model_type up online
    detox.model, detox.tokenizer = model, tokenizer
    detox.class_names = [CLASS_RENAMES.get(c, c) for c in classes]
    detox.device = device
    detox.model.to(device).eval()
    return detox


@dataclass
class DetoxifyBackend:
    name: str
    roles: frozenset[Role]
    detox: Any
    batch_size: int = 32

    @classmethod
    def from_config(cls, entry: Mapping[str, Any], device: str = "cpu") -> DetoxifyBackend:
        checkpoint = require_path(entry, "checkpoint", folder=False)
        config_folder = require_path(entry, "huggingface_config_path", folder=True)
        detox = load_detoxify(checkpoint, config_folder, device)
        return cls(str(entry["name"]), parse_roles(entry), detox)

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(self.detox.class_names)

    def predict(self, texts: Sequence[str]) -> list[dict[str, float]]:
        out: list[dict[str, float]] = []
        for start in range(0, len(texts), self.batch_size):
            chunk = list(texts[start : start + self.batch_size])
            scores = self.detox.predict(chunk)
            if len(chunk) == 1:  # Detoxify squeezes a batch of one to scalars
                scores = {k: [v] for k, v in scores.items()}
            for i in range(len(chunk)):
                out.append({label: float(scores[label][i]) for label in self.labels})
        return out
