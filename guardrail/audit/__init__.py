"""The audit trail: an append-only, hash-chained log of decisions and consent changes.

``records`` (what a record holds, its hash), ``pseudonym`` (one key: pseudonyms, keyed
text hashes, the chain hash, signatures), ``keys`` (key rings, the key file, KMS hooks),
``options`` (opening a log, its keys from outside it), ``redact`` (the delivered-text
hook), ``backend`` (the storage protocol, the signed head row) with ``sqlite`` and
``postgres``, ``chainkeys`` (adopting a log's head, key rotation), ``chain``
(verification), ``trail`` (the gateway component), ``outbox`` (copying the records the
state store keeps), ``witness`` (publishing the signed head), ``reports`` and ``export``.
Its command line is :mod:`guardrail.cli.audit`.
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
