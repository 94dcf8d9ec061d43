"""The audit trail: an append-only, hash-chained log of decisions and consent changes.

``records`` (what a record holds, its hash), ``pseudonym`` (keyed user pseudonyms and
checkpoint signatures), ``redact`` (the delivered-text hook), ``backend`` (the storage
protocol) with ``sqlite`` and ``postgres``, ``chain`` (verification), ``trail`` (the
gateway component), ``reports`` and ``export``. Its command line is
:mod:`guardrail.cli.audit`.
"""

from guardrail.audit.backend import AuditUnavailable, Checkpoint, RecordFilter
from guardrail.audit.chain import Verification
from guardrail.audit.records import AuditRecord
from guardrail.audit.trail import AuditIntegrityError, AuditOptions, AuditTrail

__all__ = [
    "AuditIntegrityError",
    "AuditOptions",
    "AuditRecord",
    "AuditTrail",
    "AuditUnavailable",
    "Checkpoint",
    "RecordFilter",
    "Verification",
]
