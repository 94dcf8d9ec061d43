"""Classifying texts on request, through the gateway's micro-batcher.

Concurrent requests share forward passes and cached results (``classifiers.batcher``).
Unavailable while the models load, when they failed to load, or when the gateway runs
without them (``GUARDRAIL_CLASSIFIERS=false``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from classifiers.results import Role, scores_json
from guardrail.gateway import Gateway
from guardrail.service.access import check_text
from guardrail.service.errors import TooLarge, Unavailable

MAX_TEXTS = 256
"""Most texts one request may carry."""


async def classify_texts(
    gateway: Gateway, role: Role, texts: Sequence[str]
) -> list[dict[str, Any]]:
    """Scores per text, as the ``classify`` JSONL contract shapes them."""
    if len(texts) > MAX_TEXTS:
        raise TooLarge(f"{len(texts)} texts; the limit is {MAX_TEXTS} per request")
    for text in texts:
        check_text(gateway, text)
    batcher = gateway.classifiers
    if batcher is None:
        raise Unavailable(f"classifiers {gateway.public_classifiers_state}")
    results = await batcher.classify(list(texts), role)
    return [scores_json(r, role) for r in results]
