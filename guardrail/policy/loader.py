"""Load policy files: YAML → :class:`Policy`, with errors that point at file:line:column.

A policy that fails to load never replaces a running one; callers get a
:class:`PolicyError` listing every problem found, each with its position.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from guardrail.policy.schema import Policy


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.message}"


class PolicyError(ValueError):
    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


@dataclass(frozen=True)
class LoadedPolicy:
    policy: Policy
    version: str
    """``sha256:<hex>`` of the canonical JSON of the resolved policy."""
    source: str

    @cached_property
    def lookback(self) -> timedelta:
        """History every decision's snapshot must cover; computed once per loaded policy."""
        return self.policy.lookback()


def version_of(policy: Policy) -> str:
    canonical = json.dumps(policy.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def builtin() -> LoadedPolicy:
    """The built-in default policy (``policies/default.yaml`` spells out the same values)."""
    policy = Policy()
    return LoadedPolicy(policy=policy, version=version_of(policy), source="<builtin>")


def load_policy(path: str | Path) -> LoadedPolicy:
    path = Path(path)
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError([Problem(name, 1, 1, f"cannot read: {exc.strerror or exc}")]) from exc
    return parse_policy(text, name)


def parse_policy(text: str, name: str = "<string>") -> LoadedPolicy:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise PolicyError([Problem(name, line, col, f"invalid YAML: {exc.problem}")]) from exc
    except yaml.YAMLError as exc:
        raise PolicyError([Problem(name, 1, 1, f"invalid YAML: {exc}")]) from exc
    if not isinstance(data, dict):
        raise PolicyError([Problem(name, 1, 1, "a policy must be a mapping of keys to values")])
    try:
        policy = Policy.model_validate(data)
    except ValidationError as exc:
        raise PolicyError(_problems(exc, root, name)) from exc
    return LoadedPolicy(policy=policy, version=version_of(policy), source=name)


def _problems(exc: ValidationError, root: yaml.Node | None, name: str) -> list[Problem]:
    problems = []
    for err in exc.errors():
        loc = [p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
        node, key_node = _locate(root, loc)
        found = key_node or node
        mark = found.start_mark if found is not None else None
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        path = ".".join(str(p) for p in loc) or "<root>"
        message = err["msg"]
        if err["type"] == "extra_forbidden":
            message = f"unknown key {loc[-1]!r}" + _suggest(loc, name_hint=str(loc[-1]))
        problems.append(Problem(name, line, col, f"{path}: {message}"))
    return problems


def _locate(root: yaml.Node | None, loc: list[Any]) -> tuple[yaml.Node | None, yaml.Node | None]:
    """The YAML node at ``loc`` (deepest found) and, for mapping keys, the key node."""
    node, key_node = root, None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next(((k, v) for k, v in node.value if k.value == str(part)), None)
            if match is None:
                break
            key_node, node = match
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                break
            key_node, node = None, node.value[part]
        else:
            break
    return node, key_node


def _suggest(loc: list[Any], name_hint: str) -> str:
    model: type[BaseModel] | None = Policy
    for part in loc[:-1]:
        field = model.model_fields.get(str(part)) if model else None
        annotation = field.annotation if field else None
        model = (
            annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel)
            else None
        )
    if model is None:
        return ""
    close = difflib.get_close_matches(name_hint, list(model.model_fields), n=1)
    return f" (did you mean {close[0]}?)" if close else ""
