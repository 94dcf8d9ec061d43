"""Classifying texts on request, through the gateway's micro-batcher.

Concurrent requests share forward passes and cached results (``classifiers.batcher``).
Unavailable while the models load, when they failed to load, or when the gateway runs
without them (``GUARDRAIL_CLASSIFIERS=false``).

Bulk traffic: the texts go to the batcher's bulk lane, after every decision's and in
turns between tenants, and a tenant may have at most ``classify_max_in_flight`` texts in
flight (more is refused with a retry hint), so any key's flood cannot starve the checks
of other tenants' messages.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from classifiers.results import Role, scores_json
from guardrail.gateway import Gateway
from guardrail.quota import QuotaExceeded
from guardrail.service.access import check_text
from guardrail.service.errors import RateLimited, TooLarge, Unavailable

MAX_TEXTS = 256
"""Most texts one request may carry."""


async def classify_texts(
    gateway: Gateway, role: Role, texts: Sequence[str], tenant: str = ""
) -> list[dict[str, Any]]:
    """Scores per text, as the ``classify`` JSONL contract shapes them."""
    if len(texts) > MAX_TEXTS:
        raise TooLarge(f"{len(texts)} texts; the limit is {MAX_TEXTS} per request")
    for text in texts:
        check_text(gateway, text)
    batcher = gateway.classifiers
    if batcher is None:
        raise Unavailable(f"classifiers {gateway.public_classifiers_state}")
    try:
        with gateway.classify_quota.admit(tenant, len(texts)):
            results = await batcher.classify(list(texts), role, bulk=True, owner=tenant)
    except QuotaExceeded as exc:
        raise RateLimited(str(exc), retry_after_s=1) from exc
    return [scores_json(r, role) for r in results]
