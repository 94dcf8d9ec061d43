"""Problems with a file, a line and a column: what every YAML document guardrail reads
(policies, policy tests, the gateway config) reports when it is wrong.

Pydantic's errors are placed on the YAML node they are about, and an unknown key gets a
"did you mean" from the model's own fields, so a user fixes a file from the message alone.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError


@dataclass(frozen=True, order=True)
class Problem:
    file: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        if self.line <= 0:  # not in a file: an environment variable, a command-line flag
            return f"{self.file}: {self.message}"
        return f"{self.file}:{self.line}:{self.column}: {self.message}"


class ProblemError(ValueError):
    """A document that cannot be loaded; ``problems`` says where, one line each."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = unique(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def unique(problems: Iterable[Problem]) -> list[Problem]:
    """Problems once each, in order (a parent's error also shows when loading a child)."""
    return list(dict.fromkeys(problems))


def compose(text: str, source: str) -> yaml.Node | None:
    """The YAML node tree of ``text``; every mark names ``source`` (for file:line errors)."""
    loader = yaml.SafeLoader(text)
    loader.name = source
    try:
        return loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        raise ProblemError([yaml_problem(exc, source)]) from exc
    except yaml.YAMLError as exc:
        raise ProblemError([Problem(source, 1, 1, f"invalid YAML: {exc}")]) from exc
    finally:
        loader.dispose()


def construct(node: yaml.Node) -> Any:
    """Python data of a (possibly merged) node tree."""
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        source = exc.problem_mark.name if exc.problem_mark else "<document>"
        raise ProblemError([yaml_problem(exc, source)]) from exc
    finally:
        loader.dispose()


def yaml_problem(exc: yaml.MarkedYAMLError, source: str) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    return Problem(source, line, col, f"invalid YAML: {exc.problem}")


def at(node: yaml.Node | None, message: str, default_source: str = "<document>") -> Problem:
    """A problem at a node's position, in the file the node was read from."""
    mark = node.start_mark if node is not None else None
    if mark is None:
        return Problem(default_source, 1, 1, message)
    return Problem(mark.name, mark.line + 1, mark.column + 1, message)


def validation_problems(
    exc: ValidationError, root: yaml.Node | None, source: str, model: type[BaseModel]
) -> list[Problem]:
    """Pydantic errors as problems at the YAML node each one is about."""
    problems = []
    for err in exc.errors():
        loc = [p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
        node, key_node = locate(root, loc)
        path = ".".join(str(p) for p in loc) or "<root>"
        message = err["msg"]
        if err["type"] == "extra_forbidden":
            message = f"unknown key {loc[-1]!r}" + suggest(loc, str(loc[-1]), model)
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


def suggest(loc: list[Any], name_hint: str, root: type[BaseModel]) -> str:
    """`` (did you mean x?)`` for an unknown key close to a field of the model it is in."""
    model: type[BaseModel] | None = root
    for part in loc[:-1]:
        if isinstance(part, int) or model is None:
            continue  # list item: same model as the list's items (handled by annotation below)
        field = model.model_fields.get(str(part))
        if field is None:
            continue  # a mapping's own key (bots.<id>): the items' model goes on
        model = _model_of(field.annotation)
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
