"""Property test: a document is valid against the published schema iff the loader accepts it.

hypothesis-jsonschema (0.23) fails inside current Hypothesis (``'many' object has no
attribute 'more'``), so documents come from a small strategy of our own over the schema
(itself generated from the loader's models): a value of the right shape at every node,
then at most one mutation at a random place, drawn from the near-misses authors write
(shorthands in the wrong place, ``PT1H``, ``21:00:00``, unknown keys, wrong types).

Two differences are allowed, each named: what the schema's description says it leaves to
the loader (``BEYOND_SCHEMA_MESSAGES``), and pydantic's lax scalars, which the loader
takes and the schema does not advertise (``true`` for ``1``, ``0``/``1`` for booleans),
so editors steer authors to the canonical form.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema.protocols import Validator

from guardrail.policy.json_schema import policy_schema, policy_tests_schema
from tests.schema_support import (
    beyond_schema,
    cases_problems,
    cases_validator,
    loader_problems,
    policy_validator,
)

TEXT = st.text(st.characters(categories=("L", "N", "P", "Zs"), max_codepoint=0x24F), max_size=6)
NEAR_MISSES: list[Any] = [
    None, True, False, 0, 1, -1, 2, 3.5, 1260, 1e13, "", "x", "bogus", "3",
    "30m", "24h", "7d", "2w", "1.5h", "0m", "PT1H", "24 hours",
    "21:00", "08:00", "21:00:00", "9:30", "21:00Z",
    "replace", "mask", "keep", "block", "fail_closed", "fail_open", "shadow", "enforce",
    "sms", "whatsapp", "UTC", "Europe/Paris", "Mars/Olympus", "US-CA", "usa-california",
    "2026-11-20T10:00:00Z", "2026-11-20 10:00", "EMAIL_ADDRESS", "guilt_trip", "fomo",
    [], ["x"], {}, {"type": "mask"}, {"proactive": "fail_open"},
]  # fmt: skip
ZONES = st.just(UTC)
UNKNOWN_KEYS = ["colour", "enable", "windows", "type", "rules"]


def _resolve(root: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = root["$defs"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def shaped(root: dict[str, Any], node: dict[str, Any], depth: int = 0) -> st.SearchStrategy[Any]:
    """A value of the shape ``node`` describes (not always valid: patterns' ``not``, cross-
    field rules and ``oneOf`` are left to chance, which is what the oracle is for)."""
    node = _resolve(root, node)
    if "oneOf" in node and "properties" in node:  # one kind of several: give exactly one
        return st.one_of([_one_of(root, node, b, depth) for b in node["oneOf"]])
    branches = node.get("anyOf") or node.get("oneOf")
    if branches:
        return st.one_of([shaped(root, b, depth) for b in branches])
    if node.get("format") == "date-time":  # real instants; the near-misses cover bad text
        instants = st.datetimes(datetime(2026, 1, 1), datetime(2026, 12, 31), timezones=ZONES)
        return instants.map(lambda t: t.isoformat())
    if "enum" in node:
        return st.sampled_from(node["enum"])
    kind = node.get("type")
    if kind == "string":
        if "pattern" in node:
            return st.from_regex(node["pattern"].strip("^$"), fullmatch=True).map(str)
        return TEXT.filter(lambda s: node.get("minLength", 0) <= len(s))
    if kind == "integer":
        return st.integers(node.get("minimum", -3), node.get("maximum", 40))
    if kind == "number":
        low, high = node.get("minimum", -2.0), node.get("maximum", 2e6)
        return st.floats(low, min(high, 2e6), allow_nan=False)
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    if kind == "array":
        items = shaped(root, node.get("items", {}), depth + 1)
        return st.lists(items, min_size=node.get("minItems", 0), max_size=2 if depth < 4 else 1)
    if kind == "object" and "properties" in node:
        props = {k: shaped(root, v, depth + 1) for k, v in node["properties"].items()}
        required = set(node.get("required", ()))
        return st.fixed_dictionaries(
            {k: v for k, v in props.items() if k in required},
            optional={k: v for k, v in props.items() if k not in required},
        )
    if kind == "object":
        keys = shaped(root, node["propertyNames"], depth) if "propertyNames" in node else TEXT
        values = shaped(root, node.get("additionalProperties", {}), depth + 1)
        return st.dictionaries(keys, values, max_size=2)
    return st.sampled_from(NEAR_MISSES)


def _one_of(
    root: dict[str, Any], node: dict[str, Any], branch: dict[str, Any], depth: int
) -> st.SearchStrategy[Any]:
    chosen = set(branch["required"])
    others = {k for b in node["oneOf"] for k in b["required"]} - chosen
    kept = {k: v for k, v in node["properties"].items() if k not in others}
    plain = {k: v for k, v in node.items() if k != "oneOf"}
    required = [*node.get("required", ()), *chosen]
    return shaped(root, {**plain, "properties": kept, "required": required}, depth)


def _in_time_order(doc: Any) -> None:
    """Cases' times sorted (all drawn in UTC), so time order rarely hides everything else."""
    for case in doc.get("cases", []) if isinstance(doc, dict) else []:
        items = [*case.get("history", []), case["request"]]
        times = sorted(item["at"] for item in items)
        for item, at in zip(items, times, strict=True):
            item["at"] = at


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(value, dict):
        for k, v in value.items():
            found += _paths(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found += _paths(v, (*path, i))
    return found


def _set(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    parent = doc
    for part in path[:-1]:
        parent = parent[part]
    parent[path[-1]] = value
    return doc


@st.composite
def documents(draw: st.DrawFn, schema: dict[str, Any]) -> tuple[Any, tuple[Any, ...], Any]:
    """(document, mutated path or (), the value put there)."""
    doc = draw(shaped(schema, schema))
    doc.pop("extends", None)  # references need other files: the resolver's tests cover them
    doc.pop("shadow", None)
    _in_time_order(doc)
    if draw(st.integers(0, 3)) == 0:
        return doc, (), None
    path = draw(st.sampled_from(_paths(doc)))
    target = doc
    for part in path:
        target = target[part]
    if isinstance(target, dict) and draw(st.booleans()):
        key = draw(st.sampled_from(UNKNOWN_KEYS))
        target[key] = draw(st.sampled_from(NEAR_MISSES))
        return doc, (*path, key), target[key]
    value = copy.deepcopy(draw(st.sampled_from(NEAR_MISSES)))
    return _set(doc, path, value), path, value


def _lax(validator: Validator, doc: Any, path: tuple[Any, ...], value: Any) -> bool:
    """The loader took a pydantic lax scalar the schema leaves out (true for 1, 1 for true)."""
    if not path:
        return False
    for canonical in _canonical(value):
        if validator.is_valid(_set(copy.deepcopy(doc), path, canonical)):
            return True
    return False


def _canonical(value: Any) -> list[Any]:
    if isinstance(value, bool):
        return [int(value), float(value)]
    if value in (0, 1) and isinstance(value, int | float):
        return [bool(value)]
    if isinstance(value, str):
        try:
            return [int(value)] if value.strip().lstrip("+-").isdigit() else [float(value)]
        except ValueError:
            return []
    return []


def _agree(validator: Validator, problems: list[str] | None, sample: tuple[Any, ...]) -> None:
    doc, path, value = sample
    valid = validator.is_valid(doc)
    if valid and problems is not None:
        assert beyond_schema(problems), f"schema accepts, loader refuses: {problems}\n{doc}"
    if not valid and problems is None:
        errors = [e.message for e in validator.iter_errors(doc)]
        assert _lax(validator, doc, path, value), f"loader accepts, schema refuses: {errors}\n{doc}"


SETTINGS = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,  # the suite stays reproducible; raise max_examples to search further
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@SETTINGS
@given(documents(policy_schema()))
def test_policy_schema_and_loader_agree(sample: tuple[Any, ...]) -> None:
    _agree(policy_validator(), loader_problems(sample[0]), sample)


@SETTINGS
@given(documents(policy_tests_schema()))
def test_tests_schema_and_loader_agree(sample: tuple[Any, ...]) -> None:
    _agree(cases_validator(), cases_problems(sample[0]), sample)
