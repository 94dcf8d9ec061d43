"""The encoder protocol: USE and e5 behind it, chosen by configuration, batch-invariant."""

from __future__ import annotations

import numpy as np
import pytest

from classifiers import encoders as enc
from classifiers.encoder import SentenceEncoder
from classifiers.encoders import configured_encoder, load_encoder

SENTENCES = [
    "I walked the dog along the river this morning.",
    "Je prépare une tarte aux pommes pour ce soir.",
    "see you tomorrow",
    "",
    "word " * 200,
]


@pytest.fixture(scope="module", params=["use", "e5"])
def model(request: pytest.FixtureRequest) -> SentenceEncoder:
    return enc.shared_sentence_encoder(request.param)


def test_protocol_shape_and_unit_norm(model: SentenceEncoder) -> None:
    assert isinstance(model, SentenceEncoder)
    emb = model.encode(SENTENCES)
    assert emb.shape == (len(SENTENCES), model.dim) and emb.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-4)
    assert model.encode([]).shape == (0, model.dim)
    with pytest.raises(TypeError):
        model.encode("one string")


def test_rows_do_not_depend_on_batch_mates(model: SentenceEncoder) -> None:
    alone = np.vstack([model.encode([s]) for s in SENTENCES])
    together = model.encode([*SENTENCES, "a much longer neighbour " * 40])
    np.testing.assert_allclose(together[: len(SENTENCES)], alone, atol=1e-5)
    docs = model.encode_documents(SENTENCES[:3])
    np.testing.assert_allclose(docs, alone[:3], atol=1e-5)


def test_multilingual_semantics(model: SentenceEncoder) -> None:
    emb = model.encode(["I want to go home.", "Je veux rentrer à la maison.", "Tax filing rules."])
    assert emb[0] @ emb[1] > emb[0] @ emb[2] + 0.1


def test_configuration_chooses_the_encoder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(enc.ENCODER_ENV, raising=False)
    assert configured_encoder() == enc.DEFAULT_ENCODER
    monkeypatch.setenv(enc.ENCODER_ENV, "e5")
    assert configured_encoder() == "e5"
    assert configured_encoder("minilm") == "minilm"
    with pytest.raises(ValueError):
        configured_encoder("word2vec")
    assert load_encoder("use").name == "use"


def test_describe_and_setting(model: SentenceEncoder) -> None:
    d = model.describe()
    assert d["name"] == model.name and d["dim"] == model.dim
    assert model.setting
