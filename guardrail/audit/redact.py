"""The redaction hook applied to delivered text before it may enter an audit record.

Audit records must never hold raw personal data. :func:`redact` runs the PII stage's
detector (the analysis worker of :mod:`guardrail.analysis`) over the delivered text with
every entity type replaced by its placeholder, whatever the policy let through (a name the
policy keeps in the message is still a name in the log). It returns ``None``, so that only
the text's SHA-256 is stored and the console shows "not stored", when it cannot be sure:
no spaCy pipeline is loaded in this process (no policy asked for PII), detection failed,
or it did not answer within :data:`TIMEOUT_S`. It never loads a pipeline itself.

The hook awaits the worker thread (which batches concurrent requests and is the only
thread that touches the pipelines), so the event loop keeps serving meanwhile. One pass in
the message's language (``user.locale``) when that pipeline is loaded, else every loaded
language's.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Final, Protocol

from classifiers.pii_redact import PiiConfig, PiiFinding, PiiOperator, language_for_locale
from classifiers.pii_redact import redact as apply_operators
from classifiers.results import SensitiveSpan
from classifiers.sensitive_terms import find_terms
from guardrail.analysis import loaded_pii
from guardrail.rewrite import outside_placeholders

log = logging.getLogger("guardrail.audit")

AUDIT_PII: Final = PiiConfig(default_operator=PiiOperator(type="replace"))
"""Every default entity, each replaced by ``[ENTITY_TYPE]``."""
TIMEOUT_S: Final = 5.0


def redact_from(
    text: str,
    config: PiiConfig,
    findings: Sequence[PiiFinding],
    terms: Sequence[SensitiveSpan] | None = None,
) -> str | None:
    """The audit redaction of ``text`` from the decision's own PII findings, when they
    cover what :func:`redact` would look for (every default entity, a threshold no higher,
    no allow list); None when they do not and the hook must run. ``terms``: the special-
    category terms of ``text`` when the analysis already has them."""
    if (
        not set(AUDIT_PII.entities) <= set(config.all_entities())
        or config.score_threshold > AUDIT_PII.score_threshold
        or config.allow_list
    ):
        return None
    return _replace_all(text, findings, terms)


class Redactor(Protocol):
    async def __call__(
        self, text: str, *, tenant: str, bot: str, locale: str | None = None
    ) -> str | None: ...


async def redact(text: str, *, tenant: str, bot: str, locale: str | None = None) -> str | None:
    """``text`` with every detected entity replaced, or None when that cannot be done."""
    service = loaded_pii()
    if service is None or not service.languages:
        return None
    wanted = language_for_locale(locale)
    languages = [wanted] if wanted in service.languages else list(service.languages)
    findings: list[PiiFinding] = []
    try:
        for lang in languages:
            found = service.analyze(text, lang, AUDIT_PII)
            findings += await asyncio.wait_for(found, TIMEOUT_S)
    except Exception as exc:
        log.warning("delivered text not stored: PII redaction failed (%s)", type(exc).__name__)
        return None
    return _replace_all(text, findings)


def _replace_all(
    text: str, findings: Sequence[PiiFinding], terms: Sequence[SensitiveSpan] | None = None
) -> str:
    """Every finding outside the gateway's own placeholders replaced by ``[TYPE]``, and
    every special-category term by ``[CATEGORY]``, in one pass."""
    found = find_terms(text) if terms is None else terms
    named = [PiiFinding(t.category.upper(), t.start, t.end, 1.0) for t in found]
    kept = outside_placeholders(text, [*findings, *named])
    return apply_operators(text, kept, {}, AUDIT_PII.default_operator).text
