"""The JSON Schemas editors check policies and policy test files with, from the loader's models.

Both are generated from the same pydantic models the loader validates with, in validation
mode (what a YAML author may write), so a new field or rule appears here by itself. Each
shorthand the models coerce carries its own schema next to its validator (durations and
clock times in :mod:`guardrail.durations`, PII operators and ``on_error`` as a bare
string), and defaults are shown as written in YAML (``24h``, not ``PT24H``).

``policies/policy.schema.json`` and ``policies/policy-tests.schema.json`` are this
module's output, committed so the packs can point editors at them; a test keeps them equal.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import (
    PydanticSerializationError,
    SchemaError,
    SchemaSerializer,
    core_schema,
    to_jsonable_python,
)

DIALECT = "https://json-schema.org/draft/2020-12/schema"
POLICY_SCHEMA_FILE = "policy.schema.json"
TESTS_SCHEMA_FILE = "policy-tests.schema.json"

BEYOND_SCHEMA = (
    "extends and shadow name a policy of the set or a readable file",
    "quiet-hours windows are not empty (start differs from end) and do not overlap",
    "custom PII recognizers give patterns or a deny_list, and each regex compiles "
    "(Python regex module syntax)",
    "no key appears twice in a mapping",
    "quiet_hours.unknown_timezone: strictest gives assumed_zones",
)
"""What the loader checks that JSON Schema cannot say (shown in the schema's description)."""

TESTS_BEYOND_SCHEMA = (
    "history items and the request are in time order",
    "the policies under test load",
)


class _Generator(GenerateJsonSchema):
    """Pydantic's generator, with defaults (factories too) serialized as YAML writes them."""

    def default_schema(self, schema: core_schema.WithDefaultSchema) -> JsonSchemaValue:
        json_schema = self.generate_inner(schema["schema"])
        if "default" in schema:
            default = schema["default"]
        elif "default_factory" in schema and not schema.get("default_factory_takes_data"):
            default = schema["default_factory"]()  # type: ignore[call-arg]
        else:
            return json_schema
        if isinstance(default, BaseModel):
            return json_schema  # a section: its own fields show their defaults
        try:
            encoded = SchemaSerializer(schema["schema"]).to_python(default, mode="json")
        except (SchemaError, PydanticSerializationError):  # refers to models: dump as data
            encoded = to_jsonable_python(default)
        json_schema["default"] = encoded
        return json_schema


def _document(
    model: type[BaseModel], title: str, what: str, beyond: tuple[str, ...]
) -> dict[str, Any]:
    schema = model.model_json_schema(mode="validation", schema_generator=_Generator)
    checks = "; ".join(beyond)
    description = f"{what} The loader also checks what JSON Schema cannot express: {checks}."
    schema.pop("title", None)
    schema.pop("description", None)
    return {"$schema": DIALECT, "title": title, "description": description, **schema}


def policy_schema() -> dict[str, Any]:
    """The schema of one policy file (``guardrail policy schema``)."""
    from guardrail.policy.schema import Policy

    return _document(
        Policy,
        "guardrail policy",
        "One guardrail policy file (see README, 'For policy authors').",
        BEYOND_SCHEMA,
    )


def policy_tests_schema() -> dict[str, Any]:
    """The schema of one policy test file (``guardrail policy schema --tests``)."""
    from guardrail.policy.cases import CaseFile

    return _document(
        CaseFile,
        "guardrail policy tests",
        "Test cases for policies (``guardrail policy test``), in a tests/ folder beside them.",
        TESTS_BEYOND_SCHEMA,
    )


def dumps(schema: dict[str, Any]) -> str:
    """The schema as committed: stable key order as generated, two-space indent, final newline."""
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"
