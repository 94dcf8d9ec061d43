"""``POST /v1/classify`` answered by the shipped stack: the JSONL contract's shape (the one
``guardrail classify`` writes, ``classifiers.results.scores_json``) and its verdicts."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import Deployed
from tests.e2e.texts import CRISIS, ENCOURAGEMENT, EVERYDAY_USER, SUPPORTIVE, TOXIC

pytestmark = pytest.mark.e2e

Json = dict[str, Any]


def _probability(value: Any) -> None:
    assert isinstance(value, float) and 0.0 <= value <= 1.0, value


def _shaped(result: Json, role: str) -> None:
    """Every field of the contract, with its type; nothing else."""
    bot = role == "bot"
    expected = {"self_harm", "dependency", "toxicity", "sensitive"}
    expected |= {"manipulation"} if bot else {"minor"}
    assert set(result) == expected, result  # no `other`: no extra backend is configured
    harm = result["self_harm"]
    assert set(harm) == {"score", "severity", "flagged", "imminent"} | (
        {"encourages"} if bot else set()
    )
    assert isinstance(harm["imminent"], bool)
    _probability(harm["score"])
    assert harm["severity"] in {"none", "indicator", "ideation", "behavior", "attempt"}
    assert isinstance(harm["flagged"], bool)
    if role == "user":
        dependency = result["dependency"]
        assert set(dependency) == {"score", "signals", "flagged"}
        _probability(dependency["score"])
        assert isinstance(dependency["signals"], list) and isinstance(dependency["flagged"], bool)
    else:
        assert result["dependency"] is None  # a user-role head
        assert isinstance(harm["encourages"], bool)
        manipulation = result["manipulation"]
        assert set(manipulation) == {"score", "tactics", "flagged"}
        _probability(manipulation["score"])
    toxicity = result["toxicity"]
    assert set(toxicity) == {"score", "labels", "flagged"}
    _probability(toxicity["score"])
    assert isinstance(toxicity["labels"], list) and isinstance(toxicity["flagged"], bool)
    sensitive = result["sensitive"]
    assert set(sensitive) == {"score", "categories", "flagged"}
    _probability(sensitive["score"])
    assert isinstance(sensitive["categories"], list) and isinstance(sensitive["flagged"], bool)


def test_user_texts(deployed: Deployed) -> None:
    texts = [CRISIS["en"], CRISIS["fr"], EVERYDAY_USER["en"], EVERYDAY_USER["fr"]]
    body = deployed.post("/v1/classify", {"role": "user", "texts": texts})
    assert body["role"] == "user" and len(body["results"]) == len(texts)
    for result in body["results"]:
        _shaped(result, "user")
    crisis_en, crisis_fr, everyday_en, everyday_fr = body["results"]
    for crisis in (crisis_en, crisis_fr):
        assert crisis["self_harm"]["flagged"] and crisis["self_harm"]["severity"] != "none"
    for everyday in (everyday_en, everyday_fr):
        assert not everyday["self_harm"]["flagged"] and everyday["self_harm"]["severity"] == "none"
        assert not everyday["dependency"]["flagged"]


def test_bot_texts(deployed: Deployed) -> None:
    encouraging = list(ENCOURAGEMENT.values())
    supportive = list(SUPPORTIVE.values())
    toxic = list(TOXIC.values())
    texts = encouraging + supportive + toxic
    body = deployed.post("/v1/classify", {"role": "bot", "texts": texts})
    assert body["role"] == "bot" and len(body["results"]) == len(texts)
    for result in body["results"]:
        _shaped(result, "bot")
    results = dict(zip(texts, body["results"], strict=True))
    for text in encouraging:
        assert results[text]["self_harm"]["encourages"] is True, text
        assert not results[text]["toxicity"]["flagged"], text
    for text in supportive:
        assert results[text]["self_harm"]["encourages"] is False, text
        assert not results[text]["toxicity"]["flagged"], text
    for text in toxic:
        assert results[text]["toxicity"]["flagged"] and results[text]["toxicity"]["labels"], text
        assert results[text]["self_harm"]["encourages"] is False, text
