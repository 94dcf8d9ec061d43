"""Configured backends: a tiny Detoxify checkpoint and a tiny HF folder, built here, offline."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch
from transformers import BertConfig, BertForSequenceClassification, BertTokenizer

from classifiers.backends import BACKENDS, BackendError, build_backend, load_backends

VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "you", "are", "nice", "bad", "idiot"]
TEXTS = ["you are nice", "you idiot", "bad"]


def tiny_bert(folder: Path, num_labels: int, **config: Any) -> BertForSequenceClassification:
    """A 1-layer BERT with a 10-word vocabulary: config, tokenizer files, random weights."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.txt").write_text("\n".join(VOCAB) + "\n", encoding="utf-8")
    # num_labels is no declared field of the config dataclass (a property its
    # __post_init__ sets from the extra keywords), so the keywords go in as one mapping.
    fields: dict[str, Any] = {
        "vocab_size": len(VOCAB),
        "hidden_size": 8,
        "num_hidden_layers": 1,
        "num_attention_heads": 2,
        "intermediate_size": 16,
        "max_position_embeddings": 32,
        "num_labels": num_labels,
        **config,
    }
    cfg = BertConfig(**fields)
    cfg.save_pretrained(folder)
    BertTokenizer(str(folder / "vocab.txt")).save_pretrained(folder)
    torch.manual_seed(0)
    model = BertForSequenceClassification(cfg)
    model.train(False)  # what eval() does; transformers leaves its eval() unannotated
    with torch.no_grad():  # make the classifier outputs differ clearly between texts
        model.classifier.weight.mul_(50.0)
    return model


@pytest.fixture
def detoxify_files(tmp_path: Path) -> tuple[Path, Path, BertForSequenceClassification]:
    """A checkpoint in Detoxify's format (config + state_dict) and its offline config folder."""
    folder = tmp_path / "tox-config"
    model = tiny_bert(folder, num_labels=2)
    checkpoint = tmp_path / "tox.ckpt"
    torch.save(
        {
            "config": {
                # model_type names a hub model, as real Detoxify checkpoints do: it must not
                # be looked up (HF_HUB_OFFLINE would make that fail).
                "arch": {
                    "args": {
                        "model_type": "bert-base-uncased",
                        "model_name": "BertForSequenceClassification",
                        "tokenizer_name": "BertTokenizer",
                        "num_classes": 2,
                    }
                },
                "dataset": {"args": {"classes": ["toxic", "insult"]}},
            },
            "state_dict": model.state_dict(),
        },
        checkpoint,
    )
    return checkpoint, folder, model


def expected_sigmoid(model: BertForSequenceClassification, folder: Path) -> list[list[float]]:
    tok = BertTokenizer.from_pretrained(str(folder), local_files_only=True)
    with torch.no_grad():
        logits = model(**tok(TEXTS, padding=True, truncation=True, return_tensors="pt")).logits
    rows: list[list[float]] = torch.sigmoid(logits).tolist()
    return rows


def test_registry_names_both_backends() -> None:
    assert set(BACKENDS) == {"hf", "detoxify"}


def test_detoxify_checkpoint_loads_offline_and_predicts(
    tmp_path: Path, detoxify_files: tuple[Path, Path, BertForSequenceClassification]
) -> None:
    checkpoint, folder, model = detoxify_files
    config = tmp_path / "classifiers.yaml"
    config.write_text(
        "backends:\n"
        f"  - {{name: toxicity, type: detoxify, checkpoint: {checkpoint},\n"
        f"     huggingface_config_path: {folder}, roles: [bot]}}\n",
        encoding="utf-8",
    )
    [backend] = load_backends(config)
    assert backend.name == "toxicity" and backend.roles == frozenset({"bot"})
    out = backend.predict(TEXTS)
    assert [set(row) for row in out] == [{"toxicity", "insult"}] * 3  # Detoxify's renames
    want = expected_sigmoid(model, folder)
    for row, (tox, insult) in zip(out, want, strict=True):
        assert row["toxicity"] == pytest.approx(tox, abs=1e-5)
        assert row["insult"] == pytest.approx(insult, abs=1e-5)
    assert len({round(r["toxicity"], 4) for r in out}) > 1  # the weights were really loaded
    [single] = backend.predict(TEXTS[:1])  # Detoxify squeezes a batch of one
    assert single["toxicity"] == pytest.approx(out[0]["toxicity"], abs=1e-5)


def test_detoxify_rejects_a_checkpoint_without_config(tmp_path: Path) -> None:
    bad = tmp_path / "bad.ckpt"
    torch.save({"state_dict": {}}, bad)
    folder = tmp_path / "cfg"
    tiny_bert(folder, 2)
    entry = {
        "name": "tox",
        "type": "detoxify",
        "checkpoint": str(bad),
        "huggingface_config_path": str(folder),
    }
    with pytest.raises(BackendError, match=r"bad\.ckpt"):
        build_backend(entry)


def test_hf_folder_softmax_and_multilabel(tmp_path: Path) -> None:
    folder = tmp_path / "emotion"
    model = tiny_bert(folder, 3, id2label={0: "joy", 1: "anger", 2: "fear"})
    model.save_pretrained(folder)
    backend = build_backend({"name": "emotion", "type": "hf", "path": str(folder)})
    out = backend.predict(TEXTS)
    assert [set(r) for r in out] == [{"joy", "anger", "fear"}] * 3
    assert all(sum(r.values()) == pytest.approx(1.0, abs=1e-5) for r in out)
    assert backend.roles == frozenset({"user", "bot"})

    multi = tmp_path / "multi"
    tiny_bert(multi, 2, problem_type="multi_label_classification").save_pretrained(multi)
    scores = build_backend({"name": "m", "type": "hf", "path": str(multi)}).predict(TEXTS)
    assert any(abs(sum(r.values()) - 1.0) > 1e-3 for r in scores)  # sigmoid, not softmax


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("- {name: x, type: nope}\n", "unknown backend type 'nope'"),
        ("- {name: x, type: hf, path: /does/not/exist}\n", "/does/not/exist"),
        ("- {name: x, type: hf}\n", "'path' is required"),
        ("- {type: hf, path: /tmp}\n", "name must be"),
        ("- {name: x, type: hf, path: /tmp, roles: [admin]}\n", "roles"),
        ("backends: 3\n", "expected a list"),
    ],
)
def test_config_errors_name_the_file(tmp_path: Path, yaml_text: str, message: str) -> None:
    config = tmp_path / "classifiers.yaml"
    config.write_text(yaml_text, encoding="utf-8")
    with pytest.raises(BackendError) as err:
        load_backends(config)
    assert str(config) in str(err.value) and message in str(err.value)


def test_model_load_failure_names_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "config.json").write_text("{not json", encoding="utf-8")
    config = tmp_path / "c.yaml"
    config.write_text(f"- {{name: b, type: hf, path: {folder}}}\n", encoding="utf-8")
    with pytest.raises(BackendError, match=r"c\.yaml: backend 1 \(b\)"):
        load_backends(config)


def test_loaders_refuse_a_hub_name(tmp_path: Path) -> None:
    """A name that is not a local folder is never handed to from_pretrained (hub lookup)."""
    from classifiers.backends.detoxify import load_detoxify
    from classifiers.backends.hf import HFBackend

    with pytest.raises(BackendError, match="not a local model folder"):
        HFBackend.load(Path("distilbert-base-uncased"), name="x", roles=frozenset({"bot"}))
    with pytest.raises(BackendError, match="not a local model folder"):
        load_detoxify(tmp_path / "none.ckpt", Path("unitary/toxic-bert"))
