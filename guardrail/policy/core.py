"""The policy package's shared pieces: problems with file:line positions, the loaded
policy and its version, and YAML parsing helpers.

Both :mod:`guardrail.policy.resolve` and :mod:`guardrail.policy.policyset` build on these,
and :mod:`guardrail.policy.loader` (the entry points) builds on those two; keeping the
pieces here is what keeps the three from importing each other in a circle.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from guardrail.policy.schema import Policy


@dataclass(frozen=True, order=True)
class Problem:
    file: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.message}"


class PolicyError(ValueError):
    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = unique(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def unique(problems: Iterable[Problem]) -> list[Problem]:
    """Problems once each, in order (a parent's error also shows when loading a child)."""
    return list(dict.fromkeys(problems))


@dataclass(frozen=True)
class LoadedPolicy:
    policy: Policy
    version: str
    """``sha256:<hex>`` of the canonical JSON of the resolved policy."""
    source: str
    shadows: tuple[LoadedPolicy, ...] = ()
    """Candidate policies evaluated alongside this one (the policy's ``shadow:`` list)."""

    @cached_property
    def lookback(self) -> timedelta:
        """History every decision's snapshot must cover; computed once per loaded policy."""
        return self.policy.lookback()


def version_of(policy: Policy) -> str:
    """Hash of the resolved content: ``extends`` is left out, the merged values are in."""
    content = policy.model_dump(mode="json", exclude={"extends"})
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def builtin() -> LoadedPolicy:
    """The built-in default policy (``policies/default.yaml`` spells out the same values)."""
    policy = Policy()
    return LoadedPolicy(policy=policy, version=version_of(policy), source="<builtin>")


def compose(text: str, source: str) -> yaml.Node | None:
    """The YAML node tree of ``text``; every mark names ``source`` (for file:line errors)."""
    loader = yaml.SafeLoader(text)
    loader.name = source
    try:
        return loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        raise PolicyError([yaml_problem(exc, source)]) from exc
    except yaml.YAMLError as exc:
        raise PolicyError([Problem(source, 1, 1, f"invalid YAML: {exc}")]) from exc
    finally:
        loader.dispose()


def construct(node: yaml.Node) -> Any:
    """Python data of a (possibly merged) node tree."""
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        source = exc.problem_mark.name if exc.problem_mark else "<policy>"
        raise PolicyError([yaml_problem(exc, source)]) from exc
    finally:
        loader.dispose()


def yaml_problem(exc: yaml.MarkedYAMLError, source: str) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    return Problem(source, line, col, f"invalid YAML: {exc.problem}")


def at(node: yaml.Node | None, message: str, default_source: str = "<policy>") -> Problem:
    """A problem at a node's position, in the file the node was read from."""
    mark = node.start_mark if node is not None else None
    if mark is None:
        return Problem(default_source, 1, 1, message)
    return Problem(mark.name, mark.line + 1, mark.column + 1, message)


def validation_problems(
    exc: ValidationError, root: yaml.Node | None, source: str, model: type[BaseModel] = Policy
) -> list[Problem]:
    """Pydantic errors as problems at the YAML node each one is about."""
    problems = []
    for err in exc.errors():
        loc = [p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
        node, key_node = locate(root, loc)
        path = ".".join(str(p) for p in loc) or "<root>"
        message = err["msg"]
        if err["type"] == "extra_forbidden":
            message = f"unknown key {loc[-1]!r}" + _suggest(loc, str(loc[-1]), model)
        problems.append(at(key_node or node, f"{path}: {message}", source))
    return problems


def locate(root: yaml.Node | None, loc: list[Any]) -> tuple[yaml.Node | None, yaml.Node | None]:
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


def _suggest(loc: list[Any], name_hint: str, root: type[BaseModel]) -> str:
    model: type[BaseModel] | None = root
    for part in loc[:-1]:
        if isinstance(part, int):
            continue  # list item: same model as the list's items (handled by annotation below)
        field = model.model_fields.get(str(part)) if model else None
        model = _model_of(field.annotation if field else None)
    if model is None:
        return ""
    close = difflib.get_close_matches(name_hint, list(model.model_fields), n=1)
    return f" (did you mean {close[0]}?)" if close else ""


def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The model a field holds: itself, or the item model of ``list[Model]``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_of(arg)
        if found is not None:
            return found
    return None
