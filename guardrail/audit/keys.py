"""Where the audit key comes from: never from the log it seals.

Whoever holds a log and its key can rewrite the log and seal it again, so the key is kept
apart: in the environment (``GUARDRAIL_AUDIT_KEY``), in a key file readable by its owner
only (mode 0600, checked at every load), or behind a :class:`KeyProvider` (a KMS hook).
A key ring holds the current key, which seals new records, and previous keys, which only
verify older ones: a rotation adds a key, and the log records the change (a
``key_rotation`` record sealed with the old key that names the new one).

The key file is JSON: ``{"format": …, "current": "<hex>", "previous": ["<hex>", …]}``. A
first start with no key anywhere writes a new one (:meth:`KeyFile.create`), beside the
config file or in the working folder, never beside the database by default.
"""

from __future__ import annotations

import importlib
import json
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from guardrail.audit.backend import AuditUnavailable
from guardrail.audit.pseudonym import AuditKey

KEY_FILE_NAME = "guardrail-audit.key"
"""The key file's name when the settings name none (beside the config file)."""
FORMAT = "guardrail-audit-keys/1"


class AuditKeyError(AuditUnavailable):
    """No usable audit key: missing, unreadable, too open, or malformed."""


@dataclass(frozen=True)
class KeyRing:
    """The current key (seals new records) and previous ones (verify older records)."""

    current: AuditKey
    previous: tuple[AuditKey, ...] = ()
    where: str = "configuration"
    """Where the keys came from, for messages (a path or a setting's name, never a key)."""

    @property
    def keys(self) -> tuple[AuditKey, ...]:
        return (self.current, *self.previous)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(key.key_id for key in self.keys)

    def get(self, key_id: str | None) -> AuditKey | None:
        return next((key for key in self.keys if key.key_id == key_id), None)

    def with_previous(self, *keys: AuditKey) -> KeyRing:
        """The ring with ``keys`` added as previous keys (each key once)."""
        ring = list(self.keys)
        for key in keys:
            if all(key.key_id != have.key_id for have in ring):
                ring.append(key)
        return KeyRing(self.current, tuple(ring[1:]), self.where)


class KeyProvider(Protocol):
    """A source of audit keys (a KMS, a secrets manager): ``audit_key_provider`` names a
    callable, ``"package.module:name"``, that takes no argument and returns one."""

    where: str
    """A description for messages (never the key)."""

    def load(self) -> KeyRing: ...


def provider_from(spec: str) -> KeyProvider:
    """Import ``"package.module:name"`` and call it for the provider."""
    module, sep, name = spec.partition(":")
    if not sep or not module or not name:
        raise AuditKeyError(f"audit_key_provider {spec!r}: expected 'package.module:callable'")
    try:
        factory = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise AuditKeyError(f"audit_key_provider {spec!r} cannot be loaded: {exc}") from exc
    provider = factory()
    if not callable(getattr(provider, "load", None)):
        raise AuditKeyError(f"audit_key_provider {spec!r} returned no key provider (no load())")
    return provider  # type: ignore[no-any-return]


def key_from_text(text: str, what: str) -> AuditKey:
    """A configured secret (any text of 16+ bytes, used as it is)."""
    try:
        return AuditKey(text.encode())
    except ValueError as exc:
        raise AuditKeyError(f"{what}: {exc}") from exc


def _key_from_hex(value: object, what: str) -> AuditKey:
    try:
        return AuditKey(bytes.fromhex(str(value)))
    except ValueError as exc:
        raise AuditKeyError(f"{what}: not a hex key of 16 bytes or more") from exc


@dataclass(frozen=True)
class KeyFile:
    """A key ring in a file only its owner may read or write."""

    path: Path

    @property
    def where(self) -> str:
        return str(self.path.resolve())

    def exists(self) -> bool:
        return self.path.exists()

    def load(self) -> KeyRing:
        """The ring in the file; refused when group or others may read or write it."""
        try:
            info = self.path.stat()
            if not stat.S_ISREG(info.st_mode):
                raise AuditKeyError(f"audit key file {self.where} is not a regular file")
            if info.st_mode & 0o077:
                raise AuditKeyError(
                    f"audit key file {self.where} is open to group or others (mode "
                    f"{stat.S_IMODE(info.st_mode):04o}): run chmod 600 {self.where}"
                )
            doc = json.loads(self.path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise AuditKeyError(f"cannot read audit key file {self.where}: {exc}") from exc
        except ValueError as exc:
            raise AuditKeyError(f"audit key file {self.where} is not valid JSON: {exc}") from exc
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise AuditKeyError(f"audit key file {self.where}: not a {FORMAT} document")
        previous = doc.get("previous") or []
        if not isinstance(previous, list):
            raise AuditKeyError(f"audit key file {self.where}: 'previous' must be a list")
        where = f"audit key file {self.where}"
        return KeyRing(
            _key_from_hex(doc.get("current"), where),
            tuple(_key_from_hex(item, where) for item in previous),
            where,
        )

    def write(self, current: bytes, previous: list[bytes], *, new: bool = False) -> None:
        """Write the ring atomically, mode 0600 (``new``: refuse to replace a file)."""
        doc = {"format": FORMAT, "current": current.hex(), "previous": [p.hex() for p in previous]}
        text = json.dumps(doc, indent=2) + "\n"
        target = self.path
        temp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(text)
                out.flush()
                os.fsync(out.fileno())
            if new:
                os.link(temp, target)  # fails when the file exists: never overwrite a key
                os.unlink(temp)
            else:
                os.replace(temp, target)
            _sync_folder(target.parent)
        except OSError as exc:
            temp.unlink(missing_ok=True)
            raise AuditKeyError(f"cannot write audit key file {self.where}: {exc}") from exc

    @classmethod
    def create(cls, path: Path, previous: list[bytes] | None = None) -> tuple[KeyFile, bool]:
        """A new file with a fresh random key (and ``previous`` keys, to verify old records);
        True when this call wrote it, False when another process (a worker starting at the
        same time) had just written one: that one is the key."""
        found = cls(path)
        try:
            found.write(secrets.token_bytes(32), previous or [], new=True)
        except AuditKeyError as exc:
            if isinstance(exc.__cause__, FileExistsError):
                return found, False
            raise
        return found, True

    def rotate(self) -> tuple[AuditKey, AuditKey]:
        """A fresh current key; the old one becomes the first previous key. (old, new)."""
        doc = json.loads(self.path.read_text(encoding="utf-8"))
        self.load()  # the permission and format checks
        old = bytes.fromhex(doc["current"])
        fresh = secrets.token_bytes(32)
        self.write(fresh, [old, *(bytes.fromhex(p) for p in doc.get("previous") or [])])
        return AuditKey(old), AuditKey(fresh)


def _sync_folder(folder: Path) -> None:
    """Make a rename durable (POSIX: fsync the directory); best effort elsewhere."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
