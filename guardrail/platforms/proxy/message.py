"""What a guarded platform call says to whom, and how to put guardrail's text back in it."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any

Path = tuple[str | int, ...]
"""Where a text sits in the call's parameters: keys and list indexes."""


@dataclass
class Guarded:
    """One message a call would send: recipient, the texts in it, and what it carries
    that guardrail cannot read (media)."""

    user_id: str
    texts: list[tuple[Path, str]] = field(default_factory=list)
    media: str | None = None
    """What uninspected content the call carries (``photo``, ``sticker``...), if any."""
    message_tag: str | None = None
    label: str | None = None
    """What to call the message when it has no text of its own (a template's name)."""

    @property
    def text(self) -> str:
        """The text the decision reads: every text part, one per line, or a placeholder
        naming the content when there is no text at all (so it still counts as a message)."""
        joined = "\n".join(t for _, t in self.texts if t)
        return joined or f"[{self.label or self.media or 'message'}]"

    def rewritten(self, params: dict[str, Any], text: str) -> dict[str, Any] | None:
        """``params`` with the decided text in place, or None when it cannot be placed
        (several text parts, or none, and the decision changed the text)."""
        if text == self.text:
            return params
        if len(self.texts) != 1 or self.label is not None:
            return None
        ((path, _),) = self.texts
        out = copy.deepcopy(params)
        head = out.get(str(path[0]))
        if len(path) > 1 and isinstance(head, str):
            # A form client sent this object as a JSON string: edit it and encode it back.
            inner = json.loads(head)
            _set(inner, path[1:], text)
            out[str(path[0])] = json.dumps(inner, ensure_ascii=False)
        else:
            _set(out, path, text)
        return out


def collect(value: Any, path: Path, keys: tuple[str, ...], found: list[tuple[Path, str]]) -> None:
    """Every string under ``keys`` anywhere inside ``value`` (nested objects and lists)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in keys and isinstance(item, str):
                found.append(((*path, key), item))
            else:
                collect(item, (*path, key), keys, found)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            collect(item, (*path, i), keys, found)


def _set(target: Any, path: Path, value: str) -> None:
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
