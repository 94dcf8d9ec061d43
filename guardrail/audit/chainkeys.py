"""Appending under a key ring: the log's head adopted, rotations recorded.

Opened for writing, a log's head is *adopted* first: the head record must be sealed with a
configured key (else the log was written with another key, and appending with this one
would leave a chain no key verifies: refused), its signed head row must check, and a log
without one (from before signed heads) gets it. A head sealed with a previous key is handed
to the current key by a ``key_rotation`` record, sealed with the old key, at the next
append (or at once: :meth:`KeyedChain.rotate`).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from guardrail.audit.backend import EVERYTHING, AuditBackend, AuditUnavailable, KeyChanged
from guardrail.audit.keys import KeyRing
from guardrail.audit.pseudonym import AuditKey
from guardrail.audit.records import GENESIS_HASH, GLOBAL_TENANT, AuditRecord, iso

log = logging.getLogger("guardrail.audit")


class KeyedChain:
    """A backend and the key ring that seals it (synchronous: the trail runs it)."""

    def __init__(self, backend: AuditBackend, keys: KeyRing, clock: Callable[[], datetime]) -> None:
        self.backend, self.keys, self.clock = backend, keys, clock
        backend.use_key(keys.current)

    @property
    def key(self) -> AuditKey:
        return self.keys.current

    def adopt_head(self) -> None:
        """Check the head's key is configured; sign a head row for a log without one."""
        row = self.backend.head_row()
        if row is not None and row.key_id is not None and row.signature is not None:
            key = self.keys.get(row.key_id)
            if key is None:
                raise AuditUnavailable(self.foreign_key(row.key_id))
            if not key.check_head_row(row.seq, row.hash, row.signature):
                raise AuditUnavailable(
                    "the audit log's head row does not match its signature: the log was "
                    "edited; run `guardrail audit verify` before writing to it again"
                )
            return
        link = self.backend.last_link()
        self.backend.adopt_head(self._key_of_head(link), link)

    def _key_of_head(self, link: tuple[int, str]) -> AuditKey:
        """The key of the record at the head (a log without a signed head row)."""
        seq, digest = link
        if seq == 0 or digest == GENESIS_HASH:
            return self.key
        found = self.backend.page(EVERYTHING, limit=1, after_seq=seq - 1)
        record = found[0] if found and found[0].seq == seq else None
        if record is None:  # everything purged: the last checkpoint's key
            marks = self.backend.checkpoints()
            named = str(marks[-1].body.get("key_id")) if marks else None
            key = self.keys.get(named)
            if key is None:
                raise AuditUnavailable(self.foreign_key(str(named)))
            return key
        if not record.keyed:
            return self.key  # a plain (pre-HMAC) head: the next keyed record binds it
        if record.key_id is not None:
            key = self.keys.get(record.key_id)
            if key is None:
                raise AuditUnavailable(self.foreign_key(record.key_id))
            return key
        for key in self.keys.keys:
            if record.problem(key.chain_hash_v2) is None:
                return key
        raise AuditUnavailable(
            "the audit log's last record is not sealed with any configured key: it was "
            "written with another key (configure that one, current or previous) or edited"
        )

    def foreign_key(self, key_id: str) -> str:
        return (
            f"the audit log is sealed with key id {key_id}, which is not configured "
            f"(configured: {', '.join(self.keys.ids)}, from {self.keys.where}): appending "
            "with another key would leave a chain no single key verifies; configure that key "
            "(as the current one, or a previous one to rotate from it)"
        )

    def append(self, body: dict[str, Any], *, if_absent: bool = False) -> AuditRecord | None:
        """Append; when the chain's head names a previous key, first record the rotation
        to the current key (sealed with the previous one), then append."""
        try:
            return self.backend.append(body, if_absent=if_absent)
        except KeyChanged as exc:
            self._rotate_from(exc.head_key)
            return self.backend.append(body, if_absent=if_absent)

    def _rotate_from(self, head_key: str) -> bool:
        """Append the ``key_rotation`` record that hands the chain from ``head_key`` (a
        previous key) to the current one; False when another process did it first."""
        old = self.keys.get(head_key)
        if old is None:
            raise AuditUnavailable(self.foreign_key(head_key))
        rotation = {
            "type": "key_rotation",
            "id": uuid.uuid4().hex,
            "ts": iso(self.clock()),
            "tenant": GLOBAL_TENANT,
            "from_key": old.key_id,
            "to_key": self.key.key_id,
        }
        if self.backend.append(rotation, rotate_from=old) is None:
            return False
        log.warning(
            "audit key rotated: records from now on are sealed with key id %s (the chain's "
            "key was %s)",
            self.key.key_id,
            old.key_id,
        )
        return True

    def rotate(self) -> bool:
        """Hand the chain to the current key now, when its head names a previous one;
        False when there is nothing to do."""
        row = self.backend.head_row()
        if row is None or row.key_id is None or row.key_id == self.key.key_id:
            return False
        return self._rotate_from(row.key_id)
