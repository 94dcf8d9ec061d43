"""Helpers for the schema tests: an ECMA-262 validator, and the loader as a yes/no oracle.

JSON Schema patterns are ECMA-262 regular expressions (what editors run). The jsonschema
library matches them with Python's ``re.search``, where ``$`` also matches before a final
newline; the validator here matches with ``regress`` (an ECMA-262 engine) instead, so the
tests judge the schema as editors read it. Format checking is on.
"""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path
from typing import Any

import regress
import yaml
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError
from jsonschema.protocols import Validator
from jsonschema.validators import extend

from guardrail.policy import PolicyError, parse_policy
from guardrail.policy.cases import load_cases
from guardrail.policy.json_schema import policy_schema, policy_tests_schema


@functools.cache
def _regex(pattern: str) -> regress.Regex:
    return regress.Regex(pattern)


def _ecma_pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Any:
    if validator.is_type(instance, "string") and _regex(pattern).find(instance) is None:
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


# types-jsonschema leaves ``extend`` unannotated.
EcmaValidator: type[Validator] = extend(  # type: ignore[no-untyped-call]
    Draft202012Validator, {"pattern": _ecma_pattern}
)


@functools.cache
def policy_validator() -> Validator:
    schema = policy_schema()
    Draft202012Validator.check_schema(schema)
    validator: Validator = EcmaValidator(schema, format_checker=FormatChecker())
    return validator


@functools.cache
def cases_validator() -> Validator:
    schema = policy_tests_schema()
    Draft202012Validator.check_schema(schema)
    validator: Validator = EcmaValidator(schema, format_checker=FormatChecker())
    return validator


BEYOND_SCHEMA_MESSAGES = (
    "overlap",  # quiet windows
    "start and end are equal",  # quiet windows
    "invalid regex",  # custom PII patterns
    "give patterns or a deny_list",  # custom PII recognizers
    "no policy named",  # extends / shadow
    "cannot read",  # extends / shadow files
    "earlier than the item before",  # test cases in time order
    "strictest needs assumed_zones",  # quiet hours without a known zone
)
"""Loader messages for what the schema's description says JSON Schema cannot express."""


def loader_problems(doc: Any) -> list[str] | None:
    """None when the loader accepts ``doc`` as a policy file, else its messages."""
    text = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)
    try:
        parse_policy(text, "<generated>")
    except PolicyError as exc:
        return [p.message for p in exc.problems]
    return None


def cases_problems(doc: Any) -> list[str] | None:
    """None when the loader accepts ``doc`` as a policy test file, else its messages."""
    text = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "cases.yaml"
        path.write_text(text, encoding="utf-8")
        try:
            load_cases(path)
        except PolicyError as exc:
            return [p.message for p in exc.problems]
    return None


def beyond_schema(problems: list[str]) -> bool:
    """Every problem is one the schema says it leaves to the loader."""
    return all(any(m in p for m in BEYOND_SCHEMA_MESSAGES) for p in problems)
