"""``extends:`` and ``shadow:`` references: parents merged under children, candidates found.

Merging works on YAML nodes, not on plain data, so every value keeps the file and line it
was written at: an invalid value inherited from a parent is reported in the parent's file.
Mappings merge key by key, recursively; lists and scalars replace. The keys that say what
a policy *is* (``name``, ``description``, ``extends``, ``match``, ``mode``, ``shadow``) are
never inherited, so a child never silently takes its parent's place in selection.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml
from pydantic import BaseModel, ValidationError

from guardrail.policy.core import (
    LoadedPolicy,
    PolicyError,
    builtin,
    compose,
    construct,
    validation_problems,
    version_of,
)
from guardrail.policy.schema import Policy
from guardrail.problems import Problem, at, unique
from guardrail.rules import RULES

NOT_INHERITED = frozenset({"name", "description", "extends", "match", "mode", "shadow"})
POLICY_SUFFIXES = (".yaml", ".yml")


@dataclass(eq=False)
class Document:
    """One policy file as YAML nodes, before merging."""

    source: str
    """The path as the caller gave it (what problems and decisions show)."""
    path: Path | None
    """Absolute path, for relative references; None for text not read from a file."""
    root: yaml.MappingNode

    def get(self, key: str) -> yaml.Node | None:
        return next((v for k, v in self.root.value if k.value == key), None)

    @property
    def name(self) -> str:
        node = self.get("name")
        return str(node.value) if isinstance(node, yaml.ScalarNode) else "default"

    @property
    def folder(self) -> Path:
        return self.path.parent if self.path is not None else Path.cwd()


def parse_document(text: str, source: str, path: Path | None = None) -> Document:
    root = compose(text, source)
    if not isinstance(root, yaml.MappingNode):
        raise PolicyError([at(root, "a policy must be a mapping of keys to values", source)])
    problems = list(_duplicate_keys(root))
    if problems:
        raise PolicyError(problems)
    return Document(source=source, path=path, root=root)


def read_document(path: Path, source: str | None = None) -> Document:
    source = source if source is not None else str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise PolicyError([Problem(source, 1, 1, f"cannot read: {reason}")]) from exc
    return parse_document(text, source, path.resolve())


def is_path(ref: str) -> bool:
    """References with a slash, a leading dot or a YAML suffix are files; others are names."""
    return ref.endswith(POLICY_SUFFIXES) or "/" in ref or "\\" in ref or ref.startswith(".")


@dataclass
class Resolver:
    """Resolves the policies of one set; collects every problem instead of stopping early."""

    members: list[Document]
    library: Path | None
    """Folder whose other files may be named by ``extends`` (when one file is loaded alone)."""
    problems: list[Problem] = field(default_factory=list)
    files: set[Path] = field(default_factory=set)
    """Every file read, for the file watcher."""
    _by_name: dict[str, Document] = field(default_factory=dict)
    _by_path: dict[Path, Document] = field(default_factory=dict)
    _library_names: dict[str, Document] | None = None
    _merged: dict[int, yaml.Node | None] = field(default_factory=dict)
    _loaded: dict[int, LoadedPolicy | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for doc in self.members:
            if doc.path is not None:
                self._by_path[doc.path] = doc
                self.files.add(doc.path)
            first = self._by_name.setdefault(doc.name, doc)
            if first is not doc:
                where = where_is(first.get("name") or first.root)
                self.problems.append(
                    at(
                        doc.get("name") or doc.root,
                        f"policy name {doc.name!r} is already used by {where}; names must be "
                        "unique in a set",
                    )
                )

    def finish(self) -> list[LoadedPolicy]:
        """The members, resolved and validated, with their shadows; or a PolicyError."""
        loaded = [self.load(doc) for doc in self.members]
        result = []
        for doc, policy in zip(self.members, loaded, strict=True):
            if policy is not None:
                result.append(replace(policy, shadows=self._shadows(doc)))
        if self.problems:
            raise PolicyError(sorted(unique(self.problems)))
        return result

    def load(self, doc: Document) -> LoadedPolicy | None:
        """One document, merged over its parents and validated; None after a problem."""
        if id(doc) not in self._loaded:
            self._loaded[id(doc)] = self._validate(doc)
        return self._loaded[id(doc)]

    def _validate(self, doc: Document) -> LoadedPolicy | None:
        node = self._merge(doc, ())
        if node is None:
            return None
        try:
            data = construct(node)
            policy = Policy.model_validate(data)
        except PolicyError as exc:
            self.problems += exc.problems
            return None
        except ValidationError as exc:
            self.problems += validation_problems(exc, node, doc.source)
            return None
        policy = shadow_rules(policy)
        return LoadedPolicy(policy=policy, version=version_of(policy), source=doc.source)

    def _merge(self, doc: Document, chain: tuple[Document, ...]) -> yaml.Node | None:
        if id(doc) in self._merged:
            return self._merged[id(doc)]
        ref = doc.get("extends")
        result: yaml.Node | None = doc.root
        if ref is not None and not (isinstance(ref, yaml.ScalarNode) and ref.tag.endswith(":null")):
            parent = self._reference(doc, ref, "extends")
            if parent is None:
                result = None
            elif parent is doc or parent in chain:
                names = " -> ".join(d.name for d in (*chain, doc, parent))
                self.problems.append(at(ref, f"extends: cycle {names}"))
                result = None
            else:
                base = self._merge(parent, (*chain, doc))
                result = None if base is None else merge(_inheritable(base), doc.root)
        self._merged[id(doc)] = result
        return result

    def _shadows(self, doc: Document) -> tuple[LoadedPolicy, ...]:
        node = doc.get("shadow")
        if not isinstance(node, yaml.SequenceNode):
            return ()  # absent, or a wrong type that validation already reported
        found = []
        for item in node.value:
            candidate = self._reference(doc, item, "shadow")
            if candidate is doc:
                self.problems.append(at(item, "shadow: a policy cannot shadow itself"))
                continue
            loaded = self.load(candidate) if candidate is not None else None
            if loaded is not None:
                found.append(loaded)
        return tuple(found)

    def _reference(self, doc: Document, ref: yaml.Node, key: str) -> Document | None:
        """The document ``ref`` names: a file path relative to ``doc``, else a policy name."""
        if not isinstance(ref, yaml.ScalarNode) or not str(ref.value).strip():
            self.problems.append(at(ref, f"{key}: expected a policy name or a file path"))
            return None
        value = str(ref.value).strip()
        if is_path(value):
            return self._file(doc.folder / value, ref, key)
        found = self._by_name.get(value)
        if found is None and value in self._library():
            found = self._library()[value]
            if found.path is not None:
                self.files.add(found.path)  # watched once used, not merely looked at
        if found is None and value == "default":
            found = _builtin_document()
        if found is None:
            known = sorted({*self._by_name, *self._library(), "default"})
            close = difflib.get_close_matches(value, known, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            self.problems.append(
                at(ref, f"{key}: no policy named {value!r} in this set and no such file{hint}")
            )
        return found

    def _file(self, path: Path, ref: yaml.Node, key: str) -> Document | None:
        resolved = path.resolve()
        if resolved not in self._by_path:
            try:
                self._by_path[resolved] = read_document(resolved, _display(path))
            except PolicyError as exc:
                if not resolved.is_file():
                    self.problems.append(at(ref, f"{key}: cannot read {_display(path)}"))
                else:
                    self.problems += exc.problems
                return None
            finally:
                self.files.add(resolved)
        return self._by_path[resolved]

    def _library(self) -> dict[str, Document]:
        """Policies beside a single loaded file, by name (files that fail to parse are skipped)."""
        if self._library_names is None:
            self._library_names = {}
            for path in policy_files(self.library) if self.library else []:
                if path.resolve() in self._by_path:
                    continue
                try:
                    doc = read_document(path)
                except PolicyError:
                    continue
                self._library_names.setdefault(doc.name, doc)
                self._by_path[path.resolve()] = doc
        return self._library_names


def policy_files(folder: Path) -> list[Path]:
    """A folder's ``*.yaml``/``*.yml`` files; sub-folders are not policies (tests live there)."""
    return sorted(
        p for p in folder.iterdir() if p.suffix in POLICY_SUFFIXES and not p.name.startswith(".")
    )


def merge(base: yaml.Node, override: yaml.Node) -> yaml.Node:
    """``override`` deep-merged over ``base``: mappings key by key, anything else replaced."""
    if not (isinstance(base, yaml.MappingNode) and isinstance(override, yaml.MappingNode)):
        return override
    pending = {k.value: (k, v) for k, v in override.value}
    merged: list[tuple[yaml.Node, yaml.Node]] = []
    for key, value in base.value:
        if key.value in pending:
            new_key, new_value = pending.pop(key.value)
            merged.append((new_key, merge(value, new_value)))
        else:
            merged.append((key, value))
    merged += [(k, v) for k, v in override.value if k.value in pending]
    return yaml.MappingNode(
        override.tag, merged, override.start_mark, override.end_mark, override.flow_style
    )


def shadow_rules(policy: Policy) -> Policy:
    """A ``mode: shadow`` policy: every rule evaluated and reported, none enforced."""
    if policy.mode != "shadow":
        return policy
    updates = {
        rule.id: policy.rule_params(rule.id).model_copy(update={"mode": "shadow"}) for rule in RULES
    }
    rules: BaseModel = policy.rules
    return policy.model_copy(update={"rules": rules.model_copy(update=updates)})


def _inheritable(node: yaml.Node) -> yaml.Node:
    if not isinstance(node, yaml.MappingNode):
        return node
    kept = [(k, v) for k, v in node.value if k.value not in NOT_INHERITED]
    return yaml.MappingNode(node.tag, kept, node.start_mark, node.end_mark, node.flow_style)


def _duplicate_keys(node: yaml.Node) -> Iterator[Problem]:
    """PyYAML keeps the last of two equal keys silently; in a policy that hides mistakes."""
    if isinstance(node, yaml.MappingNode):
        seen: dict[object, yaml.Node] = {}
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value != "<<":
                first = seen.setdefault(key.value, key)
                if first is not key:
                    line = first.start_mark.line + 1
                    yield at(key, f"duplicate key {key.value!r} (first at line {line})")
            yield from _duplicate_keys(value)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from _duplicate_keys(item)


def where_is(node: yaml.Node) -> str:
    """``file:line`` of a node, for messages that point at a second place."""
    problem = at(node, "")
    return f"{problem.file}:{problem.line}"


@functools.cache
def _builtin_document() -> Document:
    """The built-in default as a document, so ``extends: default`` works without a file."""
    text = yaml.safe_dump(builtin().policy.model_dump(mode="json"), sort_keys=False)
    return parse_document(text, "<builtin>")


def _display(path: Path) -> str:
    """A referenced file as problems name it: relative to the working folder when inside."""
    resolved = path.resolve()
    try:
        return str(resolved.relative_to(Path.cwd()))
    except ValueError:
        return str(resolved)
