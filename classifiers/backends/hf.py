"""Any Hugging Face sequence-classification folder as a backend, loaded by path, offline.

Scores are a softmax over the labels, or a sigmoid per label when the folder's config says
``problem_type: multi_label_classification``; label names come from ``id2label``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from classifiers.backends.base import local_model_folder, parse_roles, require_path
from classifiers.results import Role


@dataclass
class HFBackend:
    name: str
    roles: frozenset[Role]
    model: Any
    tokenizer: Any
    labels: tuple[str, ...]
    multilabel: bool
    device: str = "cpu"
    max_length: int = 512
    batch_size: int = 32

    @classmethod
    def from_config(cls, entry: Mapping[str, Any], device: str = "cpu") -> HFBackend:
        folder = require_path(entry, "path", folder=True)
        return cls.load(
            folder,
            name=str(entry["name"]),
            roles=parse_roles(entry),
            device=device,
            max_length=int(entry.get("max_length", 512)),
        )

    @classmethod
    def load(
        cls,
        folder: Path,
        *,
        name: str,
        roles: frozenset[Role],
        device: str = "cpu",
        max_length: int = 512,
    ) -> HFBackend:
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        folder = local_model_folder(folder)
        tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
        model = AutoModelForSequenceClassification.from_pretrained(
            str(folder), local_files_only=True
        )
        model.eval().to(device)
        config = model.config
        labels = tuple(str(config.id2label[i]) for i in range(int(config.num_labels)))
        multilabel = config.problem_type == "multi_label_classification"
        return cls(name, roles, model, tokenizer, labels, multilabel, device, max_length)

    def predict(self, texts: Sequence[str]) -> list[dict[str, float]]:
        import torch

        out: list[dict[str, float]] = []
        with torch.inference_mode():
            for start in range(0, len(texts), self.batch_size):
                chunk = list(texts[start : start + self.batch_size])
                inputs = self.tokenizer(
                    chunk,
                    padding=True,
                    truncation=True,
                    max_length=self.max_length,
                    return_tensors="pt",
                ).to(self.device)
                logits = self.model(**inputs).logits.float()
                probs = torch.sigmoid(logits) if self.multilabel else logits.softmax(dim=-1)
                for row in probs.cpu().tolist():
                    out.append(dict(zip(self.labels, row, strict=True)))
        return out
