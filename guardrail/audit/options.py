"""Opening the audit log: the backend the options name, and the keys, from outside the log.

:func:`resolve_keys` finds the key ring (a KMS hook, the configured secret, the key file)
and never trusts a key stored in the log: that is where releases before the key file kept
one when none was configured. Such a key is moved out once, by a gateway starting with no
key configured anywhere (into a new key file, as a previous key: the log then rotates to a
fresh key), and deleted from the log; read-only commands use it only when asked to
(``--legacy-key-in-log``), with a warning.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import SecretStr

from guardrail.audit.backend import AuditBackend, AuditUnavailable
from guardrail.audit.keys import (
    AuditKeyError,
    KeyFile,
    KeyProvider,
    KeyRing,
    key_from_text,
    provider_from,
)
from guardrail.audit.pseudonym import AuditKey

log = logging.getLogger("guardrail.audit")

LEGACY_KEY_META = "pseudonym_key"
"""Where releases before the key file kept a generated key: in the log itself."""


@dataclass(frozen=True)
class AuditOptions:
    """What the audit trail needs from the gateway's settings, as plain values (the
    gateway builds them: :func:`guardrail.gateway.audit_options`)."""

    db_path: str = "guardrail-audit.db"
    """The SQLite file of the log (unused when ``url`` is set)."""
    url: str | None = None
    """PostgreSQL URL of a log shared by several replicas."""
    secret: SecretStr | None = None
    """The current key (``audit_key``); None: from the provider or the key file."""
    previous: tuple[SecretStr, ...] = ()
    """Keys that verify older records only (``audit_previous_keys``)."""
    key_file: str | None = None
    """The key file: read when it exists (its keys join the ring), written when
    ``generate_key`` and no key is configured anywhere."""
    key_provider: str | None = None
    """``"package.module:callable"`` returning a :class:`KeyProvider` (a KMS hook)."""
    generate_key: bool = False
    """Write a new key file when no key is configured (a gateway's first start)."""
    legacy_key_in_log: bool = False
    """Read-only: accept a key the log keeps of itself (old logs), with a warning."""
    synchronous: Literal["NORMAL", "FULL"] = "NORMAL"
    """SQLite sync: NORMAL survives kill -9, FULL also power loss."""
    witness_file: str | None = None
    """Where the signed head is published (and read back by ``verify``)."""
    witness_url: str | None = None
    """Where the signed head is POSTed."""
    witness_interval_s: float = 300.0


def open_backend(options: AuditOptions, *, read_only: bool = False) -> AuditBackend:
    """The backend the options name: ``url`` (PostgreSQL) or a SQLite file.

    ``read_only``: open an existing log as it is (no file, table or meta value created)."""
    if options.url:
        from guardrail.audit.postgres import PostgresAudit

        return PostgresAudit(options.url, read_only=read_only)
    from guardrail.audit.sqlite import SQLiteAudit

    return SQLiteAudit(options.db_path, synchronous=options.synchronous, read_only=read_only)


def configured_keys(options: AuditOptions) -> KeyRing | None:
    """The ring from outside the log: the provider, else the secret, else the key file
    (whose keys also join the others as previous keys when it exists); None: no key."""
    file = KeyFile(Path(options.key_file)) if options.key_file else None
    from_file = file.load() if file is not None and file.exists() else None
    ring: KeyRing | None = None
    if options.key_provider:
        provider: KeyProvider = provider_from(options.key_provider)
        ring = provider.load()
    elif options.secret is not None:
        ring = KeyRing(
            key_from_text(options.secret.get_secret_value(), "audit_key"), where="audit_key"
        )
    else:
        ring = from_file
    if ring is None:
        return None
    previous = [
        key_from_text(p.get_secret_value(), "audit_previous_keys") for p in options.previous
    ]
    if from_file is not None:
        previous += from_file.keys
    return ring.with_previous(*previous)


def _db_file(options: AuditOptions) -> Path | None:
    return None if options.url or options.db_path == ":memory:" else Path(options.db_path)


def resolve_keys(options: AuditOptions, backend: AuditBackend) -> KeyRing:
    """The key ring for ``backend``; never a key found in the log unless the options say
    so (read-only, legacy). A writer with no key anywhere and ``generate_key`` writes a
    new key file and logs where; one that finds a key kept in the log moves it there."""
    db_file = _db_file(options)
    if options.key_file and db_file and Path(options.key_file).resolve() == db_file.resolve():
        raise AuditKeyError("the audit key file cannot be the audit log itself")
    stored = backend.stored_meta(LEGACY_KEY_META)
    in_log = _legacy_key(stored)
    ring = configured_keys(options)
    if backend.read_only:
        if options.legacy_key_in_log and in_log is not None:
            log.warning(
                "verifying with the key the audit log keeps of itself (key id %s): this shows "
                "accidental damage only; whoever had the file could have rewritten the log "
                "and sealed it with that key",
                in_log.key_id,
            )
            return ring.with_previous(in_log) if ring else KeyRing(in_log, where="the log")
        if ring is None:
            hint = (
                "; this log keeps a key of its own, which is not trusted: pass "
                "--legacy-key-in-log to verify an old log with it anyway"
                if in_log is not None
                else ""
            )
            raise AuditKeyError(
                "no audit key: set GUARDRAIL_AUDIT_KEY, audit_key_file or audit_key_provider "
                f"to the key the log was written with{hint}"
            )
        return ring
    if ring is None and options.db_path == ":memory:" and not options.url:
        log.info("audit log in memory: sealed with a key of this process only")
        return KeyRing(AuditKey(secrets.token_bytes(32)), where="memory")
    if ring is None:
        if not options.generate_key or not options.key_file:
            raise AuditKeyError(
                "no audit key configured: set GUARDRAIL_AUDIT_KEY, audit_key_file or "
                "audit_key_provider"
            )
        previous = [bytes.fromhex(stored)] if in_log is not None and stored else []
        path = Path(options.key_file)
        file, created = KeyFile.create(path, previous)
        ring = file.load()
        if not created:  # another worker of this start wrote it a moment ago
            return _forget_log_key(backend, ring, in_log)
        log.warning(
            "generated a new audit key in %s (mode 0600): keep it, and a copy apart from the "
            "audit log; without it the log cannot be verified, and whoever has it can reseal "
            "the log (set GUARDRAIL_AUDIT_KEY or audit_key_file to use your own)",
            path.resolve(),
        )
        if in_log is not None:
            log.warning(
                "the audit log kept its key in its own meta table (key id %s): moved to %s as "
                "a previous key, which now only verifies the older records; the log rotates "
                "to the new key",
                in_log.key_id,
                path.resolve(),
            )
    return _forget_log_key(backend, ring, in_log)


def _forget_log_key(backend: AuditBackend, ring: KeyRing, in_log: AuditKey | None) -> KeyRing:
    """Delete a key the log kept of itself once the ring holds it (it is safe elsewhere);
    one the ring does not hold is left as evidence, and ignored."""
    if in_log is not None:
        if ring.get(in_log.key_id) is not None:
            backend.delete_meta(LEGACY_KEY_META)
        else:
            log.warning(
                "the audit log keeps a key in its meta table (key id %s) that is not "
                "configured: it is ignored (a key inside the log proves nothing)",
                in_log.key_id,
            )
    return ring


def _legacy_key(stored: str | None) -> AuditKey | None:
    if stored is None:
        return None
    try:
        return AuditKey(bytes.fromhex(stored))
    except ValueError:
        return None


__all__ = [
    "LEGACY_KEY_META",
    "AuditOptions",
    "AuditUnavailable",
    "configured_keys",
    "open_backend",
    "resolve_keys",
]
