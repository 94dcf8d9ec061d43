"""The redaction hook applied to delivered text before it may enter an audit record.

Audit records must never hold raw personal data. :func:`redact` runs the PII stage's
detector (the analysis worker of :mod:`guardrail.analysis`) over the delivered text with
every entity type replaced by its placeholder, whatever the policy let through (a name the
policy keeps in the message is still a name in the log). It returns ``None``, so that only
the text's SHA-256 is stored and the console shows "not stored", when it cannot be sure:
no spaCy pipeline is loaded in this process (no policy asked for PII), detection failed,
or it did not answer within :data:`TIMEOUT_S`. It never loads a pipeline itself.

The call blocks its caller for one detector pass (milliseconds); the worker thread does
the work, so the pipelines are never used from two threads at once.
"""

from __future__ import annotations

import logging
from typing import Final, Protocol

from classifiers.pii_redact import PiiConfig, PiiFinding, PiiOperator
from classifiers.pii_redact import redact as apply_operators
from guardrail.analysis import loaded_pii
from guardrail.rewrite import outside_placeholders

log = logging.getLogger("guardrail.audit")

AUDIT_PII: Final = PiiConfig(default_operator=PiiOperator(type="replace"))
"""Every default entity, each replaced by ``[ENTITY_TYPE]``."""
TIMEOUT_S: Final = 5.0


class Redactor(Protocol):
    def __call__(self, text: str, *, tenant: str, bot: str) -> str | None: ...


def redact(text: str, *, tenant: str, bot: str) -> str | None:
    """``text`` with every detected entity replaced, or None when that cannot be done.

    The hook is not told the message's language, so the text goes through every loaded
    language's detector and the findings are pooled (recall matters more than looks here).
    """
    service = loaded_pii()
    if service is None or not service.languages:
        return None
    findings: list[PiiFinding] = []
    try:
        for lang in service.languages:
            findings += service.analyze_blocking(text, lang, AUDIT_PII, TIMEOUT_S)
    except Exception as exc:
        log.warning("delivered text not stored: PII redaction failed (%s)", type(exc).__name__)
        return None
    findings = outside_placeholders(text, findings)
    return apply_operators(text, findings, {}, AUDIT_PII.default_operator).text
