"""A custom tool's JSON Schema: checked against its metaschema at start, the model's arguments validated against it,
and whether OpenAI's strict mode can take it as given.

Imported only where custom tools are configured (the chat function), since it imports jsonschema.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import jsonschema
from jsonschema.exceptions import SchemaError, ValidationError
from jsonschema.protocols import Validator

from aichat.core.errors import ConfigurationError
from aichat.core.models import LONE_SURROGATE
from aichat.tools.arguments import CallRefused, preview

_MAX_PROBLEMS = 5
_MAX_DEPTH = 16
# The keywords the built-ins' strict schemas use (aichat.tools.schema), which strict mode takes everywhere.
_STRICT_KEYWORDS = frozenset({"type", "properties", "required", "additionalProperties", "items", "enum", "const",
                              "anyOf", "description", "title"})
# The bounds a model most often misses, in words; any other keyword is named as the schema has it.
_IN_WORDS = {
    "minLength": "at least {} characters", "maxLength": "at most {} characters", "minimum": "at least {}",
    "maximum": "at most {}", "exclusiveMinimum": "more than {}", "exclusiveMaximum": "less than {}",
    "minItems": "at least {} items", "maxItems": "at most {} items", "pattern": "matching {}", "const": "{}",
}


def validator(schema: Mapping[str, Any], where: str) -> Validator:
    """A validator for the schema, of the draft its $schema names (2020-12 when none); ConfigurationError naming
    `where` when the schema is not a valid JSON Schema."""
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    try:
        cls.check_schema(dict(schema))
    except SchemaError as e:
        raise ConfigurationError(f"{where} is not a valid JSON Schema: {e.message}") from None
    return cls(dict(schema))


def check(schema: Validator, arguments: Mapping[str, Any]) -> None:
    """Nothing when the arguments satisfy the schema; CallRefused naming each problem's field, never its value."""
    surrogates = list(_lone_surrogates(arguments, ()))
    if surrogates:
        raise CallRefused("invalid arguments: " + "; ".join(
            f"{_where(path)}: must be valid Unicode text, but holds a lone surrogate"
            for path in surrogates[:_MAX_PROBLEMS]))
    try:
        errors = sorted(schema.iter_errors(arguments), key=lambda e: [str(p) for p in e.absolute_path])
    except Exception:  # a $ref that resolves nowhere, a pattern Python cannot compile: the schema's fault
        raise CallRefused("the arguments could not be checked; nothing was done") from None
    problems = [problem for error in errors for problem in _problems(error)]
    if problems:
        more = f"; and {len(problems) - _MAX_PROBLEMS} more" if len(problems) > _MAX_PROBLEMS else ""
        raise CallRefused("invalid arguments: " + "; ".join(problems[:_MAX_PROBLEMS]) + more)


def is_strict(schema: Mapping[str, Any]) -> bool:
    """Whether OpenAI's strict mode takes the schema as it is: every object lists all its properties as required
    and allows no others, and only the keywords strict mode accepts are used."""
    return _strict(schema, 0)


def _strict(node: Any, depth: int) -> bool:
    if not isinstance(node, Mapping) or depth > _MAX_DEPTH or not set(node) <= _STRICT_KEYWORDS:
        return False
    types: list[Any] = node["type"] if isinstance(node.get("type"), list) else [node.get("type")]
    if "object" in types or "properties" in node:
        properties = node.get("properties", {})
        if ("object" not in types or node.get("additionalProperties") is not False
                or not isinstance(properties, Mapping) or sorted(node.get("required", [])) != sorted(properties)):
            return False
        if not all(_strict(child, depth + 1) for child in properties.values()):
            return False
    if "items" in node and not _strict(node["items"], depth + 1):
        return False
    return all(_strict(variant, depth + 1) for variant in node.get("anyOf", ()))


def _problems(error: ValidationError) -> list[str]:
    """The error in words: where, and what is wrong, quoting the schema but never the model's values."""
    path = tuple(error.absolute_path)
    value: Any = error.validator_value
    if error.validator == "required" and isinstance(error.instance, Mapping):
        return [f"{_where((*path, name))}: required" for name in value if name not in error.instance]
    if error.validator == "additionalProperties" and isinstance(error.instance, Mapping):
        properties = error.schema.get("properties", {}) if isinstance(error.schema, Mapping) else {}
        patterns = error.schema.get("patternProperties", {}) if isinstance(error.schema, Mapping) else {}
        extra = [name for name in error.instance
                 if name not in properties and not any(re.search(p, name) for p in patterns)]
        return [f"{_where((*path, name))}: not an argument of this tool; remove it" for name in extra]
    if error.validator == "type":
        wanted = value if isinstance(value, list) else [value]
        return [f"{_where(path)}: must be of type {' or '.join(str(t) for t in wanted)}"]
    if error.validator == "enum":
        return [f"{_where(path)}: must be one of {_clipped(', '.join(json.dumps(v) for v in value))}"]
    if error.validator in _IN_WORDS:
        return [f"{_where(path)}: must be {_IN_WORDS[str(error.validator)].format(_clipped(json.dumps(value)))}"]
    return [f"{_where(path)}: does not satisfy {error.validator} {_clipped(json.dumps(value))}"]


def _where(path: tuple[Any, ...]) -> str:
    # Names come from the model (an extra field's name, a key under free keys): only their start is quoted.
    return ".".join(preview(str(part)) for part in path) or "arguments"


def _clipped(text: str) -> str:
    return preview(text, 80)


def _lone_surrogates(value: Any, path: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    """Where the arguments hold a lone surrogate (JSON's "\\ud800" makes one), which the target could not store."""
    if isinstance(value, str):
        return [path] if LONE_SURROGATE.search(value) else []
    if isinstance(value, Mapping):
        return [p for key, child in value.items() for p in _lone_surrogates(child, (*path, key))]
    if isinstance(value, list):
        return [p for i, child in enumerate(value) for p in _lone_surrogates(child, (*path, i))]
    return []
